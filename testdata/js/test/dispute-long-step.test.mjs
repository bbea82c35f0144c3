// Acceptance of issue 6, end to end: disputes at a long step (dispute.test.mjs has the game itself).
//   - `--fault-challenger-answers disagree-at-long-step`: an L2 transaction hashes 40 KiB of non-zero memory
//     (KECCAK256 over 1,280 words, more than range_fact::LONG_WORDS = 512), and the dishonest challenger takes
//     the honest proposer to a layer-2 leaf at exactly that step, so the proposer runs the step's range job
//     on the L1 `RangeOracle` (eight chunk transactions) and proves the step in its L1 form (fraud-vm/SPEC.md
//     §3.4.1, §12.3), the chunks sent back to back; a 30 s window and clock (60 s on hardhat), so the
//     moves and the job fit the defender's clock (§12.3); on the embedded L1 and on hardhat;
//   - a step in long code: a factory CREATEs from 12 KiB of init code, whose first step the proposer proves
//     with its code window after `absorbCode` (the code fact); on the embedded L1.
// dispute-long-start.test.mjs plays a long transaction start.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { concat, keccak256 } from "viem";
import { getCreateAddress, Wallet, zeroPadValue } from "ethers";
import { makeProvider } from "../lib/node.mjs";
import { LONG_DISHONEST, longStepDevnet, longStepFight, mnemonicKey } from "../lib/dispute.mjs";

// L2 contract that fills memory [0, 40 KiB) with copies of its calldata (CALLDATACOPY, 8 KiB each: 256
// words, not long) and stores KECCAK256(0, 40 KiB) in slot 0: one step over a long range (1,280 words).
//   runtime: CALLDATASIZE PUSH1 0 JUMPDEST DUP2 PUSH1 0 DUP3 CALLDATACOPY DUP2 ADD DUP1 PUSH2 0xa000 GT
//            PUSH1 3 JUMPI PUSH2 0xa000 PUSH1 0 KECCAK256 PUSH1 0 SSTORE STOP
const LONG_HASH_BYTES = 0xa000;
const LONG_HASH_RUNTIME = "3660005b816000823781018061a00011600357" + "61a0006000206000" + "5500";
const LONG_HASH_INIT = `0x601d600c600039601d6000f3${LONG_HASH_RUNTIME}`;
// The long step's window and clock: the defender's 11-13 `defend`s and `startSteps` take about 16-19 s of
// its clock on either L1 (one L1 block each); the range job's 8 chunks, sent back to back, 2 s more on
// the embedded L1 and 14-20 s on hardhat (automining runs each 4.8M-gas chunk in its JavaScript EVM as
// it arrives). Measured 2026-12-05 at load 8: embedded, 20 s passed with 1 s of clock left and 30 s with
// 11 s left; hardhat, 30 s passed with 6 s left and 40 s with 1 s left (a build running beside it). So
// 30 s on the embedded L1 and 60 s on hardhat; LONG_WINDOW / LONG_WINDOW_HARDHAT override them.
const LONG_WINDOW = Number(process.env.LONG_WINDOW ?? 30);
const LONG_WINDOW_HARDHAT = Number(process.env.LONG_WINDOW_HARDHAT ?? 60);



/**
 * Deploys the long-hash contract on L2 (test account 6) and calls it with 8 KiB of non-zero calldata;
 * checks the stored hash is keccak256 of the 40 KiB it hashed. Returns the L2 block of the call and
 * that hash.
 */
async function longHashOnL2(r) {
  const w = r.wallet(6);
  assert.equal((LONG_HASH_INIT.length - 2) / 2, 12 + 29, "init code and runtime sizes");
  const deployed = await r.l2.waitForTransactionReceipt({ hash: await w.l2.sendTransaction({ data: LONG_HASH_INIT }), timeout: 60_000 });
  assert.equal(deployed.status, "success", "the long-hash contract deployed");
  const chunk = new Uint8Array(8192);
  for (let i = 0; i < chunk.length; i++) chunk[i] = 1 + ((i * 37) % 255);
  const data = `0x${Buffer.from(chunk).toString("hex")}`;
  const called = await r.l2.waitForTransactionReceipt({ hash: await w.l2.sendTransaction({ to: deployed.contractAddress, data, gas: 1_000_000n }), timeout: 60_000 });
  assert.equal(called.status, "success", "the long hash ran");
  const memory = concat(Array(LONG_HASH_BYTES / chunk.length).fill(data));
  const hash = keccak256(memory);
  assert.equal(await r.l2.getStorageAt({ address: deployed.contractAddress, slot: "0x0" }), hash, "slot 0 holds keccak256 of the 40 KiB");
  return { l2Block: called.blockNumber, hash, contract: deployed.contractAddress };
}



/**
 * The long-hash call on L2, then the fight over it ([`longStepFight`]): one range job, a HASH whose chunks
 * are 1,224 bytes (MAX_HASH_CHUNK, SPEC v0.13) and whose fact is keccak256 of the 40 KiB the L2 transaction hashed.
 * Returns the figure line.
 */
async function longHashFight(r, l2Url, dishonest, window) {
  const started = Date.now();
  const h = await longHashOnL2(r);
  const { jobs, line } = await longStepFight(r, l2Url, dishonest, h.l2Block, window);
  assert.equal(jobs.length, 1, "one range job");
  assert.equal(jobs[0].chunks.length, Math.ceil(LONG_HASH_BYTES / 1224), "a chunk per 1,224 bytes (MAX_HASH_CHUNK)");
  assert.deepEqual(jobs[0].chunks.map((e) => e.args.done), jobs[0].chunks.map((_, i) => BigInt(Math.min((i + 1) * 1224, LONG_HASH_BYTES))), "chunks of 1,224 bytes");
  assert.equal(jobs[0].fact.hash, h.hash, "the fact is keccak256 of the L2 transaction's 40 KiB");
  return `long-step dispute figures: ${line(`KECCAK256 over ${LONG_HASH_BYTES} bytes`)}; wall ${Math.round((Date.now() - started) / 1000)} s from the L2 call to the credit claimed`;
}

describe("dispute at a long step (embedded L1): the defender runs the range job on L1, then proves the step in its L1 form", () => {
  const d = longStepDevnet("dispute-long-step", LONG_WINDOW);

  test("KECCAK256 over 40 KiB: the challenge ends DEFENDER_WON by the proposer's step after its range job, the RangeOracle holds the fact", async (t) => {
    const line = await longHashFight(d.r, d.node.url, LONG_DISHONEST, LONG_WINDOW);
    t.diagnostic(line);
    console.log(line);
  });
});

describe("dispute at a long step, hardhat as the L1 (--l1-rpc)", () => {
  const d = longStepDevnet("dispute-long-step", LONG_WINDOW_HARDHAT, { hardhat: true });

  test("hardhat runs the RangeOracle's chunks and the L1-form step: the proposer wins at the long step", async (t) => {
    const line = await longHashFight(d.r, d.node.url, LONG_DISHONEST, LONG_WINDOW_HARDHAT);
    t.diagnostic(`hardhat: ${line}`);
    console.log(`hardhat ${line}`);
  });
});

// A step in long code (fraud-vm SPEC v0.12's code window). A contract deployed with more than 8 KiB
// (LONG_CODE) of runtime code has a long step first (its transaction's data or its RETURN, over
// LONG_WORDS = 256 words: range jobs), so the long code is reached through a factory (100 bytes of
// runtime code): a call writes LONG_CODE_BYTES of init code into memory with a loop of MSTOREs,
// `PUSH2 len−1 JUMP` then JUMPDESTs, CREATEs it (an empty contract: the init code jumps to its last
// byte and stops) and stores the new address in slot 0. The first long step is the init code's first
// (PUSH2 at pc 0), sent with its code window after `absorbCode` (op-node's unit test
// `first_long_step_is_a_step_in_long_code`, which builds the same bytes).
const LONG_CODE_BYTES = Number(process.env.LONG_CODE_BYTES ?? 12_288);
// Measured 2026-12-05 at load 1.5-3 with W = 30: 17 defends, absorbCode and the step left 5 s of the
// defender's clock, so 45 s.
const LONG_CODE_WINDOW = Number(process.env.LONG_CODE_WINDOW ?? 45);

/** The factory's deployment code and the init code it creates, of `len` bytes (a multiple of 32, 8 KiB < len < 64 KiB). */
function longCodeFactory(len) {
  assert.ok(len % 32 === 0 && len > 8192 && len < 65_536, `long code of ${len} bytes`);
  const h2 = (n) => n.toString(16).padStart(4, "0");
  const runtime = `7f${"5b".repeat(32)}6000` + `5b81815260200180` + `61${h2(len)}11602357` + `5050` +
    `7f61${h2(len - 1)}56${"5b".repeat(28)}600052` + `61${h2(len)}60006000f0` + `60005500`;
  assert.equal(runtime.length / 2, 100, "factory runtime size");
  return { deploy: `0x606480600b6000396000f3${runtime}`, runtime: `0x${runtime}`, init: `0x61${h2(len - 1)}56${"5b".repeat(len - 4)}` };
}

/**
 * Deploys with ethers (test account 8) the long-code factory and calls it; checks the factory's code, the
 * created (empty) contract whose address slot 0 holds. Returns the call's L2 block and the init code's hash.
 */
async function longCodeOnL2(l2Url, len) {
  const wallet = new Wallet(mnemonicKey(8), makeProvider(l2Url));
  const { deploy, runtime, init } = longCodeFactory(len);
  const deployed = await (await wallet.sendTransaction({ data: deploy, gasLimit: 1_000_000n })).wait(1, 60_000);
  assert.equal(deployed.status, 1, "the factory deployed");
  assert.equal(await wallet.provider.getCode(deployed.contractAddress), runtime, "its runtime code");
  const called = await (await wallet.sendTransaction({ to: deployed.contractAddress, gasLimit: 300_000n })).wait(1, 60_000);
  assert.equal(called.status, 1, "the factory's call ran");
  const created = getCreateAddress({ from: deployed.contractAddress, nonce: 1 });
  assert.equal(await wallet.provider.getStorage(deployed.contractAddress, 0), zeroPadValue(created, 32), "slot 0 holds the created address");
  assert.equal(await wallet.provider.getCode(created), "0x", "the init code created an empty contract");
  return { l2Block: BigInt(called.blockNumber), initHash: keccak256(init), gasUsed: called.gasUsed };
}

/**
 * The factory's call on L2, then the fight over it ([`longStepFight`]): no range job, one code fact, of the
 * created init code. Returns the figure line.
 */
async function longCodeFight(r, l2Url, dishonest, len, window) {
  const started = Date.now();
  const c = await longCodeOnL2(l2Url, len);
  const { jobs, codes, line } = await longStepFight(r, l2Url, dishonest, c.l2Block, window);
  assert.equal(jobs.length, 0, "no range job: no range of the step is long");
  assert.deepEqual(codes.map((x) => [x.codeHash, x.bytes]), [[c.initHash, len]], "one code fact: the created init code");
  return `long-code dispute figures: ${line(`the first step of ${len} bytes of init code (a call of ${c.gasUsed} gas)`)}; ` +
    `wall ${Math.round((Date.now() - started) / 1000)} s from the factory's deployment to the credit claimed`;
}

describe("dispute at a step in long code (embedded L1): the defender establishes the code fact, then proves the step with its code window", () => {
  const d = longStepDevnet("dispute-long-code", LONG_CODE_WINDOW);

  test(`CREATE from ${LONG_CODE_BYTES} bytes of init code: DEFENDER_WON by the proposer's step in it, the RangeOracle holds the code fact`, async (t) => {
    const line = await longCodeFight(d.r, d.node.url, LONG_DISHONEST, LONG_CODE_BYTES, LONG_CODE_WINDOW);
    t.diagnostic(line);
    console.log(line);
  });
});
