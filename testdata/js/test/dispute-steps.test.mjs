// Acceptance of issue 6, end to end: disputes whose layer-2 leaf is a long step of a chosen kind, picked by
// `--fault-challenger-answers disagree-at-long-step --fault-challenger-long-step <kind>` (op-node's
// challenger answers truly up to the first step of that kind sent in an L1 form, and disagrees past it).
// On the embedded L1, each fight on its own devnet:
//   - `sha256`: an L2 call of a contract that copies 12,288 bytes of calldata to memory and calls the sha256
//     precompile over them (384 words, more than range_fact::LONG_WORDS = 256). The transaction's start and
//     its CALLDATACOPY are long steps too, before it: the dishonest challenger agrees with them, so the
//     proposer runs one job, the precompile's input's SHA256 (`Sha256Blocks.sol`, chunks of 8,192 bytes),
//     whose fact is the digest the contract stored, and proves the STATICCALL in its L1 form;
//   - `insertion`: an L2 call with 20,000 bytes of non-zero data: its start is the block's first long step,
//     and the block end's insertion of it into the transactions trie comes after (fraud-vm/SPEC.md §5.19,
//     §3.10 v0.12, `InsertionStepVerifier`): the proposer runs the insertion's three jobs (the HASH of the
//     encoding, the WRITE of the encoding after the new leaf's RLP prefix and the HASH of that leaf) and
//     proves the insertion in its L1 form; the same with a hardhat node as the L1 (`--l1-rpc`).
// Each checks from L1 events which jobs ran (every chunk the proposer's, before the step; every fact
// complete) and, from the proposer's log line `step sent in its L1 form`, which step it proved; the
// challenge ends DEFENDER_WON by the proposer's `step`, its bond is credited to the proposer, the game
// resolves DEFENDER_WINS. Each prints its figures (`dispute-steps figures: ...`, README's dispute section).
// No fight has a transaction start whose only range job is FLZ: under the current rules none exists. A
// start takes an L1 form only when its data spans more than LONG_WORDS words (range_fact::tx_start_form),
// and then the HASH of its encoding (and the data's WRITE | ZEROS, the signing payload's WRITE and HASH)
// come with the FLZ job; a start whose data is short is proven in full, FastLZ included, however long its
// encoding (an access list). dispute.test.mjs plays the start with its five jobs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { createHash } from "node:crypto";
import { Wallet } from "ethers";
import { makeProvider } from "../lib/node.mjs";
import { LONG_DISHONEST, longStepDevnet, longStepFight, mnemonicKey } from "../lib/dispute.mjs";

const RANGE_FLAGS = { HASH: 1n, WRITE: 2n, SHA256: 4n };

/**
 * The proposer's `step sent in its L1 form` log lines since its start (ANSI colours removed), as
 * `{ status, opcode, jobs }` objects.
 */
function sentSteps(node) {
  // eslint-disable-next-line no-control-regex
  const text = fs.readFileSync(node.logFile, "utf8").replace(/\x1b\[[0-9;]*m/g, "");
  return text.split("\n").filter((l) => l.includes("step sent in its L1 form")).map((l) => ({
    status: l.match(/status=(\w+)/)?.[1],
    opcode: l.match(/opcode=(\w+(?:\(\d+\))?)/)?.[1],
    jobs: l.match(/jobs=\[([\d, ]*)\]/)?.[1].split(",").filter((x) => x.trim()).map((x) => BigInt(x.trim())),
  }));
}

/**
 * Checks every step the node sent in an L1 form is `expected` (the dishonest challenger challenges every right
 * claim from the long step's block on, so each of those games' fights ends at the same step), one at least.
 */
function assertSent(node, expected, what) {
  const steps = sentSteps(node);
  assert.ok(steps.length >= 1, `${what}: no step sent in an L1 form`);
  for (const s of steps) assert.deepEqual(s, expected, what);
}

/** `len` non-zero bytes (SHA-256 in counter mode, zeros made ones). */
function nonZero(len, label) {
  const out = Buffer.alloc(len);
  for (let i = 0; i * 32 < len; i++) createHash("sha256").update(`${label} ${i}`).digest().copy(out, i * 32);
  return out.map((b) => b || 1);
}

// --- (b) sha256 over a long input -----------------------------------------------------------------------
// runtime: CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY PUSH1 32 PUSH1 0 CALLDATASIZE PUSH1 0 PUSH1 2 GAS
//          STATICCALL POP PUSH1 0 MLOAD PUSH1 0 SSTORE STOP (25 bytes; op-node's unit test
//          `the_sha256_long_step_is_the_call_to_the_precompile` deploys the same bytes)
const SHA256_RUNTIME = "3660006000376020600036600060025afa5060005160005500";
const SHA256_INIT = `0x6019600c60003960196000f3${SHA256_RUNTIME}`;
const SHA256_BYTES = Number(process.env.SHA256_BYTES ?? 12_288);
const SHA256_WINDOW = Number(process.env.SHA256_WINDOW ?? 45);

/**
 * Deploys the sha256 contract with ethers (test account 9) and calls it with `len` non-zero bytes; checks
 * slot 0 holds their sha256. Returns the call's L2 block and the digest.
 */
async function sha256OnL2(l2Url, len) {
  const wallet = new Wallet(mnemonicKey(9), makeProvider(l2Url));
  assert.equal((SHA256_INIT.length - 2) / 2, 12 + 25, "init code and runtime sizes");
  const deployed = await (await wallet.sendTransaction({ data: SHA256_INIT, gasLimit: 200_000n })).wait(1, 60_000);
  assert.equal(deployed.status, 1, "the sha256 contract deployed");
  assert.equal(await wallet.provider.getCode(deployed.contractAddress), `0x${SHA256_RUNTIME}`);
  const data = nonZero(len, "sha256 input");
  const called = await (await wallet.sendTransaction({ to: deployed.contractAddress, data, gasLimit: 1_500_000n })).wait(1, 60_000);
  assert.equal(called.status, 1, "the sha256 call ran");
  const digest = `0x${createHash("sha256").update(data).digest("hex")}`;
  assert.equal(await wallet.provider.getStorage(deployed.contractAddress, 0), digest, "slot 0 holds sha256 of the calldata");
  return { l2Block: BigInt(called.blockNumber), digest, gasUsed: called.gasUsed };
}

async function sha256Fight(d, len, window) {
  const started = Date.now();
  const s = await sha256OnL2(d.node.url, len);
  const { jobs, line } = await longStepFight(d.r, d.node.url, LONG_DISHONEST, s.l2Block, window);
  assert.deepEqual(jobs.map((j) => j.job.flags), [RANGE_FLAGS.SHA256], "one job, the precompile input's SHA256: the start's and the copy's were agreed");
  const [job] = jobs;
  assert.equal(job.job.len, BigInt(len), "over the whole input");
  assert.equal(job.fact.hash, s.digest, "the fact is the digest the L2 contract stored");
  assert.equal(job.chunks.length, Math.ceil(len / 1408), "chunks of 1,408 bytes (MAX_SHA256_CHUNK, SPEC v0.14)");
  assertSent(d.node, { status: "Running", opcode: "Some(250)", jobs: [RANGE_FLAGS.SHA256] }, "the proposer proved the STATICCALL (0xfa), in its L1 form");
  return `dispute-steps figures: ${line(`sha256 over ${len} bytes of calldata (a call of ${s.gasUsed} gas)`)}; ` +
    `wall ${Math.round((Date.now() - started) / 1000)} s from the deployment to the credit claimed`;
}

describe("dispute at a sha256 step over a long input (embedded L1): --fault-challenger-long-step sha256", () => {
  const d = longStepDevnet("dispute-sha256", SHA256_WINDOW, { args: ["--fault-challenger-long-step", "sha256"] });

  test(`sha256 over ${SHA256_BYTES} bytes: the long start and copy before it are agreed, DEFENDER_WON by the proposer's STATICCALL step after its SHA256 job`, async (t) => {
    const line = await sha256Fight(d, SHA256_BYTES, SHA256_WINDOW);
    t.diagnostic(line);
    console.log(line);
  });
});

// --- (c) the block end's insertion of a long transaction -------------------------------------------------
const INSERTION_BYTES = Number(process.env.INSERTION_BYTES ?? 20_000);
const INSERTION_WINDOW = Number(process.env.INSERTION_WINDOW ?? 45);
// Hardhat's JavaScript EVM runs each 4.85M-gas HASH chunk as it arrives (the 20,000-byte start's 16 chunks
// took 21-26 s there, README): 90 s.
const INSERTION_WINDOW_HARDHAT = Number(process.env.INSERTION_WINDOW_HARDHAT ?? 90);

/**
 * Sends with ethers (test account 5) an EIP-1559 call with `len` non-zero bytes of data to a plain account.
 * Returns its encoding, hash and L2 block.
 */
async function longCallOnL2(l2Url, len) {
  const wallet = new Wallet(mnemonicKey(5), makeProvider(l2Url));
  const raw = await wallet.signTransaction(await wallet.populateTransaction({
    type: 2,
    to: "0x000000000000000000000000000000000000da7a",
    data: nonZero(len, "long insertion"),
    gasLimit: 21_000n + 40n * BigInt(len),
  }));
  const sent = await wallet.provider.broadcastTransaction(raw);
  const receipt = await sent.wait(1, 60_000);
  assert.equal(receipt.status, 1, "the long call ran");
  return { raw, hash: sent.hash, l2Block: BigInt(receipt.blockNumber) };
}

async function insertionFight(d, len, window) {
  const started = Date.now();
  const t = await longCallOnL2(d.node.url, len);
  const { jobs, line } = await longStepFight(d.r, d.node.url, LONG_DISHONEST, t.l2Block, window);
  const { HASH, WRITE } = RANGE_FLAGS;
  assert.deepEqual(jobs.map((j) => j.job.flags), [HASH, WRITE, HASH], "the insertion's jobs: the start's were agreed");
  const [hashE, write, leaf] = jobs;
  const e = BigInt((t.raw.length - 2) / 2);
  assert.deepEqual([hashE.job.srcOffset, hashE.job.len, hashE.job.srcSize], [0n, e, e], "the HASH of the whole encoding");
  assert.equal(hashE.fact.hash, t.hash, "its fact: the transaction's hash");
  assert.deepEqual([write.job.srcRoot, write.job.srcOffset, write.job.len], [hashE.job.srcRoot, 0n, e], "the encoding written into the leaf");
  assert.ok(write.job.dstOffset > 0n && write.job.dstOffset < 16n, `after the leaf's RLP prefix (${write.job.dstOffset} bytes)`);
  assert.equal(leaf.job.srcRoot, write.fact.dstResult, "the leaf's HASH over the tree the WRITE left");
  assert.equal(leaf.job.len, write.job.dstOffset + e, "the whole leaf node");
  assertSent(d.node, { status: "Sealing", opcode: "None", jobs: [HASH, WRITE, HASH] }, "the proposer proved the block end's insertion, in its L1 form");
  return `dispute-steps figures: ${line(`the block end's insertion of an EIP-1559 call with ${len} bytes of data (${e} bytes encoded)`)}; ` +
    `wall ${Math.round((Date.now() - started) / 1000)} s from the L2 transaction to the credit claimed`;
}

describe("dispute at the block end's insertion of a long transaction (embedded L1): --fault-challenger-long-step insertion", () => {
  const d = longStepDevnet("dispute-insertion", INSERTION_WINDOW, { args: ["--fault-challenger-long-step", "insertion"] });

  test(`the insertion of a call with ${INSERTION_BYTES} bytes of data: its long start is agreed, DEFENDER_WON by the proposer's insertion step after its three jobs`, async (t) => {
    const line = await insertionFight(d, INSERTION_BYTES, INSERTION_WINDOW);
    t.diagnostic(line);
    console.log(line);
  });
});

describe("dispute at the block end's insertion of a long transaction, hardhat as the L1 (--l1-rpc)", () => {
  const d = longStepDevnet("dispute-insertion", INSERTION_WINDOW_HARDHAT, { hardhat: true, args: ["--fault-challenger-long-step", "insertion"] });

  test(`hardhat runs the insertion's jobs and InsertionStepVerifier: the proposer wins at the insertion of a call with ${INSERTION_BYTES} bytes of data`, async (t) => {
    const line = await insertionFight(d, INSERTION_BYTES, INSERTION_WINDOW_HARDHAT);
    t.diagnostic(`hardhat: ${line}`);
    console.log(`hardhat ${line}`);
  });
});
