// Crash consistency in a loop (issue 9, "Storage and crashes"): under a stream of transactions the
// devnet (sequencer, batcher, embedded L1, all one process) is killed with SIGKILL CRASH_LOOP_KILLS
// times (default 8) at varied moments — right after a burst of eth_sendRawTransaction was answered,
// the instant a newHeads notification arrived, or at a random delay — and restarted on the same data
// directory each time. After every restart:
//   - every block the RPC reported (eth_getBlockByNumber or a newHeads notification) is still there
//     with the same hash, and the chain from genesis links by parent hash (a prefix-consistent
//     continuation, never a fork of what was reported);
//   - every receipt the RPC returned is still returned, unchanged;
//   - blocks keep coming.
// At the end a verifier rebuilds the chain from the (also crashed and restarted) embedded L1 and has
// the sequencer's hash and state root at every safe height.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseUnits } from "ethers";
import { sleep, startNode, startVerifier, testKeys } from "../lib/node.mjs";
import { RpcError, rpc, waitBlock } from "../lib/rpc.mjs";
import { assertLinked, assertSameChain, hexNum, headOf, safeOf, until } from "../lib/chain-check.mjs";
import { sendRawBatch, signTx } from "../lib/txs.mjs";
import { SigningKey, computeAddress } from "ethers";
import { wsConnect } from "../lib/ws-client.mjs";

const KILLS = Number(process.env.CRASH_LOOP_KILLS ?? 8);
const SENDERS = 4; // test accounts 0..3
const BURST = 40; // transactions per JSON-RPC batch

let node;
let verifier;
const keys = testKeys().slice(0, SENDERS).map((pk) => ({ key: new SigningKey(pk), address: computeAddress(pk) }));
const reportedBlocks = new Map(); // number -> hash, from eth_getBlockByNumber and newHeads
const reportedReceipts = new Map(); // tx hash -> receipt JSON
const unexpected = []; // JSON-RPC errors (not connection errors) from a live node
let maxFee;

before(async () => {
  node = await startNode({ name: "crash-loop", args: ["--no-web"] });
  const base = BigInt((await rpc(node.url, "eth_feeHistory", ["0x1", "latest", []])).baseFeePerGas[1]);
  maxFee = base * 4n > parseUnits("5", "gwei") ? base * 4n : parseUnits("5", "gwei");
});

after(async () => {
  await verifier?.stop();
  await node?.stop();
});

const isConnectionError = (e) => !(e instanceof RpcError) || e.status !== 200;

function report(n, hash, source) {
  const had = reportedBlocks.get(n);
  // A live node never reports two hashes for one height here (no L1 reorgs happen in this test).
  if (had && had !== hash) unexpected.push(`${source}: block ${n} reported as ${hash}, earlier as ${had}`);
  reportedBlocks.set(n, hash);
}

/** Streams bursts of transfers from every sender; `onBurst` is awaited after each answered burst. */
async function sendLoop(control, onBurst) {
  const nonces = [];
  for (const k of keys) nonces.push(Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [k.address, "pending"]))));
  let i = 0;
  while (!control.stop) {
    const raws = [];
    for (let j = 0; j < BURST; j++) {
      const s = (i + j) % SENDERS;
      const to = `0x${(0xc0de0000 + ((i + j) % 500)).toString(16).padStart(40, "0")}`;
      raws.push(signTx(keys[s], { nonce: nonces[s]++, to, value: 1n, maxFeePerGas: maxFee, maxPriorityFeePerGas: 1_000_000n }).raw);
    }
    i += BURST;
    let answers;
    try {
      answers = await sendRawBatch(node.url, raws);
    } catch (e) {
      return; // the node died under the burst
    }
    for (const a of answers) if (a.error) unexpected.push(`eth_sendRawTransaction: ${JSON.stringify(a.error)}`);
    if (onBurst) await onBurst();
    await sleep(50);
  }
}

/** Follows the chain by polling: records every block and its receipts once all are known. */
async function watchLoop(control) {
  let seen = reportedBlocks.size ? Math.max(...reportedBlocks.keys()) : -1;
  while (!control.stop) {
    try {
      const head = await headOf(node.url);
      for (let n = seen + 1; n <= head; n++) {
        const block = await rpc(node.url, "eth_getBlockByNumber", [hexNum(n), false]);
        if (!block) {
          unexpected.push(`eth_blockNumber said ${head} but block ${n} is null`);
          break;
        }
        const receipts = await rpc(node.url, "eth_getBlockReceipts", [hexNum(n)]);
        report(n, block.hash, "eth_getBlockByNumber");
        for (const r of receipts ?? []) reportedReceipts.set(r.transactionHash, r);
        seen = n;
      }
    } catch (e) {
      if (!isConnectionError(e)) unexpected.push(e.message);
      return;
    }
    await sleep(40);
  }
}

/** A newHeads subscription; every notified head counts as reported. `onHead` fires on each. */
async function subscribeHeads(onHead) {
  const c = await wsConnect(node.wsUrl);
  await c.call("eth_subscribe", ["newHeads"]);
  c.onNotify = (_, h) => {
    report(Number(BigInt(h.number)), h.hash, "newHeads");
    onHead?.();
  };
  return c;
}

async function checkReported(label) {
  const head = await headOf(node.url);
  const maxSeen = Math.max(...reportedBlocks.keys());
  assert.ok(head >= maxSeen, `${label}: head ${head} is behind the reported block ${maxSeen}`);
  const hs = await assertLinked(node.url, label);
  for (const [n, hash] of reportedBlocks) {
    assert.equal(hs[n]?.hash, hash, `${label}: reported block ${n} (${hash}) is now ${hs[n]?.hash}`);
  }
  // Receipts, in batches.
  const entries = [...reportedReceipts];
  for (let i = 0; i < entries.length; i += 500) {
    const chunk = entries.slice(i, i + 500);
    const answers = await Promise.all(chunk.map(([h]) => rpc(node.url, "eth_getTransactionReceipt", [h])));
    chunk.forEach(([h, r], j) => assert.deepEqual(answers[j], r, `${label}: receipt of ${h} changed or vanished`));
  }
  return head;
}

test(`kill -9 ${KILLS} times at varied moments: no reported block or receipt is lost, the chain continues`, { timeout: KILLS * 30_000 + 240_000 }, async (t) => {
  const started = Date.now();
  const modes = ["after-burst", "on-new-head", "random"];
  let rand = 0x9e3779b9;
  const random = () => ((rand = (rand * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let round = 1; round <= KILLS; round++) {
    const mode = modes[(round - 1) % modes.length];
    const before = reportedBlocks.size;
    const receiptsBefore = reportedReceipts.size;
    const control = { stop: false };
    let armed = false;
    let killing = null;
    const kill = async () => {
      if (killing) return killing;
      killing = node.kill9();
      return killing;
    };
    const warmup = 800 + Math.floor(random() * 1500);
    setTimeout(() => {
      armed = true;
    }, warmup);
    const heads = await subscribeHeads(() => {
      if (armed && mode === "on-new-head") kill();
    });
    const loops = Promise.all([
      sendLoop(control, async () => {
        if (armed && mode === "after-burst") await kill();
      }),
      watchLoop(control),
    ]);
    if (mode === "random") {
      await sleep(warmup + Math.floor(random() * 1000));
      await kill();
    }
    await until(`round ${round}: the kill (${mode})`, async () => killing !== null, 30_000, 20);
    await killing;
    control.stop = true;
    await loops;
    heads.close();
    assert.deepEqual(unexpected, [], `round ${round}: errors from the live node`);
    assert.ok(reportedBlocks.size > before, `round ${round}: blocks were reported before the kill`);

    await node.restart();
    const head = await checkReported(`after kill ${round} (${mode})`);
    await waitBlock(node.url, head + 3, 15_000);
    t.diagnostic(`round ${round} (${mode}, after ${warmup} ms): head ${head} after restart; ${reportedBlocks.size} blocks, ${reportedReceipts.size} receipts reported (+${reportedReceipts.size - receiptsBefore})`);
  }
  const transfers = [...reportedReceipts.values()].filter((r) => r.type !== "0x7e").length;
  assert.ok(transfers >= KILLS * BURST, `transfers were mined across the rounds (${transfers} receipts)`);

  // A verifier from the L1 alone agrees with the sequencer at every safe height.
  const target = await until("the sequencer's safe head past the last kill", async () => {
    const s = await safeOf(node.url);
    return s >= Math.max(...reportedBlocks.keys()) ? s : 0;
  }, 90_000, 500);
  verifier = await startVerifier(node, { name: "crash-loop-verifier" });
  await until(`verifier reaching safe ${target}`, async () => (await safeOf(verifier.url)) >= target, 120_000, 500);
  const txs = await assertSameChain(node.url, verifier.url, target, "verifier after the crash loop");
  assert.ok(txs >= transfers, `the compared blocks hold the traffic (${txs} transactions, ${transfers} transfers reported)`);
  t.diagnostic(`crash loop: ${KILLS} kills, ${reportedBlocks.size} blocks and ${reportedReceipts.size} receipts checked after every restart, verifier equal up to ${target}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
