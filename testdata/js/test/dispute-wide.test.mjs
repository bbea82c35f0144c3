// Acceptance of issue 6, end to end: disputes at two steps that grow with a transaction's width, not its
// bytes (dispute.test.mjs has the game itself; dispute-long-step and dispute-long-start the long ranges):
//   - the block end's insertion of a receipt of MANY_LOGS_COUNT logs (more than range_fact::MANY_LOGS = 8),
//     emitted by our ManyLogs contract (testdata/contracts) in one L2 transaction: the dishonest challenger
//     (`--fault-challenger-long-step insertion`) takes the honest proposer to that insertion, so the proposer
//     runs the LOGS range job on the L1 `RangeOracle` (`absorbLogs`, fraud-vm/SPEC.md §3.4.1, §5.19 v0.15)
//     and the receipt's long-leaf jobs, then proves the insertion in its L1 form; the LOGS fact is read back
//     and checked against the L2 receipt (the log chain over its logs, their count and its bloom);
//   - a sub-step of a wide transaction start (§5.9 v0.15): an EIP-7702 transaction (ethers) with an access list
//     of WIDE_START_KEYS keys and WIDE_START_AUTHS authorizations leaves the start head in a Starting state,
//     then ⌈(1 + keys) / 12⌉ warm sub-steps and one of authorizations; the dishonest challenger
//     (`--fault-challenger-long-step entries`) takes the honest proposer to the last of them, the
//     authorizations' sub-step, proven in full (no range job); the step's calldata carries the authorization
//     entries, checked against the L2 (the authorities' delegation and nonces, the transaction's gas);
//   - the start head of a wide transaction (§5.9 v0.16): an EIP-1559 transaction with an access list of
//     WIDE_START_KEYS keys (past MANY_ENTRIES = 16) and short data; the dishonest challenger
//     (`--fault-challenger-long-step start`) takes the honest proposer to the head, which it proves in its L1
//     form with the list's bytes absent after the ENTRIES range job (`absorbEntries`); the ENTRIES fact's
//     counts are checked against the L2 transaction.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Contract, Wallet, id as textHash, zeroPadValue } from "ethers";
import { concat, keccak256, numberToHex, size, toRlp } from "viem";
import { logsBloom } from "../lib/bloom.mjs";
import { makeProvider } from "../lib/node.mjs";
import { artifact } from "../lib/contracts.mjs";
import { rpc } from "../lib/rpc.mjs";
import { LONG_DISHONEST, longStepDevnet, longStepFight, mnemonicKey } from "../lib/dispute.mjs";

const RANGE_FLAGS = { HASH: 1n, WRITE: 2n, LOGS: 64n, ENTRIES: 128n };
// 200 logs of 32 bytes (two topics each): L is 31,400 bytes, six LOGS chunks, and the receipt's leaf
// (31,678 bytes) 26 HASH chunks.
const MANY_LOGS_COUNT = Number(process.env.MANY_LOGS_COUNT ?? 200);
// 100 keys: 101 warm entries, 9 warm sub-steps; 3 authorizations: one sub-step.
const WIDE_START_KEYS = Number(process.env.WIDE_START_KEYS ?? 100);
const WIDE_START_AUTHS = Number(process.env.WIDE_START_AUTHS ?? 3);
// The windows and clocks. Measured 2026-12-06 at load 6-7: on the embedded L1 the many-logs defender
// (18-19 defends, the 36 chunks, the step) used 25-30 s of its clock and the wide-start one (11 defends,
// the step) 14 s; on hardhat 11 s and 4 s (with W = 120 and 60). So 45 s and 40 s on the embedded L1, 60 s
// and 40 s on hardhat, with room for a loaded machine; each game resolves once its window has passed, so
// the window is most of each fight's wall time.
const MANY_LOGS_WINDOW = Number(process.env.MANY_LOGS_WINDOW ?? 45);
const WIDE_START_WINDOW = Number(process.env.WIDE_START_WINDOW ?? 40);
// The head's fight runs its jobs (ENTRIES, the encoding's HASH, the signing payload's WRITE and HASH, FLZ)
// before the step, as the many-logs one does: the same room.
const WIDE_HEAD_WINDOW = Number(process.env.WIDE_HEAD_WINDOW ?? 45);
const MANY_LOGS_WINDOW_HARDHAT = Number(process.env.MANY_LOGS_WINDOW_HARDHAT ?? 60);
const WIDE_START_WINDOW_HARDHAT = Number(process.env.WIDE_START_WINDOW_HARDHAT ?? 40);

/** The RLP encoding of an L2 receipt's log, as a receipt holds it: `rlp([address, [topic…], data])`. */
const logRlp = (log) => toRlp([log.address, log.topics, log.data]);

/**
 * The LOGS fact op-node's receipt gives (fraud-vm/SPEC.md §5.19 v0.15): the log chain over the receipt's
 * logs (§3.7.5, from zero: `keccak256(0x0a ‖ root ‖ keccak256(rlp(log)))`), their count and the receipt's
 * bloom, hashed as `keccak256(logs_root ‖ u256 count ‖ bloom)`; with the log list's payload `L`.
 */
function logsFactOf(receipt) {
  let root = `0x${"00".repeat(32)}`;
  for (const log of receipt.logs) root = keccak256(concat(["0x0a", root, keccak256(logRlp(log))]));
  const payload = concat(receipt.logs.map(logRlp));
  // The receipt's EIP-2718 encoding: its type byte, then rlp([status, cumulative gas, bloom, logs]).
  const encoding = concat([receipt.type, toRlp([receipt.status, numberToHex(BigInt(receipt.cumulativeGasUsed)), receipt.logsBloom, receipt.logs.map((l) => [l.address, l.topics, l.data])])]);
  return { root, payload, encoding, hash: keccak256(concat([root, numberToHex(receipt.logs.length, { size: 32 }), receipt.logsBloom])) };
}

/**
 * Deploys ManyLogs on L2 with ethers (test account 5) and calls `emitMany(count, seed)`; checks the L2
 * receipt holds `count` distinct logs. Returns the call's L2 block and its receipt as op-node gives it.
 */
async function manyLogsOnL2(l2Url, count) {
  const wallet = new Wallet(mnemonicKey(5), makeProvider(l2Url));
  const { abi, bytecode } = artifact("ManyLogs");
  const deployed = await (await wallet.sendTransaction({ data: bytecode, gasLimit: 1_000_000n })).wait(1, 60_000);
  assert.equal(deployed.status, 1, "ManyLogs deployed");
  const logs = new Contract(deployed.contractAddress, abi, wallet);
  const seed = textHash("dispute-wide");
  const called = await (await logs.emitMany(count, seed, { gasLimit: 200_000n + 5_000n * BigInt(count) })).wait(1, 60_000);
  assert.equal(called.status, 1, "emitMany ran");
  const receipt = await rpc(l2Url, "eth_getTransactionReceipt", [called.hash]);
  assert.equal(receipt.logs.length, count, `${count} logs`);
  assert.equal(new Set(receipt.logs.map((l) => l.data)).size, count, "every log distinct");
  assert.equal(BigInt(receipt.logs[count - 1].topics[2]), BigInt(count - 1), "log i has topic i");
  return { l2Block: BigInt(called.blockNumber), receipt, gasUsed: called.gasUsed };
}

/**
 * The many-logs call on L2, then the fight over it ([`longStepFight`]), which lands on the block end's
 * insertion of its receipt: the LOGS job over the log list's payload `L`, whose fact is the log chain,
 * count and bloom of the L2 receipt, then the receipt tree's WRITE of `L` and the receipt leaf's WRITE and
 * HASH (a long leaf, §3.10). Returns the figure line.
 */
async function manyLogsFight(r, l2Url, dishonest, count, window) {
  const started = Date.now();
  const m = await manyLogsOnL2(l2Url, count);
  const { jobs, line } = await longStepFight(r, l2Url, dishonest, m.l2Block, window);
  const { LOGS, WRITE, HASH } = RANGE_FLAGS;
  const expected = logsFactOf(m.receipt);
  assert.deepEqual(jobs.map((j) => j.job.flags), [LOGS, WRITE, WRITE, HASH], "the LOGS job, the receipt tree's WRITE of L, the leaf's WRITE and HASH, in order");
  const [logsJob] = jobs;
  assert.equal(logsJob.job.len, BigInt(size(expected.payload)), "the LOGS job over the log list's payload L");
  assert.deepEqual([logsJob.job.srcOffset, logsJob.job.srcSize], [0n, BigInt(size(expected.payload))], "the whole of L");
  assert.equal(logsBloom(m.receipt.logs), m.receipt.logsBloom, "the L2 receipt's bloom is its logs'");
  assert.equal(logsJob.fact.hash, expected.hash, "its fact: the L2 receipt's log chain, count and bloom");
  // The receipt's word tree: the bytes before L, then L written after them, is the whole encoding E (not a
  // deposit: nothing after L); the leaf's WRITE takes E whole, its HASH the leaf (E after its RLP prefix).
  const [, treeWrite, leafWrite, leafHash] = jobs;
  const e = BigInt(size(expected.encoding));
  assert.equal(treeWrite.job.srcRoot, logsJob.job.srcRoot, "the receipt tree's WRITE of L, from L's tree");
  assert.equal(treeWrite.job.dstOffset + treeWrite.job.len, e, "L ends the receipt's encoding");
  assert.deepEqual([leafWrite.job.srcRoot, leafWrite.job.len], [treeWrite.fact.dstResult, e], "the leaf's WRITE of E, from the tree the receipt's WRITE left");
  assert.equal(leafHash.job.srcRoot, leafWrite.fact.dstResult, "the leaf's HASH over the tree its WRITE left");
  assert.ok(leafHash.job.len > e && leafHash.job.len < e + 8n, "the leaf: E after a short RLP prefix");
  return `many-logs dispute figures: ${line(`the block end's insertion of a receipt of ${count} logs (a call of ${m.gasUsed} L2 gas, L ${size(expected.payload)} bytes)`)}; ` +
    `wall ${Math.round((Date.now() - started) / 1000)} s from the L2 deployment to the credit claimed`;
}

describe("dispute at the insertion of a receipt of many logs (embedded L1): the defender runs the LOGS job, then proves the insertion in its L1 form", () => {
  const d = longStepDevnet("dispute-many-logs", MANY_LOGS_WINDOW, { args: ["--fault-challenger-long-step", "insertion"] });

  test(`a receipt of ${MANY_LOGS_COUNT} logs: DEFENDER_WON by the proposer's step at its insertion, the RangeOracle holds the LOGS fact of the L2 receipt`, async (t) => {
    const line = await manyLogsFight(d.r, d.node.url, LONG_DISHONEST, MANY_LOGS_COUNT, MANY_LOGS_WINDOW);
    t.diagnostic(line);
    console.log(line);
  });
});

/**
 * Sends, with ethers, an EIP-7702 transaction of test account 4 to a plain account with an access list of one
 * address and `keys` keys and `auths` authorizations (test accounts 1, 2, … delegating to one address, each
 * at its nonce); checks its gas (the intrinsic gas less the refund of the authorities, which exist) and the
 * delegations on L2. Returns its L2 block and the authorization entries the start's sub-step takes
 * (fraud-vm/SPEC.md §5.9: `3 ‖ 0 (11 bytes) ‖ authority`, `0 (4 bytes) ‖ nonce ‖ address`).
 */
async function wideStartOnL2(l2Url, keys, auths) {
  const provider = makeProvider(l2Url);
  const wallet = new Wallet(mnemonicKey(4), provider);
  const target = "0x000000000000000000000000000000000000a11c";
  const delegate = "0x0000000000000000000000000000000000de1e9a";
  const authorities = Array.from({ length: auths }, (_, i) => new Wallet(mnemonicKey(1 + i), provider));
  const authorizationList = await Promise.all(authorities.map((a) => a.authorize({ address: delegate })));
  const storageKeys = Array.from({ length: keys }, (_, i) => keccak256(numberToHex(i, { size: 32 })));
  // EIP-7702 wants at least one authorization: without, an EIP-1559 transaction (WIDE_START_AUTHS=0).
  const sent = await wallet.sendTransaction({ to: target, accessList: [{ address: target, storageKeys }], gasLimit: 400_000n, ...(auths ? { type: 4, authorizationList } : { type: 2 }) });
  const receipt = await sent.wait(1, 60_000);
  assert.equal(receipt.status, 1, "the wide transaction ran");
  // EIP-2930 and EIP-7702: 21,000 + 2,400 an address + 1,900 a key + 25,000 an authorization, less
  // 12,500 an authority that exists (under a fifth of the gas used).
  const intrinsic = 21_000n + 2_400n + 1_900n * BigInt(keys) + 25_000n * BigInt(auths);
  assert.equal(receipt.gasUsed, intrinsic - 12_500n * BigInt(auths), "the intrinsic gas less the authorities' refund");
  for (const [i, a] of authorities.entries()) {
    assert.equal(await provider.getCode(a.address), concat(["0xef0100", delegate]), `authority ${i} delegates`);
    assert.equal(BigInt(await provider.getTransactionCount(a.address)), authorizationList[i].nonce + 1n, `authority ${i}'s nonce`);
  }
  const entries = authorities.map((a, i) => [
    zeroPadValue(a.address, 32).replace(/^0x00/, "0x03"),
    concat([`0x${"00".repeat(4)}`, numberToHex(authorizationList[i].nonce, { size: 8 }), delegate]),
  ]);
  return { l2Block: BigInt(receipt.blockNumber), entries, storageKeys, gasUsed: receipt.gasUsed };
}

/**
 * The wide transaction on L2, then the fight over it ([`longStepFight`] with no jobs), which lands on its
 * start's authorizations sub-step: proven in full, its calldata carries each authorization entry. Returns the
 * figure line.
 */
async function wideStartFight(r, l2Url, dishonest, keys, auths, window) {
  const started = Date.now();
  const w = await wideStartOnL2(l2Url, keys, auths);
  const { stepInput, line } = await longStepFight(r, l2Url, dishonest, w.l2Block, window, { jobs: false });
  // The authorizations' group alone: the warm entries were applied by the sub-steps before it (the head
  // carries the whole encoding, keys and all).
  for (const key of w.storageKeys) assert.ok(!stepInput.toLowerCase().includes(key.slice(2)), `no access-list key in the step: ${key}`);
  for (const [i, [kind, value]] of w.entries.entries()) {
    assert.ok(stepInput.toLowerCase().includes(concat([kind, value]).slice(2).toLowerCase()), `the step carries authorization ${i}'s entry`);
  }
  const warm = Math.ceil((1 + keys) / 12);
  return `wide-start dispute figures: ${line(`the authorizations' sub-step (after ${warm} warm ones) of an EIP-7702 transaction with ${keys} access-list keys and ${auths} authorizations (${w.gasUsed} L2 gas)`)}; ` +
    `wall ${Math.round((Date.now() - started) / 1000)} s from the L2 transaction to the credit claimed`;
}

describe("dispute at a sub-step of a wide transaction start (embedded L1): the defender proves the authorizations' sub-step", () => {
  const d = longStepDevnet("dispute-wide-start", WIDE_START_WINDOW, { args: ["--fault-challenger-long-step", "entries"] });

  test(`an EIP-7702 transaction with ${WIDE_START_KEYS} access-list keys and ${WIDE_START_AUTHS} authorizations: DEFENDER_WON by the proposer's step at its last sub-step with entries`, async (t) => {
    const line = await wideStartFight(d.r, d.node.url, LONG_DISHONEST, WIDE_START_KEYS, WIDE_START_AUTHS, WIDE_START_WINDOW);
    t.diagnostic(line);
    console.log(line);
  });
});

/**
 * The wide transaction without authorizations on L2, then the fight over its start head
 * ([`longStepFight`]): the proposer runs the ENTRIES job of its access list (fraud-vm/SPEC.md §3.4.1 v0.16),
 * whose fact holds the list's address and key counts (`u128 addresses ‖ u128 keys`), then sends the head
 * with the list's bytes absent. Returns the figure line.
 */
async function wideHeadFight(r, l2Url, dishonest, keys, window) {
  const started = Date.now();
  const w = await wideStartOnL2(l2Url, keys, 0);
  const { jobs, stepInput, line } = await longStepFight(r, l2Url, dishonest, w.l2Block, window);
  const entries = jobs.filter((j) => j.job.flags === RANGE_FLAGS.ENTRIES);
  assert.equal(entries.length, 1, `one ENTRIES job among the head's jobs (flags ${jobs.map((j) => j.job.flags).join(", ")})`);
  const [job] = entries;
  // The job's bytes are the list's payload: one item, `rlp([address, [key…]])`: its list header (3 bytes),
  // the address (21), the keys' list header (3) and 33 bytes a key.
  assert.equal(job.job.len, BigInt(3 + 21 + 3 + 33 * keys), "the ENTRIES job spans the access list's payload");
  assert.equal(job.fact.hash, numberToHex((1n << 128n) | BigInt(keys), { size: 32 }), "the fact counts one address and every key");
  // The head carries the encoding's head and tail words only: no key of the list whole.
  const carried = w.storageKeys.filter((key) => stepInput.toLowerCase().includes(key.slice(2)));
  assert.equal(carried.length, 0, `the head carries no access-list key: ${carried.length} of ${keys}`);
  return `wide-head dispute figures: ${line(`the start head of an EIP-1559 transaction with ${keys} access-list keys (${w.gasUsed} L2 gas)`)}; ` +
    `wall ${Math.round((Date.now() - started) / 1000)} s from the L2 transaction to the credit claimed`;
}

describe("dispute at the start head of a wide transaction (embedded L1): the defender runs the ENTRIES job, then proves the head with the list absent", () => {
  const d = longStepDevnet("dispute-wide-head", WIDE_HEAD_WINDOW, { args: ["--fault-challenger-long-step", "start"] });

  test(`an EIP-1559 transaction with ${WIDE_START_KEYS} access-list keys: DEFENDER_WON by the proposer's step at its head, the RangeOracle holds the ENTRIES fact`, async (t) => {
    const line = await wideHeadFight(d.r, d.node.url, LONG_DISHONEST, WIDE_START_KEYS, WIDE_HEAD_WINDOW);
    t.diagnostic(line);
    console.log(line);
  });
});

describe("dispute at the insertion of a receipt of many logs, hardhat as the L1 (--l1-rpc)", () => {
  const d = longStepDevnet("dispute-many-logs", MANY_LOGS_WINDOW_HARDHAT, { hardhat: true, args: ["--fault-challenger-long-step", "insertion"] });

  test(`hardhat runs the LOGS job's chunks and the L1-form insertion: the proposer wins at the insertion of a receipt of ${MANY_LOGS_COUNT} logs`, async (t) => {
    const line = await manyLogsFight(d.r, d.node.url, LONG_DISHONEST, MANY_LOGS_COUNT, MANY_LOGS_WINDOW_HARDHAT);
    t.diagnostic(`hardhat: ${line}`);
    console.log(`hardhat ${line}`);
  });
});

describe("dispute at a sub-step of a wide transaction start, hardhat as the L1 (--l1-rpc)", () => {
  const d = longStepDevnet("dispute-wide-start", WIDE_START_WINDOW_HARDHAT, { hardhat: true, args: ["--fault-challenger-long-step", "entries"] });

  test("hardhat runs the authorizations' sub-step: the proposer wins at the last sub-step with entries", async (t) => {
    const line = await wideStartFight(d.r, d.node.url, LONG_DISHONEST, WIDE_START_KEYS, WIDE_START_AUTHS, WIDE_START_WINDOW_HARDHAT);
    t.diagnostic(`hardhat: ${line}`);
    console.log(`hardhat ${line}`);
  });
});
