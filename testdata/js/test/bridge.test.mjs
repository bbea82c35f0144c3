// Acceptance of issue 3: value moves both ways across the bridge, driven by viem's op-stack actions
// exactly as viem ships them (viem is pinned in package.json), against `op-node devnet`:
//   - with its embedded L1: deposit, the withdrawal's whole status walk with honest countdowns, and
//     bad input and attacks sent through the real chain (finalize twice or too early, tampered proofs,
//     a target that refuses the ETH, a deposit that reverts on L2, a contract-creation deposit, a
//     restart that shows the L1 logs to the node again);
//   - with a hardhat node as the L1 (`--l1-rpc`): the same deposit and withdrawal.
// The bridge's windows are flags, kept short here; `bridge/CONTRACTS.md` has the rules tested.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { getContractAddress, keccak256, parseEther, parseEventLogs, toHex } from "viem";
import { chainConfig, getL2TransactionHashes, getWithdrawals } from "viem/op-stack";
import { startNode } from "../lib/node.mjs";
import { startHardhat } from "../lib/hardhat.mjs";
import { bridgeAbi, describeError, gameAbi, loadRollup, rejection, revertName, stringify } from "../lib/rollup.mjs";

const PROPOSAL_INTERVAL = 20; // L2 blocks between output proposals (100 ms blocks: one every 2 s)
const BRIDGE_FLAGS = [
  "--challenge-window", "4",
  "--proof-maturity-delay", "8",
  "--game-finality-delay", "2",
  "--proposal-interval", String(PROPOSAL_INTERVAL),
];
// How late a status may flip after a countdown said it would, and how far a countdown may stall:
// 200 ms L1 blocks, 200-250 ms polling, integer-second timestamps, the strict `>` of the finality
// delay, and the proposer resolving a game about 2 s after its window ends (no resolve, no finality).
const TOLERANCE_MS = 3000;
// viem's getTimeToFinalize adds this many seconds to any countdown that is not yet zero.
const VIEM_FINALIZE_BUFFER_S = 10;
const WAIT_LIMIT_MS = 45_000;
// L1 gas limit of a withdrawal to an account without code (what eth_estimateGas gives for it).
const EOA_GAS = 21_000n;

const PORTAL_ABI = bridgeAbi("OptimismPortal");
const GAME_ABI = gameAbi("BisectionGame");
const REGISTRY_ABI = bridgeAbi("AnchorStateRegistry");
// Revert names of a proof the trie walk or the RLP reader rejects (bridge/CONTRACTS.md, MerkleTrie).
const BAD_PROOF = ["InvalidMerkleProof", "EmptyItem", "UnexpectedString", "UnexpectedList", "InvalidHeader", "ContentLengthMismatch", "InvalidDataRemainder"];

// L1 contract "gate": refuses ETH (reverts on empty calldata) until any call with calldata opens it.
//   CALLDATASIZE PUSH1 0e JUMPI  PUSH1 0 SLOAD PUSH1 15 JUMPI  PUSH1 0 DUP1 REVERT
//   0e: JUMPDEST PUSH1 1 PUSH1 0 SSTORE STOP    15: JUMPDEST STOP
const GATE_RUNTIME = "0x36600e57600054601557600080fd5b6001600055005b00";
// L2 contract created by a deposit: returns 42 as a uint256 to any call.
const ANSWER_RUNTIME = "0x602a60005260206000f3";
// L2 contract that logs its calldata (LOG0 of all of it):
//   CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY  CALLDATASIZE PUSH1 0 LOG0  STOP
const ECHO_RUNTIME = "0x366000600037366000a000";
/** Init code that returns `runtime` (at most 255 bytes) as the new contract's code. */
function initCode(runtime) {
  const n = (runtime.length - 2) / 2;
  const len = n.toString(16).padStart(2, "0");
  return `0x60${len}600c60003960${len}6000f3${runtime.slice(2)}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fee = (receipt) => receipt.gasUsed * receipt.effectiveGasPrice;

/** Waits until `fn()` returns something truthy; fails with `what` and the last value after `limitMs`. */
async function until(what, fn, limitMs = WAIT_LIMIT_MS, everyMs = 200) {
  const start = Date.now();
  let last;
  while (Date.now() - start < limitMs) {
    last = await fn();
    if (last) return last;
    await sleep(everyMs);
  }
  assert.fail(`${what}: not within ${limitMs / 1000} s (last: ${stringify(last)})`);
}

/** Returns once the L2 head is just past a proposal, so a withdrawal sent now waits for the next one. */
async function justAfterProposal(r) {
  await until("an L2 head just past a proposal", async () => {
    const n = await r.l2.getBlockNumber();
    const m = Number(n % BigInt(PROPOSAL_INTERVAL));
    return m >= 1 && m <= 6;
  }, 15_000, 50);
}

/** Sends `mint`/`value`/... from test account `who` through the portal and waits for the L2 transaction. */
async function deposit(r, who, request) {
  const w = r.wallet(who);
  const args = await r.l2.buildDepositTransaction({ account: w.account, ...request });
  const l1Hash = await w.l1.depositTransaction(args);
  const l1Receipt = await r.l1.waitForTransactionReceipt({ hash: l1Hash, timeout: 30_000 });
  assert.equal(l1Receipt.status, "success", `depositTransaction ${l1Hash} reverted on L1`);
  const l2Hashes = getL2TransactionHashes(l1Receipt);
  assert.equal(l2Hashes.length, 1, "one TransactionDeposited log per depositTransaction");
  const l2Receipt = await r.l2.waitForTransactionReceipt({ hash: l2Hashes[0], timeout: 30_000 });
  const l2Tx = await r.l2.getTransaction({ hash: l2Hashes[0] });
  return { w, args, l1Receipt, l2Receipt, l2Tx };
}

/** Initiates a withdrawal on L2 from test account `who`; checks the L2 side's accounting exactly. */
async function initiate(r, who, request) {
  const w = r.wallet(who);
  const args = await r.l1.buildInitiateWithdrawal({ account: w.account, ...request });
  const hash = await w.l2.initiateWithdrawal(args);
  const receipt = await r.l2.waitForTransactionReceipt({ hash, timeout: 30_000 });
  assert.equal(receipt.status, "success", `initiateWithdrawal ${hash} reverted on L2`);
  const [withdrawal, ...more] = getWithdrawals(receipt);
  assert.equal(more.length, 0);
  assert.equal(withdrawal.sender.toLowerCase(), w.address.toLowerCase());
  assert.equal(withdrawal.target.toLowerCase(), request.to.toLowerCase());
  assert.equal(withdrawal.value, request.value);

  // The sender pays the value, the L2 gas and the L1 data fee the receipt reports; nothing else.
  const before = await r.l2.getBalance({ address: w.address, blockNumber: receipt.blockNumber - 1n });
  const afterwards = await r.l2.getBalance({ address: w.address, blockNumber: receipt.blockNumber });
  assert.equal(typeof receipt.l1Fee, "bigint", `L2 receipt without l1Fee: ${stringify(receipt)}`);
  assert.equal(before - afterwards, request.value + fee(receipt) + receipt.l1Fee, "L2 balance change of the withdrawal's sender");
  return { w, receipt, withdrawal };
}

const statusOf = (r, receipt) => r.l1.getWithdrawalStatus({ receipt, targetChain: r.l2Chain });

async function portalBalance(r, blockNumber) {
  return r.l1.getBalance({ address: r.addresses.OptimismPortal, ...(blockNumber === undefined ? {} : { blockNumber }) });
}

async function readPortal(r, functionName, args) {
  return r.l1.readContract({ address: r.addresses.OptimismPortal, abi: PORTAL_ABI, functionName, args });
}

/** What the game a withdrawal was proven against says about itself, for failure messages. */
/** How far the L1 head's timestamp is behind the wall clock (ms; 0 if ahead), less the second
 * that integer timestamps already account for in TOLERANCE_MS. */
async function l1Lag(r) {
  const head = await r.l1.getBlock();
  return Math.max(0, Date.now() - Number(head.timestamp) * 1000 - 1000);
}

async function gameReport(r, withdrawalHash) {
  try {
    const n = await readPortal(r, "numProofSubmitters", [withdrawalHash]);
    if (n === 0n) return "no proof submitted";
    const submitter = await readPortal(r, "proofSubmitters", [withdrawalHash, n - 1n]);
    const [game, provenAt] = await readPortal(r, "provenWithdrawals", [withdrawalHash, submitter]);
    const read = (functionName) => r.l1.readContract({ address: game, abi: GAME_ABI, functionName });
    const [createdAt, resolvedAt, status, expected] = await Promise.all(["createdAt", "resolvedAt", "status", "expectedResolution"].map(read));
    const l1 = await r.l1.getBlock();
    return `proven at ${provenAt} against game ${game}: status ${status}, createdAt ${createdAt}, expectedResolution ${expected}, resolvedAt ${resolvedAt}; L1 head ${l1.number} at ${l1.timestamp}, wall clock ${Math.floor(Date.now() / 1000)}`;
  } catch (e) {
    return `(could not read the game: ${describeError(e)})`;
  }
}

/**
 * viem's getWithdrawalStatus calls checkWithdrawal and then the registry's isGameFinalized separately,
 * each at "latest". If an L1 block between the two crosses the game's finality time, checkWithdrawal
 * still reverted OptimismPortal_InvalidRootClaim (not final yet) while isGameFinalized says final, and
 * viem concludes that the challenger won: "ready-to-prove", for one poll. The devnet's 200 ms L1 blocks
 * make that boundary race visible now and then. Such a reading is set aside only if the proof still
 * stands and the game is proper, respected, final and won by the defender (status 2): a withdrawal
 * that really needs proving again still fails the walk.
 */
const MAX_RACES = 3;
async function finalityRace(r, status, withdrawalHash) {
  if (status !== "ready-to-prove") return false;
  const n = await readPortal(r, "numProofSubmitters", [withdrawalHash]);
  if (n === 0n) return false;
  const submitter = await readPortal(r, "proofSubmitters", [withdrawalHash, n - 1n]);
  const [game, provenAt] = await readPortal(r, "provenWithdrawals", [withdrawalHash, submitter]);
  if (provenAt === 0n) return false;
  const registry = (functionName) => r.l1.readContract({ address: r.addresses.AnchorStateRegistry, abi: REGISTRY_ABI, functionName, args: [game] });
  const [proper, respected, finalized, gameStatus] = await Promise.all([
    registry("isGameProper"),
    registry("isGameRespected"),
    registry("isGameFinalized"),
    r.l1.readContract({ address: game, abi: GAME_ABI, functionName: "status" }),
  ]);
  return proper && respected && finalized && gameStatus === 2;
}

/** Polls until the withdrawal's status is `want` (fails if it shows anything but `want` or `from`). */
async function waitForStatus(r, receipt, from, want) {
  const start = Date.now();
  let races = 0;
  for (;;) {
    const s = await statusOf(r, receipt);
    if (s === want) return;
    const hash = getWithdrawals(receipt)[0].withdrawalHash;
    if (from === "waiting-to-finalize" && (await finalityRace(r, s, hash))) {
      races += 1;
      assert.ok(races <= MAX_RACES, `withdrawal ${hash}: viem keeps saying ready-to-prove for a proof that stands`);
      await sleep(200);
      continue;
    }
    if (s !== from || Date.now() - start > WAIT_LIMIT_MS) {
      assert.fail(`withdrawal ${hash}: status ${s} after ${Date.now() - start} ms, expected ${from} then ${want}; ${await gameReport(r, hash)}`);
    }
    await sleep(200);
  }
}

/**
 * The acceptance walk: initiate on L2, then getWithdrawalStatus must go waiting-to-prove,
 * ready-to-prove, (prove) waiting-to-finalize, ready-to-finalize, (finalize) finalized, with
 * getTimeToProve and getTimeToFinalize counting down honestly, and the L1 balance rising by the
 * amount less the L1 gas of proving and finalizing.
 */
async function withdrawalWalk(r, who, amount) {
  const targetChain = r.l2Chain;
  const statuses = [];
  const see = (s) => {
    if (statuses.at(-1) !== s) statuses.push(s);
    return s;
  };

  // getTimeToProve estimates the next game from the spacing of the last ones: let a few exist.
  await until("three proposals on L1", async () => (await r.l1.getGames({ targetChain })).length >= 3);
  await justAfterProposal(r);
  const address = r.wallet(who).address;
  // The L1 gas limit is given (what viem's estimate gives for an EOA target): the estimate itself has
  // its own test, so that a failing estimate does not hide the rest of the walk.
  const { w, receipt, withdrawal } = await initiate(r, who, { to: address, value: amount, gas: EOA_GAS });
  assert.equal(see(await statusOf(r, receipt)), "waiting-to-prove", "status right after initiateWithdrawal");

  // waitToProve runs alongside while getTimeToProve's countdown is sampled and the status polled.
  const waitStarted = Date.now();
  const proving = r.l1.waitToProve({ receipt, targetChain }).then((v) => ({ ...v, at: Date.now() }));
  proving.catch(() => {});
  const proveSamples = [];
  let readyAt;
  for (;;) {
    const t = Date.now();
    const { seconds } = await r.l1.getTimeToProve({ receipt, targetChain });
    const s = see(await statusOf(r, receipt));
    if (s !== "waiting-to-prove") {
      readyAt = t;
      break;
    }
    proveSamples.push({ t, seconds });
    assert.ok(t - waitStarted < WAIT_LIMIT_MS, `no game covers L2 block ${receipt.blockNumber} after ${WAIT_LIMIT_MS / 1000} s`);
    await sleep(200);
  }
  assert.equal(statuses.at(-1), "ready-to-prove");
  for (const { t, seconds } of proveSamples) {
    assert.ok(Number.isInteger(seconds) && seconds >= 0, `getTimeToProve gave ${seconds}`);
    assert.ok(readyAt <= t + seconds * 1000 + TOLERANCE_MS,
      `getTimeToProve said ${seconds} s at +${t - waitStarted} ms, but the withdrawal became provable only at +${readyAt - waitStarted} ms`);
  }
  const { game, withdrawal: fromWait, at: gameAt } = await proving;
  assert.ok(gameAt - readyAt <= ((proveSamples[0]?.seconds ?? 0) * 1000) + TOLERANCE_MS, `waitToProve returned ${gameAt - readyAt} ms after the status flipped`);
  assert.deepEqual(fromWait, withdrawal);
  assert.ok(game.l2BlockNumber >= receipt.blockNumber, `waitToProve's game is for L2 block ${game.l2BlockNumber} < ${receipt.blockNumber}`);

  // Prove. The L1 balance is read before the first L1 transaction of this account.
  const l1Before = await r.l1.getBalance({ address });
  const proveArgs = await r.l2.buildProveWithdrawal({ account: w.account, withdrawal, game });
  const proveHash = await w.l1.proveWithdrawal(proveArgs);
  const proveReceipt = await r.l1.waitForTransactionReceipt({ hash: proveHash, timeout: 30_000 });
  assert.equal(proveReceipt.status, "success", `proveWithdrawal ${proveHash} reverted`);
  const proven = parseEventLogs({ abi: PORTAL_ABI, logs: proveReceipt.logs, eventName: "WithdrawalProven" });
  assert.equal(proven.length, 1);
  assert.equal(proven[0].args.withdrawalHash, withdrawal.withdrawalHash);
  assert.equal(see(await statusOf(r, receipt)), "waiting-to-finalize", "status right after proving");

  // getTimeToFinalize: never negative, counts down with the clock, and reaches zero no earlier than
  // viem's buffer and no later than the tolerance before ready-to-finalize.
  const finalizeSamples = [];
  let races = 0;
  const provenAt = Date.now();
  let finalizableAt;
  // viem counts down by the wall clock, the portal decides by the L1 head's timestamp: an L1 that
  // has fallen behind the wall clock (a loaded machine, hardhat's interval mining) flips the status
  // that much later, so the flip may come that much after the countdown's zero.
  let l1LagMs = 0;
  for (;;) {
    const t = Date.now();
    const { seconds } = await r.l1.getTimeToFinalize({ withdrawalHash: withdrawal.withdrawalHash, targetChain });
    // The countdown was computed somewhere between t and tEnd: a slow answer (an L1 busy with
    // another test's transactions) makes its sample look earlier than it was.
    const tEnd = Date.now();
    const raw = await statusOf(r, receipt);
    if (await finalityRace(r, raw, withdrawal.withdrawalHash)) {
      races += 1;
      assert.ok(races <= MAX_RACES, `viem keeps saying ready-to-prove for a proof that stands; ${await gameReport(r, withdrawal.withdrawalHash)}`);
      await sleep(250);
      continue;
    }
    const s = see(raw);
    if (s !== "waiting-to-finalize") {
      finalizableAt = t;
      l1LagMs = await l1Lag(r);
      break;
    }
    finalizeSamples.push({ t: t - provenAt, tEnd: tEnd - provenAt, seconds });
    if (t - provenAt > WAIT_LIMIT_MS) {
      assert.fail(`still waiting-to-finalize ${WAIT_LIMIT_MS / 1000} s after proving; ${await gameReport(r, withdrawal.withdrawalHash)}; countdown samples ${stringify(finalizeSamples)}`);
    }
    await sleep(250);
  }
  assert.equal(statuses.at(-1), "ready-to-finalize");
  const samples = stringify(finalizeSamples);
  const ready = finalizableAt - provenAt;
  for (const [i, { t, tEnd, seconds }] of finalizeSamples.entries()) {
    assert.ok(Number.isInteger(seconds) && seconds >= 0, `getTimeToFinalize gave ${seconds}`);
    assert.ok(ready <= tEnd + seconds * 1000 + TOLERANCE_MS + l1LagMs,
      `getTimeToFinalize said ${seconds} s at +${t} ms but ready-to-finalize came at +${ready} ms (the L1 head ${l1LagMs} ms behind the wall clock); samples ${samples}; ${await gameReport(r, withdrawal.withdrawalHash)}`);
    // A zero says "due now or already past": the portal's flip may trail it by the L1's lag, and
    // zeros taken while waiting for it are not a countdown going back up.
    for (const later of finalizeSamples.slice(i + 1).filter((x) => x.seconds > 0)) {
      assert.ok(later.t + later.seconds * 1000 <= tEnd + seconds * 1000 + TOLERANCE_MS, `the countdown went back up: samples ${samples}`);
    }
  }
  const first = finalizeSamples[0];
  if (first && first.seconds > 0) {
    assert.ok(ready >= first.t + (first.seconds - VIEM_FINALIZE_BUFFER_S) * 1000 - TOLERANCE_MS,
      `ready-to-finalize at +${ready} ms, long before the countdown (${samples}) less viem's ${VIEM_FINALIZE_BUFFER_S} s buffer`);
  }
  const { seconds: left } = await r.l1.getTimeToFinalize({ withdrawalHash: withdrawal.withdrawalHash, targetChain });
  assert.equal(left, 0, "getTimeToFinalize once ready-to-finalize");

  // Finalize.
  const portalBefore = await portalBalance(r);
  assert.ok(portalBefore >= amount, `the portal holds ${portalBefore} wei, less than the withdrawal: the deposit test runs first`);
  const finalizeHash = await w.l1.finalizeWithdrawal({ withdrawal, targetChain });
  const finalizeReceipt = await r.l1.waitForTransactionReceipt({ hash: finalizeHash, timeout: 30_000 });
  assert.equal(finalizeReceipt.status, "success", `finalizeWithdrawal ${finalizeHash} reverted`);
  const finalized = parseEventLogs({ abi: PORTAL_ABI, logs: finalizeReceipt.logs, eventName: "WithdrawalFinalized" });
  assert.equal(finalized.length, 1);
  assert.equal(finalized[0].args.withdrawalHash, withdrawal.withdrawalHash);
  assert.equal(finalized[0].args.success, true);
  assert.equal(see(await statusOf(r, receipt)), "finalized", "status after finalizeWithdrawal");
  assert.deepEqual(statuses, ["waiting-to-prove", "ready-to-prove", "waiting-to-finalize", "ready-to-finalize", "finalized"]);

  const l1After = await r.l1.getBalance({ address, blockNumber: finalizeReceipt.blockNumber });
  assert.equal(l1After, l1Before + amount - fee(proveReceipt) - fee(finalizeReceipt), "L1 balance: + amount - gas of prove and finalize");
  assert.equal(await portalBalance(r), portalBefore - amount, "the portal pays out exactly the amount");
  const proveLate = Math.max(...proveSamples.map(({ t, seconds }) => readyAt - t - seconds * 1000));
  const finalizeLate = Math.max(...finalizeSamples.map(({ t, seconds }) => ready - t - Math.max(0, seconds - VIEM_FINALIZE_BUFFER_S) * 1000));
  const timeline = `initiated in L2 block ${receipt.blockNumber}; provable after ${readyAt - waitStarted} ms ` +
    `(getTimeToProve: ${stringify(proveSamples.map((x) => x.seconds))}, latest flip vs countdown ${proveLate} ms); ` +
    `finalizable ${ready} ms after the proof (getTimeToFinalize: ${stringify(finalizeSamples.map((x) => x.seconds))}, ` +
    `latest flip vs countdown less viem's buffer ${finalizeLate} ms; viem's finality race seen ${races} times); L1 gas: prove ${proveReceipt.gasUsed}, finalize ${finalizeReceipt.gasUsed}`;
  return { w, receipt, withdrawal, proveReceipt, finalizeReceipt, statuses, timeline };
}

/** Deposit `amount` from test account `who` to itself: the L2 balance rises by exactly the amount. */
async function depositToSelf(r, who, amount) {
  const address = r.wallet(who).address;
  const l2Before = await r.l2.getBalance({ address });
  const portalBefore = await portalBalance(r);
  const { l1Receipt, l2Receipt, l2Tx } = await deposit(r, who, { mint: amount, to: address });
  assert.equal(await portalBalance(r, l1Receipt.blockNumber), portalBefore + amount, "the portal holds the deposit");
  assert.equal(l2Receipt.status, "success");
  assert.equal(l2Tx.type, "deposit");
  assert.equal(l2Tx.mint, amount);
  // op-geth leaves isSystemTx out unless it is true; viem reads a missing one as not a system tx.
  assert.notEqual(l2Tx.isSystemTx, true);
  assert.match(l2Tx.sourceHash ?? "", /^0x[0-9a-f]{64}$/);
  const l2After = await r.l2.getBalance({ address, blockNumber: l2Receipt.blockNumber });
  assert.equal(l2After, l2Before + amount, "L2 balance rises by exactly the deposit");
}

/** viem's buildInitiateWithdrawal estimates the target's L1 gas with no sender: `{to, value}` only. */
async function estimateWithdrawalGas(r, who) {
  const w = r.wallet(who);
  let built;
  try {
    built = await r.l1.buildInitiateWithdrawal({ account: w.account, to: w.address, value: parseEther("0.5") });
  } catch (e) {
    assert.fail(`buildInitiateWithdrawal({to, value}) failed: ${describeError(e)}`);
  }
  // 21,000 for a plain transfer (hardhat answers 21,001).
  assert.ok(built.request.gas >= EOA_GAS && built.request.gas < 2n * EOA_GAS, `estimated L1 gas ${built.request.gas}`);
}

describe("bridge with the embedded L1 (viem op-stack actions)", () => {
  let node;
  let r;
  let first; // the withdrawal of the walk, finalized
  let attack; // shared by the attack tests: account 2's withdrawals and its gate contract on L1

  before(async () => {
    node = await startNode({ name: "bridge", args: BRIDGE_FLAGS });
    r = loadRollup(node.datadir, node.url);
  });

  after(async () => {
    await node?.stop();
  });

  test("addresses.json describes both chains as viem's op-stack chain definitions expect", async () => {
    assert.equal(await r.l1.getChainId(), r.addresses.l1ChainId);
    assert.equal(await r.l2.getChainId(), r.addresses.l2ChainId);
    assert.equal(r.addresses.l1ChainId, 900);
    assert.equal(r.addresses.l2ChainId, 901);
    for (const [key, name] of [["L2ToL1MessagePasser", "l2ToL1MessagePasser"], ["L1Block", "l1Block"], ["GasPriceOracle", "gasPriceOracle"]]) {
      assert.equal(r.addresses[key].toLowerCase(), chainConfig.contracts[name].address.toLowerCase(), key);
    }
    for (const client of [r.l1, r.l2]) {
      const code = await client.getCode({ address: r.addresses.Multicall3 });
      assert.ok(code && code.length > 2, `no Multicall3 at ${r.addresses.Multicall3} on chain ${client.chain.id}`);
    }
    assert.equal((await r.l1.getPortalVersion({ targetChain: r.l2Chain })).major >= 3, true);
  });

  test("deposit: depositTransaction on L1, the L2 balance rises by exactly the amount", async () => {
    await depositToSelf(r, 0, parseEther("1.25"));
  });

  test("buildInitiateWithdrawal estimates the L1 gas as viem's docs call it (eth_estimateGas without from, with a value)", async () => {
    await estimateWithdrawalGas(r, 1);
  });

  test("withdrawal: getWithdrawalStatus walks every status, countdowns are honest, L1 gets amount less gas", async (t) => {
    first = await withdrawalWalk(r, 1, parseEther("0.5"));
    t.diagnostic(first.timeline);
  });

  test("finalizing a finalized withdrawal reverts OptimismPortal_AlreadyFinalized", async () => {
    assert.ok(first, "needs the finalized withdrawal of the walk");
    const { w, withdrawal } = first;
    const portalBefore = await portalBalance(r);
    const err = await rejection(() => w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain }), "second finalizeWithdrawal");
    assert.equal(revertName(err), "OptimismPortal_AlreadyFinalized", describeError(err));
    // Mined anyway (explicit gas, no estimate): it reverts on chain and pays nothing out.
    const hash = await w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain, gas: 1_000_000n });
    const receipt = await r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    assert.equal(receipt.status, "reverted");
    assert.equal(await portalBalance(r), portalBefore);
    assert.equal(await statusOf(r, first.receipt), "finalized");
  });

  async function attackSetup() {
    attack ??= (async () => {
      const w = r.wallet(2);
      const gateHash = await w.l1.sendTransaction({ data: initCode(GATE_RUNTIME) });
      const gateReceipt = await r.l1.waitForTransactionReceipt({ hash: gateHash, timeout: 30_000 });
      assert.equal(gateReceipt.status, "success");
      const gate = gateReceipt.contractAddress;
      assert.equal(await r.l1.getCode({ address: gate }), GATE_RUNTIME);
      // early: to itself, proven and finalized too soon; gated: to the gate, which refuses the ETH.
      const early = await initiate(r, 2, { to: w.address, value: parseEther("0.01"), gas: EOA_GAS });
      const gated = await initiate(r, 2, { to: gate, value: parseEther("0.02"), gas: 100_000n });
      await waitForStatus(r, early.receipt, "waiting-to-prove", "ready-to-prove");
      await waitForStatus(r, gated.receipt, "waiting-to-prove", "ready-to-prove");
      return { w, gate, early, gated };
    })();
    return attack;
  }

  test("proving with a tampered storage proof, a wrong output-root preimage or a forged withdrawal reverts", async (t) => {
    const { w, early } = await attackSetup();
    const { game, withdrawal } = await r.l1.waitToProve({ receipt: early.receipt, targetChain: r.l2Chain });
    const good = await r.l2.buildProveWithdrawal({ account: w.account, withdrawal, game });
    const proof = good.withdrawalProof;
    const last = proof.at(-1);
    const mid = 2 + 2 * Math.floor((last.length - 2) / 4);
    const flipped = `${last.slice(0, mid)}${(parseInt(last.slice(mid, mid + 2), 16) ^ 0x01).toString(16).padStart(2, "0")}${last.slice(mid + 2)}`;
    const cases = [
      ["storage proof with one byte of its last node flipped", { ...good, withdrawalProof: [...proof.slice(0, -1), flipped] }, BAD_PROOF],
      ["storage proof without its last node", { ...good, withdrawalProof: proof.slice(0, -1) }, BAD_PROOF],
      ["output-root preimage with another state root", { ...good, outputRootProof: { ...good.outputRootProof, stateRoot: keccak256(toHex("not the state root")) } }, ["InvalidProof"]],
      ["output-root preimage with another message-passer storage root", { ...good, outputRootProof: { ...good.outputRootProof, messagePasserStorageRoot: keccak256(toHex("x")) } }, ["InvalidProof"]],
      ["withdrawal with its value raised, genuine proof", { ...good, withdrawal: { ...withdrawal, value: withdrawal.value * 100n } }, BAD_PROOF],
      ["withdrawal with another target, genuine proof", { ...good, withdrawal: { ...withdrawal, target: r.wallet(5).address } }, BAD_PROOF],
    ];
    for (const [label, args, names] of cases) {
      const err = await rejection(() => w.l1.proveWithdrawal(args), label);
      const name = revertName(err);
      assert.ok(names.includes(name), `${label}: reverted with ${name}, expected one of ${names.join(", ")}: ${describeError(err)}`);
      t.diagnostic(`${label}: ${name}`);
    }
    // One of them mined (explicit gas, no estimate): it reverts on chain and records no proof.
    const hash = await w.l1.proveWithdrawal({ ...cases[0][1], gas: 2_000_000n });
    const receipt = await r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    assert.equal(receipt.status, "reverted");
    assert.equal(await readPortal(r, "numProofSubmitters", [withdrawal.withdrawalHash]), 0n);
    assert.equal(await statusOf(r, early.receipt), "ready-to-prove");
  });

  test("finalizing before the proof matures or the game is final reverts", async (t) => {
    const { w, early } = await attackSetup();
    const { game, withdrawal } = await r.l1.waitToProve({ receipt: early.receipt, targetChain: r.l2Chain });
    const args = await r.l2.buildProveWithdrawal({ account: w.account, withdrawal, game });
    const proveReceipt = await r.l1.waitForTransactionReceipt({ hash: await w.l1.proveWithdrawal(args), timeout: 30_000 });
    assert.equal(proveReceipt.status, "success");
    const portalBefore = await portalBalance(r);
    const err = await rejection(() => w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain }), "finalize right after proving");
    const name = revertName(err);
    t.diagnostic(`finalize right after proving: ${name}`);
    assert.ok(["OptimismPortal_ProofNotOldEnough", "OptimismPortal_InvalidRootClaim"].includes(name), `reverted with ${name}: ${describeError(err)}`);
    const hash = await w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain, gas: 1_000_000n });
    const receipt = await r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    assert.equal(receipt.status, "reverted", "a mined early finalization");
    assert.equal(await readPortal(r, "finalizedWithdrawals", [withdrawal.withdrawalHash]), false);
    assert.equal(await portalBalance(r), portalBefore);
    assert.equal(await statusOf(r, early.receipt), "waiting-to-finalize");
  });

  test("a withdrawal to an L1 target that reverts stays ready-to-finalize, its ETH in the portal, until the target accepts", async () => {
    const { w, gate, gated } = await attackSetup();
    const { game, withdrawal } = await r.l1.waitToProve({ receipt: gated.receipt, targetChain: r.l2Chain });
    const args = await r.l2.buildProveWithdrawal({ account: w.account, withdrawal, game });
    const proveReceipt = await r.l1.waitForTransactionReceipt({ hash: await w.l1.proveWithdrawal(args), timeout: 30_000 });
    assert.equal(proveReceipt.status, "success", "proving the gated withdrawal");
    await waitForStatus(r, gated.receipt, "waiting-to-finalize", "ready-to-finalize");

    const portalBefore = await portalBalance(r);
    const err = await rejection(() => w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain }), "finalize to a reverting target");
    assert.equal(revertName(err), "CallFailed", describeError(err));
    const hash = await w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain, gas: 1_000_000n });
    const receipt = await r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    assert.equal(receipt.status, "reverted", "a mined finalization whose target reverts");
    assert.equal(await statusOf(r, gated.receipt), "ready-to-finalize", "status after the failed finalization");
    assert.equal(await readPortal(r, "finalizedWithdrawals", [withdrawal.withdrawalHash]), false, "finalizedWithdrawals after the failed finalization");
    assert.equal(await portalBalance(r), portalBefore, "no ETH left the portal");
    assert.equal(await r.l1.getBalance({ address: gate }), 0n, "the closed gate holds nothing");

    // Retryable: once the target accepts ETH, the same withdrawal finalizes, and the ETH arrives.
    const open = await r.l1.waitForTransactionReceipt({ hash: await w.l1.sendTransaction({ to: gate, data: "0x01" }), timeout: 30_000 });
    assert.equal(open.status, "success", "opening the gate");
    const retry = await r.l1.waitForTransactionReceipt({ hash: await w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain }), timeout: 30_000 });
    assert.equal(retry.status, "success", "finalizing again once the gate is open");
    assert.equal(await r.l1.getBalance({ address: gate }), withdrawal.value, "the gate received the withdrawal");
    assert.equal(await portalBalance(r), portalBefore - withdrawal.value, "the portal paid exactly the withdrawal");
    assert.equal(await statusOf(r, gated.receipt), "finalized", "status after the retry");
  });

  test("a deposit that reverts on L2 still mints to its sender", async () => {
    const w = r.wallet(3);
    const l1Block = chainConfig.contracts.l1Block.address;
    const mint = parseEther("0.3");
    const l1Before = await r.l1.getBalance({ address: w.address });
    const l2Before = await r.l2.getBalance({ address: w.address });
    // Only the depositor account may call L1Block's setter: this call reverts (NotDepositor).
    const { l1Receipt, l2Receipt, l2Tx } = await deposit(r, 3, { mint, value: parseEther("0.1"), to: l1Block, data: "0x098999be", gas: 100_000n });
    assert.equal(l2Receipt.status, "reverted", "the deposited call reverts on L2");
    assert.equal(l2Tx.type, "deposit");
    assert.equal(l2Tx.mint, mint);
    assert.equal(l2Tx.value, parseEther("0.1"));
    assert.equal(l2Tx.from.toLowerCase(), w.address.toLowerCase());
    assert.equal(await r.l2.getBalance({ address: w.address, blockNumber: l2Receipt.blockNumber }), l2Before + mint, "the mint lands, the value stays with the sender");
    assert.equal(await r.l2.getBalance({ address: l1Block, blockNumber: l2Receipt.blockNumber }), 0n);
    assert.equal(await r.l1.getBalance({ address: w.address, blockNumber: l1Receipt.blockNumber }), l1Before - mint - fee(l1Receipt));
  });

  test("a contract-creation deposit creates the contract at the sender's CREATE address", async () => {
    const w = r.wallet(4);
    const nonce = await r.l2.getTransactionCount({ address: w.address });
    const { l2Receipt, l2Tx } = await deposit(r, 4, { isCreation: true, data: initCode(ANSWER_RUNTIME) });
    assert.equal(l2Receipt.status, "success");
    assert.equal(l2Tx.to, null);
    const expected = getContractAddress({ from: w.address, nonce: BigInt(nonce) });
    assert.equal(l2Receipt.contractAddress?.toLowerCase(), expected.toLowerCase(), "receipt.contractAddress = CREATE(sender, nonce)");
    assert.equal(l2Receipt.depositNonce, BigInt(nonce), "the receipt's depositNonce");
    assert.equal(await r.l2.getCode({ address: expected }), ANSWER_RUNTIME);
    const { data } = await r.l2.call({ to: expected });
    assert.equal(BigInt(data), 42n);
    assert.equal(await r.l2.getTransactionCount({ address: w.address }), nonce + 1);
  });

  test("a deposit of 1 KB of calldata whose L2 gas is viem's own estimate lands with that calldata (issue 6)", async () => {
    // The portal's least gas limit is OP's, 21,000 + 40 per byte: the EIP-7623 floor of nonzero
    // calldata, which the L2's eth_estimateGas (what buildDepositTransaction asks when no gas is
    // given) never goes under. The market meters 60 more per byte on top (depositResource).
    const w = r.wallet(6);
    const nonce = await r.l2.getTransactionCount({ address: w.address });
    const created = await deposit(r, 6, { isCreation: true, data: initCode(ECHO_RUNTIME) });
    assert.equal(created.l2Receipt.status, "success");
    const echo = getContractAddress({ from: w.address, nonce: BigInt(nonce) });
    assert.equal(await r.l2.getCode({ address: echo }), ECHO_RUNTIME);

    const bytes = 1024;
    const data = toHex(Uint8Array.from({ length: bytes }, (_, i) => (i % 255) + 1));
    const { args, l2Receipt, l2Tx } = await deposit(r, 6, { to: echo, data });
    const gas = args.request.gas;
    const minimum = await readPortal(r, "minimumGasLimit", [BigInt(bytes)]);
    console.log(`1 KB deposit: viem's L2 gas estimate ${gas}, minimumGasLimit ${minimum}, resource ${await readPortal(r, "depositResource", [gas, BigInt(bytes)])}`);
    assert.equal(minimum, 21_000n + 40n * BigInt(bytes));
    assert.ok(gas >= minimum, `viem's estimate ${gas} under the portal's minimum ${minimum}`);
    // Under the old 21,000 + 100 per byte minimum this deposit reverted SmallGasLimit.
    assert.ok(gas < 21_000n + 100n * BigInt(bytes), `estimate ${gas}: not the case of issue 6`);
    assert.equal(l2Receipt.status, "success");
    assert.equal(l2Tx.type, "deposit");
    assert.equal(l2Tx.gas, gas, "the L2 transaction has viem's estimate as its gas limit");
    assert.equal(l2Tx.to?.toLowerCase(), echo.toLowerCase());
    assert.equal(l2Tx.input, data, "the L2 transaction carries the calldata");
    assert.equal(l2Receipt.logs.length, 1);
    assert.equal(l2Receipt.logs[0].address.toLowerCase(), echo.toLowerCase());
    assert.equal(l2Receipt.logs[0].data, data, "the L2 contract saw the calldata");
  });

  test("after a restart the node sees the same L1 logs again and mints each deposit once", async () => {
    const address = r.wallet(0).address;
    const l1BlockAbi = bridgeAbi("L1Block");
    const origin = (client) => client.readContract({ address: chainConfig.contracts.l1Block.address, abi: l1BlockAbi, functionName: "number" });
    const balance = await r.l2.getBalance({ address });
    const originBefore = await origin(r.l2);
    await node.restart();
    const l2 = loadRollup(node.datadir, node.url).l2;
    await until("the restarted L2 deriving from newer L1 blocks", async () => (await origin(l2)) >= originBefore + 10n, 30_000);
    assert.equal(await l2.getBalance({ address }), balance, "account 0's deposit minted again after the restart");
  });

  test("after a restart addresses.json still names the L1 the node uses", async () => {
    // A client finds the L1 through addresses.json (the harness starts the embedded L1 on port 0).
    const again = loadRollup(node.datadir, node.url);
    const err = await again.l1.getChainId().then(() => null, (e) => e);
    assert.equal(err, null, `addresses.json's l1RpcUrl ${again.addresses.l1RpcUrl} does not answer after a restart: ${describeError(err)}`);
  });
});

describe("bridge with a hardhat node as the L1 (--l1-rpc)", () => {
  let hardhat;
  let node;
  let r;

  before(async () => {
    hardhat = await startHardhat({ name: "bridge" });
    node = await startNode({ name: "bridge-hardhat", args: ["--l1-rpc", hardhat.url, ...BRIDGE_FLAGS] });
    r = loadRollup(node.datadir, node.url);
  });

  after(async () => {
    await node?.stop();
    await hardhat?.stop();
  });

  test("the node deployed the bridge on hardhat and reads its chain id from it", async () => {
    assert.equal(r.addresses.l1RpcUrl, hardhat.url);
    assert.equal(r.addresses.l1ChainId, 31337);
    assert.equal(await r.l1.getChainId(), 31337);
    assert.ok((await r.l1.getCode({ address: r.addresses.OptimismPortal }))?.length > 2, "no portal code on hardhat");
    assert.equal((await r.l1.getPortalVersion({ targetChain: r.l2Chain })).major >= 3, true);
  });

  test("Multicall3 is on the L1 where addresses.json says (viem's getGames reads games through it)", async () => {
    const code = await r.l1.getCode({ address: r.addresses.Multicall3 });
    assert.ok(code && code.length > 2, `eth_getCode(${r.addresses.Multicall3}) on the hardhat L1 is empty: addresses.json names a Multicall3 that is not there`);
  });

  test("deposit: the L2 balance rises by exactly the amount", async () => {
    await depositToSelf(r, 0, parseEther("2"));
  });

  test("buildInitiateWithdrawal estimates the L1 gas as viem's docs call it", async () => {
    await estimateWithdrawalGas(r, 1);
  });

  test("withdrawal: the whole status walk, honest countdowns, L1 gets amount less gas", async (t) => {
    const { timeline } = await withdrawalWalk(r, 1, parseEther("0.75"));
    t.diagnostic(timeline);
  });
});
