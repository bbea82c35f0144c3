// Comparing chains and waiting on them: what the fault tests assert after every fault.
//
//   await until("safe head past 40", async () => (await safeOf(url)) > 40n);
//   await assertSameChain(seq.url, ver.url, upTo, "after the L1 flapped");
import assert from "node:assert/strict";
import { sleep } from "./node.mjs";
import { post, rpc } from "./rpc.mjs";

const json = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x));

/** Polls `fn()` until it returns something truthy; fails after `limitMs` quoting the last value. */
export async function until(what, fn, limitMs = 60_000, everyMs = 200) {
  const start = Date.now();
  let last;
  while (Date.now() - start < limitMs) {
    last = await fn();
    if (last) return last;
    await sleep(everyMs);
  }
  assert.fail(`${what}: not within ${limitMs / 1000} s (last: ${json(last)})`);
}

export const hexNum = (n) => `0x${BigInt(n).toString(16)}`;
export const headOf = async (url) => Number(BigInt(await rpc(url, "eth_blockNumber")));
export const safeOf = async (url) => Number(BigInt((await rpc(url, "optimism_syncStatus")).safe_l2.number));

/** Headers (no transaction bodies) of blocks `from..=to`, in JSON-RPC batches of 500. */
export async function headers(url, from, to) {
  const out = [];
  for (let start = from; start <= to; start += 500) {
    const end = Math.min(to, start + 499);
    const body = [];
    for (let n = start; n <= end; n++) body.push({ jsonrpc: "2.0", id: n, method: "eth_getBlockByNumber", params: [hexNum(n), false] });
    const { json: answer } = await post(url, body);
    assert.ok(Array.isArray(answer), `batch answer from ${url}: ${json(answer)}`);
    const byId = new Map(answer.map((a) => [a.id, a.result]));
    for (let n = start; n <= end; n++) out.push(byId.get(n));
  }
  return out;
}

/** Blocks 0..=upTo have the same hash and state root on both nodes; returns the transactions compared. */
export async function assertSameChain(aUrl, bUrl, upTo, what) {
  const [a, b] = await Promise.all([headers(aUrl, 0, upTo), headers(bUrl, 0, upTo)]);
  let txs = 0;
  for (let n = 0; n <= upTo; n++) {
    assert.ok(a[n] && b[n], `${what}: block ${n} missing (first ${!!a[n]}, second ${!!b[n]})`);
    assert.equal(b[n].hash, a[n].hash, `${what}: block ${n} hash`);
    assert.equal(b[n].stateRoot, a[n].stateRoot, `${what}: block ${n} state root`);
    txs += a[n].transactions.length;
  }
  return txs;
}

/** Blocks 0..=head link by parent hash and number; returns the headers. */
export async function assertLinked(url, what) {
  const head = await headOf(url);
  const hs = await headers(url, 0, head);
  for (let n = 0; n <= head; n++) {
    assert.ok(hs[n], `${what}: block ${n} of ${head} missing`);
    assert.equal(Number(BigInt(hs[n].number)), n, `${what}: block ${n} number`);
    if (n > 0) assert.equal(hs[n].parentHash, hs[n - 1].hash, `${what}: block ${n} does not link to block ${n - 1}`);
  }
  return hs;
}
