// Acceptance of issue 6, end to end: a dispute at a long transaction start (dispute.test.mjs has the game
// itself): an L2 EIP-1559 transaction (ethers) with 100,000 bytes of incompressible non-zero data (20,000 on
// hardhat), whose start is the block's first long step, so the proposer runs the start's five range jobs
// (HASH of the encoding, WRITE | ZEROS of the data, the signing payload's WRITE and HASH, the FLZ job of the
// L1 data fee) and proves the start in its L1 form; each fact is read back from the oracle and checked
// against the L2 (the transaction's hash, its signing hash, the receipt's L1 gas); on the embedded L1 and on
// hardhat.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Transaction, Wallet, ZeroHash as ZERO_HASH } from "ethers";
import { makeProvider } from "../lib/node.mjs";
import { rpc } from "../lib/rpc.mjs";
import { LONG_DISHONEST, longStepDevnet, longStepFight, mnemonicKey } from "../lib/dispute.mjs";

// An L2 EIP-1559 transaction whose data is long (more than LONG_WORDS = 512 words): its start's L1 form
// (fraud-vm/SPEC.md §3.4.1, v0.11) takes five range jobs over the encoding `e`: a HASH of `e` (the
// transaction's hash), a WRITE | ZEROS of the data (the calldata tree and the zero count), a WRITE of the
// data into the signing payload and a HASH of that (the signing hash), and the FLZ job of the L1 data fee.
// 100,000 bytes on the embedded L1 (OP's pool admits 128,000: op-node's MAX_L2_TX_SIZE; the EIP-7623
// floor, 4.02M gas, is well within the 30M block); 20,000 on hardhat, whose JavaScript EVM runs each
// chunk as it arrives (a third of the chunks).
const LONG_START_BYTES = Number(process.env.LONG_START_BYTES ?? 100_000);
const LONG_START_BYTES_HARDHAT = Number(process.env.LONG_START_BYTES_HARDHAT ?? 20_000);
const LONG_START_WINDOW = Number(process.env.LONG_START_WINDOW ?? 60);
const LONG_START_WINDOW_HARDHAT = Number(process.env.LONG_START_WINDOW_HARDHAT ?? 90);
const RANGE_FLAGS = { HASH: 1n, WRITE: 2n, ZEROS: 16n, FLZ: 32n };

/** `len` incompressible non-zero bytes (SHA-256 in counter mode, zeros made ones): FastLZ's worst case. */
function incompressible(len) {
  const out = Buffer.alloc(len);
  for (let i = 0; i * 32 < len; i++) createHash("sha256").update(`long start ${i}`).digest().copy(out, i * 32);
  return out.map((b) => b || 1);
}

/**
 * Sends, with ethers, an EIP-1559 transaction of test account 7 to a plain account with `len` bytes of
 * incompressible non-zero data. Returns its encoding, hashes, L2 block and L2 receipt as op-node gives it.
 */
async function longStartOnL2(l2Url, len) {
  const wallet = new Wallet(mnemonicKey(7), makeProvider(l2Url));
  const data = incompressible(len);
  const raw = await wallet.signTransaction(await wallet.populateTransaction({
    type: 2,
    to: "0x000000000000000000000000000000000000da7a",
    data,
    // The EIP-7623 floor: 21,000 + 10 × 4 tokens a non-zero byte.
    gasLimit: 21_000n + 40n * BigInt(len),
  }));
  const sent = await wallet.provider.broadcastTransaction(raw);
  const receipt = await sent.wait(1, 60_000);
  assert.equal(receipt.status, 1, "the long transaction ran");
  assert.equal(receipt.gasUsed, 21_000n + 40n * BigInt(len), "it paid the EIP-7623 floor");
  const l2Receipt = await rpc(l2Url, "eth_getTransactionReceipt", [sent.hash]);
  return { raw, len, hash: sent.hash, unsignedHash: Transaction.from(raw).unsignedHash, l2Block: BigInt(receipt.blockNumber), l2Receipt };
}

/**
 * The long transaction on L2, then the fight over it ([`longStepFight`]), which lands on the transaction's
 * start: the five jobs of its L1 form, over the encoding's word tree R_e, each fact read from the oracle:
 * the HASH of `e` is the transaction's hash, the WRITE | ZEROS of the data counts no zero byte, the signing
 * payload's HASH (over the tree its WRITE left) is the signing hash, and the FLZ fact is the FastLZ length
 * of `e` whose Fjord L1 gas op-node's receipt reports. Returns the figure line.
 */
async function longStartFight(r, l2Url, dishonest, len, window) {
  const started = Date.now();
  const t = await longStartOnL2(l2Url, len);
  const { jobs, line } = await longStepFight(r, l2Url, dishonest, t.l2Block, window);
  const e = BigInt((t.raw.length - 2) / 2);
  const { HASH, WRITE, ZEROS, FLZ } = RANGE_FLAGS;
  assert.deepEqual(jobs.map((j) => j.job.flags), [HASH, WRITE | ZEROS, WRITE, HASH, FLZ], "the jobs of a transaction start under OP rules, in order");
  const [hashE, data, write, signing, flz] = jobs;
  const root = hashE.job.srcRoot;
  for (const j of [hashE, data, write, flz]) {
    assert.equal(j.job.srcRoot, root, "over the encoding's word tree R_e");
    assert.equal(j.job.srcSize, e, "of len(e) bytes");
  }
  assert.deepEqual([hashE.job.srcOffset, hashE.job.len], [0n, e], "the HASH of the whole encoding");
  assert.equal(hashE.fact.hash, t.hash, "its fact: the transaction's hash");
  for (const j of [data, write]) assert.equal(j.job.len, BigInt(len), "the data's bytes");
  assert.ok(data.job.srcOffset > 0n && data.job.srcOffset + data.job.len < e, "the data inside the encoding");
  assert.equal(data.fact.hash, ZERO_HASH, "no zero byte in the data");
  assert.equal(signing.job.srcRoot, write.fact.dstResult, "the signing payload's HASH over the tree its WRITE left");
  assert.equal(signing.fact.hash, t.unsignedHash, "its fact: the signing hash");
  assert.deepEqual([flz.job.srcOffset, flz.job.len], [0n, e], "the FLZ job over the whole encoding");
  // op-revm's Fjord L1 gas from the FastLZ length F: max(100e6, 836,500 F − 42,585,600) × 16 / 1e6.
  const fastLz = BigInt(flz.fact.hash);
  assert.ok(fastLz > e, `incompressible data: FastLZ length ${fastLz} of ${e} bytes`);
  const size = 836_500n * fastLz - 42_585_600n;
  assert.equal(BigInt(t.l2Receipt.l1GasUsed), ((size > 100_000_000n ? size : 100_000_000n) * 16n) / 1_000_000n, "the FLZ fact gives the receipt's L1 gas");
  return `long-start dispute figures: ${line(`the start of an EIP-1559 transaction with ${len} bytes of non-zero data (${e} bytes encoded, FastLZ ${fastLz})`)}; ` +
    `wall ${Math.round((Date.now() - started) / 1000)} s from the L2 transaction to the credit claimed`;
}

describe("dispute at a long transaction start (embedded L1): the defender runs the start's five range jobs, FLZ among them, then proves it in its L1 form", () => {
  const d = longStepDevnet("dispute-long-start", LONG_START_WINDOW);

  test(`an L2 transaction with ${LONG_START_BYTES} bytes of data: DEFENDER_WON by the proposer's step at its start, the RangeOracle holds the HASH and FLZ facts`, async (t) => {
    const line = await longStartFight(d.r, d.node.url, LONG_DISHONEST, LONG_START_BYTES, LONG_START_WINDOW);
    t.diagnostic(line);
    console.log(line);
  });
});

describe("dispute at a long transaction start, hardhat as the L1 (--l1-rpc)", () => {
  const d = longStepDevnet("dispute-long-start", LONG_START_WINDOW_HARDHAT, { hardhat: true });

  test(`hardhat runs the start's range jobs, FLZ among them, and the L1-form step: the proposer wins at the start of an L2 transaction with ${LONG_START_BYTES_HARDHAT} bytes of data`, async (t) => {
    const line = await longStartFight(d.r, d.node.url, LONG_DISHONEST, LONG_START_BYTES_HARDHAT, LONG_START_WINDOW_HARDHAT);
    t.diagnostic(`hardhat: ${line}`);
    console.log(`hardhat ${line}`);
  });
});
