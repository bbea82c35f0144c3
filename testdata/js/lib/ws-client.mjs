// A bare JSON-RPC WebSocket client (npm `ws`) for subscription tests: calls, and subscription
// notifications handed to a callback.
//
//   const c = await wsConnect(node.wsUrl);
//   const id = await c.call("eth_subscribe", ["newHeads"]);
//   c.onNotify = (subId, result) => ...;
//   c.close();
import WebSocket from "ws";

export function wsConnect(url, { timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = new WebSocket(url, { perMessageDeflate: false });
    const pending = new Map();
    let nextId = 1;
    const client = {
      sock,
      onNotify: null,
      closed: false,
      call(method, params = []) {
        const id = nextId++;
        sock.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
        return new Promise((res, rej) => {
          const t = setTimeout(() => {
            pending.delete(id);
            rej(new Error(`${method}: no answer over WebSocket within ${timeoutMs} ms`));
          }, timeoutMs);
          pending.set(id, { res, rej, t });
        });
      },
      close() {
        client.closed = true;
        try {
          sock.terminate();
        } catch {}
      },
    };
    sock.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.method === "eth_subscription") {
        client.onNotify?.(msg.params.subscription, msg.params.result);
        return;
      }
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimeout(p.t);
      if (msg.error) p.rej(new Error(`${JSON.stringify(msg.error)}`));
      else p.res(msg.result);
    });
    sock.on("close", () => {
      client.closed = true;
      for (const p of pending.values()) {
        clearTimeout(p.t);
        p.rej(new Error("WebSocket closed"));
      }
      pending.clear();
    });
    sock.once("open", () => resolve(client));
    sock.once("error", (e) => {
      if (!client.closed) reject(e);
    });
  });
}
