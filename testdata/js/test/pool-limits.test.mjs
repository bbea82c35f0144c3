// The txpool's time and slot limits through the real binary (issue 9, "RPC and txpool under load"),
// with the flags shrunk so the test takes seconds:
// - `--txpool.lifetime`: nonce-gapped transactions of a sender that sends nothing new for that long
//   are dropped (geth's txpool.lifetime, 3 h by default); a sender that keeps sending keeps its queue.
// - `--txpool.slots-per-sender`: when the pool is full (`--txpool.max-count`), every sender keeps its
//   slots: a newcomer displaces the last transactions of the sender holding more, and that sender's
//   remaining transactions stay gapless (geth's account slots, 16 by default).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { computeAddress, parseUnits, SigningKey } from "ethers";
import { sleep, startNode, testKeys } from "../lib/node.mjs";
import { rpc } from "../lib/rpc.mjs";
import { until } from "../lib/chain-check.mjs";
import { sendRawBatch, signTx } from "../lib/txs.mjs";

const gwei = (n) => parseUnits(String(n), "gwei");
const FEE = { maxFeePerGas: gwei(20), maxPriorityFeePerGas: gwei(1) };
const keyOf = (pk) => ({ key: new SigningKey(pk), address: computeAddress(pk) });
const to = (i) => `0x${(0x7a7a0000 + i).toString(16).padStart(40, "0")}`;

const nodes = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

async function status(url) {
  const s = await rpc(url, "txpool_status");
  return { pending: Number(BigInt(s.pending)), queued: Number(BigInt(s.queued)) };
}

const nonceOf = async (url, address) => Number(BigInt(await rpc(url, "eth_getTransactionCount", [address, "latest"])));

describe("txpool lifetime", () => {
  test("gapped transactions of a silent sender are dropped after --txpool.lifetime; a sender that keeps sending keeps them", { timeout: 60_000 }, async () => {
    const LIFETIME_S = 3;
    const node = await startNode({ name: "pool-lifetime", blockTime: "500ms", args: ["--no-web", "--txpool.lifetime", `${LIFETIME_S}s`] });
    nodes.push(node);
    // Funded genesis accounts (admission checks the balance); their next nonce is never sent, so
    // everything after it stays gapped.
    const [silent, chatty] = testKeys().slice(6, 8).map(keyOf);
    const next = { [silent.address]: await nonceOf(node.url, silent.address), [chatty.address]: await nonceOf(node.url, chatty.address) };
    const gapped = (k, n) => signTx(k, { nonce: next[k.address] + n, to: to(n), value: 0n, ...FEE }).raw;
    const answers = await sendRawBatch(node.url, [1, 2, 3, 4, 5].map((n) => gapped(silent, n)));
    assert.deepEqual(answers.filter((a) => a.error), [], "gapped transactions accepted");
    assert.equal((await status(node.url)).queued, 5);

    // The chatty sender sends one more gapped transaction every second for twice the lifetime.
    const start = Date.now();
    let nonce = 1;
    let silentGoneAt;
    while (Date.now() - start < 2 * LIFETIME_S * 1000 + 1000) {
      const [a] = await sendRawBatch(node.url, [gapped(chatty, nonce++)]);
      assert.ok(a.result, `chatty sender's transaction ${nonce - 1} accepted: ${JSON.stringify(a.error)}`);
      const s = await status(node.url);
      const elapsed = Date.now() - start;
      if (s.queued === nonce - 1 && silentGoneAt === undefined) silentGoneAt = elapsed;
      if (elapsed < (LIFETIME_S - 1) * 1000) assert.equal(s.queued, 5 + nonce - 1, "nothing expires before the lifetime");
      await sleep(1000);
    }
    assert.ok(silentGoneAt !== undefined, "the silent sender's 5 gapped transactions were dropped");
    assert.ok(silentGoneAt >= LIFETIME_S * 1000 - 1500, `dropped after about the lifetime (at ${silentGoneAt} ms)`);
    const s = await status(node.url);
    assert.equal(s.queued, nonce - 1, "every transaction of the sender that kept sending is still queued");
    // The node says so in its log.
    await until("a log line for the expired transactions", async () => fs.readFileSync(node.logFile, "utf8").includes("past the pool lifetime"), 5000);
  });
});

describe("txpool slots per sender", () => {
  test("a full pool keeps 16 slots per sender: newcomers displace the last transactions of the sender holding more", { timeout: 60_000 }, async () => {
    const MAX = 48;
    const SLOTS = 16;
    // A long block time keeps the executable transactions in the pool while the test looks.
    const node = await startNode({ name: "pool-slots", blockTime: "30s", args: ["--no-web", "--txpool.max-count", String(MAX), "--txpool.slots-per-sender", String(SLOTS)] });
    nodes.push(node);
    const [whale, ...newcomers] = testKeys().slice(2, 6).map(keyOf);
    const first = await nonceOf(node.url, whale.address);
    const whaleTxs = Array.from({ length: MAX }, (_, i) => signTx(whale, { nonce: first + i, to: to(i), value: 1n, ...FEE }));
    const answers = await sendRawBatch(node.url, whaleTxs.map((t) => t.raw));
    assert.deepEqual(answers.filter((a) => a.error), [], "the whale fills the pool");
    assert.deepEqual(await status(node.url), { pending: MAX, queued: 0 });

    // Three newcomers at the same price each get one transaction in.
    for (const [i, k] of newcomers.entries()) {
      const tx = signTx(k, { nonce: await nonceOf(node.url, k.address), to: to(100 + i), value: 1n, ...FEE });
      const [a] = await sendRawBatch(node.url, [tx.raw]);
      assert.equal(a.result, tx.hash, `newcomer ${i} accepted into a full pool: ${JSON.stringify(a.error)}`);
      assert.ok(await rpc(node.url, "eth_getTransactionByHash", [tx.hash]), `newcomer ${i}'s transaction is pooled`);
    }
    assert.deepEqual(await status(node.url), { pending: MAX, queued: 0 }, "the pool stays at its limit");
    // The whale lost exactly its last three: what it keeps is still gapless and executable.
    for (const [i, t] of whaleTxs.entries()) {
      const pooled = await rpc(node.url, "eth_getTransactionByHash", [t.hash]);
      if (i < MAX - newcomers.length) assert.ok(pooled, `whale nonce ${first + i} kept`);
      else assert.equal(pooled, null, `whale nonce ${first + i} displaced`);
    }
  });
});
