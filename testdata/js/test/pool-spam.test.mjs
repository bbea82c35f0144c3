// Pool spam (issue 9, "RPC and txpool under load"): thousands of nonce-gapped, underpriced and
// replacement transactions from many senders (test-mnemonic accounts 100..199, funded by one batch of
// transfers first). The pool must stay within its limits — `--txpool.max-count` 5,120 in all
// (pending + queued in txpool_status) and `--txpool.max-queued-per-sender` 64 gapped transactions per
// sender — a replacement must raise both fee cap and tip by `--txpool.price-bump` 10 %, transactions
// under the base fee are refused, and an honest sender's transactions still get in promptly.
//
// The expiry after `--txpool.lifetime` and the 16 slots per sender of a full pool are in
// pool-limits.test.mjs, with the limits shrunk.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { computeAddress, parseEther, parseUnits, SigningKey } from "ethers";
import { startNode, testKeys } from "../lib/node.mjs";
import { rpc, waitReceipt } from "../lib/rpc.mjs";
import { until } from "../lib/chain-check.mjs";
import { extraKeys, sendRawBatch, signTx } from "../lib/txs.mjs";

const MAX_COUNT = 5120;
const GLOBAL_QUEUE = 1024; // --txpool.max-queued default (geth: txpool.globalqueue)
const MAX_QUEUED = 64;
const SPAMMERS = 96; // 96 × 64 gapped = 6,144 > 5,120
const PROMPT_MS = 5000; // an honest transfer is mined within this

const gwei = (n) => parseUnits(String(n), "gwei");
const SPAM_FEE = gwei(50);
const SPAM_TIP = gwei(2);

let node;
let spammers;
let baseFee;
const poolSizes = []; // every txpool_status seen: pending + queued

async function poolStatus() {
  const s = await rpc(node.url, "txpool_status");
  const status = { pending: Number(BigInt(s.pending)), queued: Number(BigInt(s.queued)) };
  poolSizes.push(status.pending + status.queued);
  return status;
}

const to = (i) => `0x${(0x5a5a0000 + (i % 1000)).toString(16).padStart(40, "0")}`;
const keyOf = (pk) => ({ key: new SigningKey(pk), address: computeAddress(pk) });

before(async () => {
  node = await startNode({ name: "pool-spam", blockTime: "200ms", args: ["--no-web"] });
  baseFee = BigInt((await rpc(node.url, "eth_feeHistory", ["0x1", "latest", []])).baseFeePerGas[1]);
  // Fund the spammers with one batch of transfers from test account 1.
  spammers = extraKeys(SPAMMERS + 2, 100);
  const funder = keyOf(testKeys()[1]);
  let nonce = Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [funder.address, "pending"])));
  const txs = spammers.map((k) => signTx(funder, { nonce: nonce++, to: k.address, value: parseEther("1"), maxFeePerGas: gwei(5), maxPriorityFeePerGas: gwei(1) }));
  const answers = await sendRawBatch(node.url, txs.map((t) => t.raw));
  assert.deepEqual(answers.filter((a) => a.error), [], "funding transfers accepted");
  await waitReceipt(node.url, txs.at(-1).hash, 30_000);
});

after(async () => {
  await node?.stop();
});

describe("txpool under spam", () => {
  test(`a sender holds at most ${MAX_QUEUED} nonce-gapped transactions`, async () => {
    const k = spammers[0];
    const before = await poolStatus();
    // Nonce 0 is never sent: nonces 1..80 are all gapped.
    const txs = Array.from({ length: 80 }, (_, i) => signTx(k, { nonce: i + 1, to: to(i), value: 1n, maxFeePerGas: SPAM_FEE, maxPriorityFeePerGas: SPAM_TIP }));
    const answers = await sendRawBatch(node.url, txs.map((t) => t.raw));
    const accepted = answers.filter((a) => a.result).length;
    const refused = answers.filter((a) => a.error);
    assert.equal(accepted, MAX_QUEUED, `accepted ${accepted} gapped transactions from one sender`);
    for (const a of refused) assert.match(a.error.message, /too many queued transactions from sender/i);
    const after = await poolStatus();
    assert.equal(after.queued - before.queued, MAX_QUEUED, "queued count in txpool_status");
    assert.equal(after.pending, before.pending, "gapped transactions are not pending");
  });

  test("a replacement needs a 10 % higher fee cap and tip; the replaced transaction is gone", async () => {
    const k = spammers[1];
    const fee = gwei(20);
    const tip = gwei(2);
    const first = signTx(k, { nonce: 7, to: to(1), value: 1n, maxFeePerGas: fee, maxPriorityFeePerGas: tip });
    assert.equal(await rpc(node.url, "eth_sendRawTransaction", [first.raw]), first.hash);
    const size = (await poolStatus()).queued;
    const attempts = [
      ["the same transaction again", first, /already known/],
      ["+9 % fee cap and tip", signTx(k, { nonce: 7, to: to(2), value: 1n, maxFeePerGas: (fee * 109n) / 100n, maxPriorityFeePerGas: (tip * 109n) / 100n }), /replacement transaction underpriced/],
      ["+10 % fee cap, same tip", signTx(k, { nonce: 7, to: to(3), value: 1n, maxFeePerGas: (fee * 110n) / 100n, maxPriorityFeePerGas: tip }), /replacement transaction underpriced/],
      ["+10 % tip, same fee cap", signTx(k, { nonce: 7, to: to(4), value: 1n, maxFeePerGas: fee, maxPriorityFeePerGas: (tip * 110n) / 100n }), /replacement transaction underpriced/],
    ];
    for (const [label, t, message] of attempts) {
      const [a] = await sendRawBatch(node.url, [t.raw]);
      assert.ok(a.error, `${label}: accepted`);
      assert.match(a.error.message, message, label);
    }
    const bumped = signTx(k, { nonce: 7, to: to(5), value: 1n, maxFeePerGas: (fee * 110n) / 100n, maxPriorityFeePerGas: (tip * 110n) / 100n });
    assert.equal(await rpc(node.url, "eth_sendRawTransaction", [bumped.raw]), bumped.hash, "+10 % on both replaces");
    assert.equal(await rpc(node.url, "eth_getTransactionByHash", [first.hash]), null, "the replaced transaction is gone");
    assert.ok(await rpc(node.url, "eth_getTransactionByHash", [bumped.hash]), "the replacement is served");
    assert.equal((await poolStatus()).queued, size, "a replacement does not grow the pool");
  });

  test(`${SPAMMERS} senders × ${MAX_QUEUED} gapped, underpriced and replacement spam: the pool never holds more than ${MAX_COUNT}`, { timeout: 180_000 }, async (t) => {
    let poll = true;
    const polling = (async () => {
      while (poll) {
        await poolStatus();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const started = Date.now();
    const gapped = [];
    for (let s = 2; s < SPAMMERS + 2; s++) {
      for (let n = 1; n <= MAX_QUEUED; n++) gapped.push(signTx(spammers[s], { nonce: n, to: to(n), value: 1n, maxFeePerGas: SPAM_FEE, maxPriorityFeePerGas: SPAM_TIP }));
    }
    const answers = await sendRawBatch(node.url, gapped.map((g) => g.raw));
    const accepted = answers.filter((a) => a.result).length;
    const errors = {};
    for (const a of answers.filter((x) => x.error)) errors[a.error.message] = (errors[a.error.message] ?? 0) + 1;
    t.diagnostic(`gapped spam: ${gapped.length} sent, ${accepted} accepted, refused: ${JSON.stringify(errors)} (${Date.now() - started} ms)`);
    const full = await poolStatus();
    assert.ok(full.pending + full.queued <= MAX_COUNT, `pool holds ${full.pending + full.queued}`);
    assert.equal(full.queued, GLOBAL_QUEUE, "gapped spam fills the global queue (--txpool.max-queued) and no more");
    for (const message of Object.keys(errors)) assert.match(message, /txpool is full/);

    // Underpriced: fee cap below the base fee, refused outright, the pool unchanged.
    const under = [];
    for (let i = 0; i < 500; i++) under.push(signTx(spammers[2 + (i % SPAMMERS)], { nonce: 100 + i, to: to(i), value: 1n, maxFeePerGas: baseFee / 2n, maxPriorityFeePerGas: 1n }));
    for (const a of await sendRawBatch(node.url, under.map((u) => u.raw))) {
      assert.ok(a.error, "an underpriced transaction was accepted");
      assert.match(a.error.message, /max fee per gas less than block base fee/);
    }
    // Replacements of pooled spam: +5 % refused, +10 % accepted; neither grows the pool.
    const pooled = gapped.filter((_, i) => answers[i].result).slice(0, 400);
    const nonceOf = (g) => gapped.indexOf(g) % MAX_QUEUED + 1;
    const senderOf = (g) => spammers[2 + Math.floor(gapped.indexOf(g) / MAX_QUEUED)];
    const weak = pooled.map((g) => signTx(senderOf(g), { nonce: nonceOf(g), to: to(7), value: 2n, maxFeePerGas: (SPAM_FEE * 105n) / 100n, maxPriorityFeePerGas: (SPAM_TIP * 105n) / 100n }));
    for (const a of await sendRawBatch(node.url, weak.map((w) => w.raw))) assert.match(a.error?.message ?? "accepted", /replacement transaction underpriced/);
    const strong = pooled.map((g) => signTx(senderOf(g), { nonce: nonceOf(g), to: to(8), value: 3n, maxFeePerGas: (SPAM_FEE * 110n) / 100n, maxPriorityFeePerGas: (SPAM_TIP * 110n) / 100n }));
    const strongAnswers = await sendRawBatch(node.url, strong.map((w) => w.raw));
    assert.deepEqual(strongAnswers.filter((a) => a.error).map((a) => a.error.message), [], "10 % bumped replacements of pooled spam");
    const afterReplace = await poolStatus();
    poll = false;
    await polling;
    assert.equal(afterReplace.pending + afterReplace.queued, full.pending + full.queued, "replacements did not grow the pool");
    const largest = Math.max(...poolSizes);
    assert.ok(largest <= MAX_COUNT, `txpool_status reported ${largest} transactions at some point`);
    t.diagnostic(`${poolSizes.length} txpool_status polls, largest ${largest}; ${gapped.length + under.length + weak.length + strong.length} spam transactions in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  // Gapped transactions have their own global share (1,024, geth's GlobalQueue) and an executable
  // newcomer displaces them first: an honest sender paying the going rate always gets in.
  test("an honest sender paying the going rate still gets in promptly while gapped spam fills the pool", async (t) => {
    await honest(t, "the going rate", undefined);
  });

  test("an honest sender paying more than the spam gets in promptly (cheaper spam is evicted)", async (t) => {
    await honest(t, "more than the spam", (SPAM_FEE * 12n) / 10n);
  });
});

/** Ten transfers from test account 2 at `maxFee` (default: what eth_gasPrice and the tip suggest); all mined within PROMPT_MS. */
async function honest(t, label, maxFee) {
  const k = keyOf(testKeys()[2]);
  const tip = BigInt(await rpc(node.url, "eth_maxPriorityFeePerGas"));
  const base = BigInt((await rpc(node.url, "eth_feeHistory", ["0x1", "latest", []])).baseFeePerGas[1]);
  const fee = maxFee ?? base * 2n + tip;
  let nonce = Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [k.address, "pending"])));
  const txs = Array.from({ length: 10 }, (_, i) => signTx(k, { nonce: nonce++, to: to(900 + i), value: 1n, maxFeePerGas: fee, maxPriorityFeePerGas: tip < fee ? tip : fee }));
  const sentAt = Date.now();
  const answers = await sendRawBatch(node.url, txs.map((x) => x.raw));
  const status = await poolStatus();
  t.diagnostic(`honest (${label}, fee cap ${fee} wei, spam ${SPAM_FEE}): answers ${JSON.stringify(answers.map((a) => a.error?.message ?? "ok"))}; pool ${JSON.stringify(status)}`);
  assert.deepEqual(answers.filter((a) => a.error).map((a) => a.error.message), [], `honest transfers paying ${label} refused`);
  for (const x of txs) await until(`honest transfer ${x.hash} mined`, () => rpc(node.url, "eth_getTransactionReceipt", [x.hash]), Math.max(100, PROMPT_MS + sentAt - Date.now()), 50);
  const s = await poolStatus();
  assert.ok(s.pending + s.queued <= MAX_COUNT);
}
