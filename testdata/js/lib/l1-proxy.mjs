// A faulty L1 in front of a real one: an HTTP proxy (node:http, in the test process) that forwards
// JSON-RPC to `target` or fails the way real L1 endpoints fail, switchable at any moment.
//
//   const proxy = await startL1Proxy(l1Url);
//   proxy.url                 // give this to op-node --l1-rpc
//   proxy.setMode("drop");    // "pass" | "drop" | "hang" | "http500" | "rpc-error"
//   proxy.setTarget(url);     // the L1 restarted on another port
//   proxy.stats.requests.drop // requests seen in each mode
//   await proxy.close();      // also ends every held ("hang") request
//
// Modes:
//   pass       forward the request, answer what the L1 answers (if the L1 is down: drop)
//   drop       destroy the connection as soon as a request arrives (no HTTP answer at all)
//   hang       read the request and never answer it; the connection stays open until close(),
//              even after the mode changes back (a black-holed request: only a client timeout ends it)
//   http500    answer HTTP 500 with a text body, as an overloaded load balancer does
//   rpc-error  answer HTTP 200 with a JSON-RPC error object per call (-32603, as a failing backend)
import http from "node:http";

export const MODES = ["pass", "drop", "hang", "http500", "rpc-error"];

export async function startL1Proxy(target) {
  let mode = "pass";
  let upstream = new URL(target);
  const held = new Set();
  const sockets = new Set();
  // heldClosed: when (ms since epoch) each held connection closed, and whether with an error.
  const stats = { requests: Object.fromEntries(MODES.map((m) => [m, 0])), held: 0, heldClosed: [], upstreamErrors: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("error", () => {});
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const now = mode;
      stats.requests[now] += 1;
      switch (now) {
        case "drop":
          req.socket.destroy();
          return;
        case "hang":
          stats.held += 1;
          held.add(req.socket);
          return;
        case "http500":
          res.writeHead(500, { "content-type": "text/plain" });
          res.end("internal server error (injected by the test's L1 proxy)\n");
          return;
        case "rpc-error": {
          let parsed;
          try {
            parsed = JSON.parse(body.toString("utf8"));
          } catch {
            parsed = { id: null };
          }
          const err = (call) => ({ jsonrpc: "2.0", id: call?.id ?? null, error: { code: -32603, message: "internal error (injected by the test's L1 proxy)" } });
          const answer = Array.isArray(parsed) ? parsed.map(err) : err(parsed);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(answer));
          return;
        }
        default:
          forward(req, res, body);
      }
    });
  });

  function forward(req, res, body) {
    const up = http.request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        path: upstream.pathname,
        method: req.method,
        headers: { "content-type": req.headers["content-type"] ?? "application/json", "content-length": body.length },
      },
      (upRes) => {
        res.writeHead(upRes.statusCode, { "content-type": upRes.headers["content-type"] ?? "application/json" });
        upRes.pipe(res);
      },
    );
    up.on("error", () => {
      // The L1 itself is down (restarting): the client sees a dropped connection.
      stats.upstreamErrors += 1;
      req.socket.destroy();
    });
    up.end(body);
  }

  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", (hadError) => {
      sockets.delete(s);
      if (held.delete(s)) stats.heldClosed.push({ at: Date.now(), hadError });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    get mode() {
      return mode;
    },
    get heldOpen() {
      return held.size;
    },
    setMode(m) {
      if (!MODES.includes(m)) throw new Error(`unknown proxy mode ${m}`);
      mode = m;
    },
    setTarget(url) {
      upstream = new URL(url);
    },
    async close() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
