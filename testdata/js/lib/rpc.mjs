// Plain JSON-RPC over fetch, for tests that assert on exact requests and responses (error codes,
// messages, HTTP status) rather than on what ethers makes of them. Every failure message carries the
// request and the response, so a report can quote them.

let nextId = 1;

export class RpcError extends Error {
  constructor(request, response, status) {
    super(`JSON-RPC ${request.method} failed\n  request:  ${short(JSON.stringify(request))}\n  response: HTTP ${status} ${short(JSON.stringify(response))}`);
    this.request = request;
    this.response = response;
    this.status = status;
    this.error = response?.error;
  }
}

export function short(s, n = 1500) {
  return s && s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s;
}

/** POSTs `body` (string or object) and returns {status, text, json} without judging it. */
export async function post(url, body, { timeoutMs = 30_000, headers = {} } = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** Calls `method` and returns its result; throws RpcError (with request and response) otherwise. */
export async function rpc(url, method, params = []) {
  const request = { jsonrpc: "2.0", id: nextId++, method, params };
  const { status, json, text } = await post(url, request);
  if (status !== 200 || !json || json.error || !("result" in json)) {
    throw new RpcError(request, json ?? text, status);
  }
  return json.result;
}

/**
 * Calls `method` expecting a JSON-RPC error; returns {error, request, response}. Throws (quoting the
 * response) if the call succeeded instead.
 */
export async function rpcError(url, method, params = []) {
  const request = { jsonrpc: "2.0", id: nextId++, method, params };
  const { status, json, text } = await post(url, request);
  if (!json || !json.error) {
    throw new Error(`expected ${method} to fail, got HTTP ${status}\n  request:  ${short(JSON.stringify(request))}\n  response: ${short(text)}`);
  }
  return { error: json.error, request, response: json, status };
}

/** A one-line description of a request/response pair for assertion messages. */
export function describe({ request, response, status }) {
  return `request: ${short(JSON.stringify(request), 600)}\nresponse: HTTP ${status ?? 200} ${short(JSON.stringify(response), 1500)}`;
}

/** Polls eth_getTransactionReceipt until the receipt exists (every 50 ms, at most `timeoutMs`). */
export async function waitReceipt(url, hash, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await rpc(url, "eth_getTransactionReceipt", [hash]);
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`no receipt for ${hash} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Polls eth_blockNumber until it is at least `n` (at most `timeoutMs`). */
export async function waitBlock(url, n, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = BigInt(await rpc(url, "eth_blockNumber"));
    if (b >= BigInt(n)) return b;
    if (Date.now() > deadline) throw new Error(`block ${n} not reached after ${timeoutMs} ms (at ${b})`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
