// Acceptance of issue 6, part 4 (dispute.test.mjs has the game itself): `--fault-challenger-answers
// disagree-from-deposits`: the dishonest challenger takes the honest proposer to layer 2 over the L2 block
// that opens its epoch with two user deposits from one L1 block (after another contract's logs), so the
// proposer must prove that block's receipts to the `DepositLogIndex` oracle before `startSteps`; on the
// embedded L1 and on hardhat.
// The embedded L1's fight has a 20 s challenge window and clock, 4 s clock extension, 100 ms L2 blocks;
// hardhat's a longer one (DEPOSIT_WINDOW_HARDHAT).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { concat, encodeFunctionData, keccak256, numberToHex, parseEther, toFunctionSelector } from "viem";
import { getL2TransactionHashes } from "viem/op-stack";
import { HDNodeWallet } from "ethers";
import { MNEMONIC, startNode } from "../lib/node.mjs";
import { startHardhat } from "../lib/hardhat.mjs";
import { bridgeAbi, loadRollup, stringify } from "../lib/rollup.mjs";
import { rpc } from "../lib/rpc.mjs";
import { sendRawBatch } from "../lib/txs.mjs";
import { challenges, defenderWinsPaid, firstEnded, GAME_ABI, longFlags, OUTCOME } from "../lib/dispute.mjs";

const WINDOW = 20;
// Hardhat's fight: the defender's layer-1 moves, then two `proveReceipts` (4.6M and 0.5M gas, each run by
// hardhat's JavaScript EVM for the estimate and again when automined) and `startSteps`, all on its clock.
// With 20 s it passed alone but ran out twice in five runs beside another file at load 12-17 (the
// challenge ended CHALLENGER_WON at the layer-1 leaf); DEPOSIT_WINDOW_HARDHAT overrides it.
const DEPOSIT_WINDOW_HARDHAT = Number(process.env.DEPOSIT_WINDOW_HARDHAT ?? 40);
const PORTAL_ABI = bridgeAbi("OptimismPortal");

// L1 contract whose every call emits two logs (LOG0 of no data, then LOG1 of topic 7): logs of
// another contract before the portal's deposit logs in the same L1 block.
const EMITTER_INIT = "0x600d600c600039600d6000f360006000a0600760006000a100";
const LOG_INDEX_ABI = bridgeAbi("DepositLogIndex");
const DEPOSIT_TOPIC = keccak256(new TextEncoder().encode("TransactionDeposited(address,address,uint256,bytes)"));

/** The oracle's chain of deposit log indices (bridge/src/log_index.rs): keccak256(0x23 ‖ chain ‖ uint64 index). */
function logIndexChain(indices) {
  return indices.reduce((chain, i) => keccak256(concat(["0x23", chain, numberToHex(i, { size: 8 })])), `0x${"00".repeat(32)}`);
}

// Emitter calls before the deposits in their L1 block: more receipts than one `proveReceipts` call
// takes (bridge::log_index::MAX_CALL_RECEIPTS = 32), so the defender proves them in two calls.
const NOISE_CALLS = 33;

/**
 * Puts two user deposits into one L1 block after another contract's logs: test account 7 calls an
 * emitter NOISE_CALLS times and then deposits (consecutive nonces), account 8 deposits, all signed
 * first and sent in one JSON-RPC batch (on hardhat with automining off, so the interval block takes
 * them together). Returns the L1 block, the deposits' block-wide log indices and the L2 block that
 * carries them.
 */
async function depositsInOneL1Block(r, { hardhatUrl } = {}) {
  const [a, b] = [r.wallet(7), r.wallet(8)];
  const deployHash = await a.l1.sendTransaction({ data: EMITTER_INIT });
  const deployed = await r.l1.waitForTransactionReceipt({ hash: deployHash, timeout: 30_000 });
  assert.equal(deployed.status, "success", "the emitter deployed");
  const emitter = deployed.contractAddress;
  const fees = await r.l1.estimateFeesPerGas();
  const feeFields = { maxFeePerGas: fees.maxFeePerGas * 3n, maxPriorityFeePerGas: fees.maxPriorityFeePerGas * 3n };
  const depositTx = async (w, nonce, mint) => {
    const { request } = await r.l2.buildDepositTransaction({ account: w.account, mint, to: w.address });
    const args = [request.to, request.value ?? 0n, request.gas, request.isCreation ?? false, request.data ?? "0x"];
    const data = encodeFunctionData({ abi: PORTAL_ABI, functionName: "depositTransaction", args });
    const gas = await r.l1.estimateGas({ account: w.account, to: r.addresses.OptimismPortal, data, value: mint });
    return w.account.signTransaction({ chainId: r.l1Chain.id, type: "eip1559", nonce, to: r.addresses.OptimismPortal, data, value: mint, gas: gas * 2n, ...feeFields });
  };
  const [nonceA, nonceB] = await Promise.all([a, b].map((w) => r.l1.getTransactionCount({ address: w.address, blockTag: "pending" })));
  const raws = [];
  for (let i = 0; i < NOISE_CALLS; i++) {
    raws.push(await a.account.signTransaction({ chainId: r.l1Chain.id, type: "eip1559", nonce: nonceA + i, to: emitter, data: "0x", gas: 60_000n, ...feeFields }));
  }
  raws.push(await depositTx(a, nonceA + NOISE_CALLS, parseEther("0.5")), await depositTx(b, nonceB, parseEther("0.25")));
  if (hardhatUrl) await rpc(hardhatUrl, "evm_setAutomine", [false]);
  let sent;
  try {
    sent = await sendRawBatch(r.addresses.l1RpcUrl, raws);
  } finally {
    if (hardhatUrl) await rpc(hardhatUrl, "evm_setAutomine", [true]);
  }
  assert.ok(sent.every((x) => x.result), `the batch of L1 transactions: ${stringify(sent)}`);
  const receipts = await Promise.all(sent.map((x) => r.l1.waitForTransactionReceipt({ hash: x.result, timeout: 30_000 })));
  assert.ok(receipts.every((x) => x.status === "success"), `L1 receipts: ${stringify(receipts.map((x) => x.status))}`);
  const [noise, depA, depB] = [receipts[0], ...receipts.slice(-2)];
  assert.ok(receipts.every((x) => x.blockHash === noise.blockHash), `the transactions in one L1 block: ${stringify(receipts.map((x) => x.blockNumber))}`);
  assert.ok(depA.transactionIndex >= NOISE_CALLS, `account 7's emitter calls come before its deposit (at ${depA.transactionIndex})`);
  // Block-wide log indices, as the L1's RPC gives them (what derivation read for the source hashes).
  const logs = await r.l1.getLogs({ address: r.addresses.OptimismPortal, blockHash: noise.blockHash });
  const indices = logs.filter((l) => l.topics[0] === DEPOSIT_TOPIC).map((l) => l.logIndex).sort((x, y) => x - y);
  assert.equal(indices.length, 2, `two portal deposits in L1 block ${noise.blockNumber}: ${stringify(indices)}`);
  const depALog = depA.logs.find((l) => l.topics[0] === DEPOSIT_TOPIC);
  assert.ok(depALog.logIndex >= 2 * NOISE_CALLS, `account 7's deposit comes after the emitter's logs (log index ${depALog.logIndex})`);
  const l2Hashes = [depA, depB].map((x) => getL2TransactionHashes(x)[0]);
  const l2Receipts = await Promise.all(l2Hashes.map((hash) => r.l2.waitForTransactionReceipt({ hash, timeout: 60_000 })));
  assert.equal(l2Receipts[0].blockNumber, l2Receipts[1].blockNumber, "both deposits in one L2 block");
  const l2Block = l2Receipts[0].blockNumber;
  // That block opens its epoch: its L1-info deposit names the deposits' L1 block.
  const block = await r.l2.getBlock({ blockNumber: l2Block, includeTransactions: true });
  assert.equal(block.transactions.filter((x) => x.type === "deposit").length, 3, "the L1-info deposit and the two user deposits");
  const l1Txs = (await r.l1.getBlock({ blockHash: noise.blockHash })).transactions.length;
  return { l1Block: noise.blockNumber, l1Hash: noise.blockHash, l1Txs, depositTxIndices: [depA, depB].map((x) => x.transactionIndex), indices, l2Block };
}

/**
 * The dishonest `disagree-from-deposits` challenger against the honest proposer, once the deposits of
 * `depositsInOneL1Block` are in L2 block `d.l2Block`: its first challenge ends DEFENDER_WON in layer 2 over
 * that block; the proposer proved the epoch block's receipts to the oracle (from its own account, none
 * reverted) before `startSteps`; the game resolves DEFENDER_WINS. Returns the figure line.
 */
async function depositDisputeFigures(r, l2Url, d, dishonest) {
  const { g, c } = await firstEnded(r, l2Url, "a disagree-from-deposits challenge ended", 150_000);
  assert.ok(g.l2Block >= d.l2Block, `a game over the deposit block ${d.l2Block}: ${g.l2Block}`);
  assert.equal(c.challenger.toLowerCase(), dishonest.toLowerCase(), "only the dishonest challenger challenges right claims");
  assert.equal(c.outcome, OUTCOME.DEFENDER_WON, `challenge outcome ${c.outcome}: ${stringify(c)}`);
  assert.equal(c.layer, 2, `the challenge ended in layer ${c.layer}`);
  assert.equal(c.stepBlock, d.l2Block, "layer 2 over the L2 block with the user deposits");
  const [opened] = await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "ChallengeOpened", args: { challenger: dishonest }, fromBlock: 0n });
  const [started] = (await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "StepsStarted", fromBlock: 0n }))
    .filter((e) => e.args.id === opened.args.id);
  assert.ok(started, "the StepsStarted event");
  assert.equal(started.args.l2Block, d.l2Block, "StepsStarted over the deposit block");
  // The oracle learnt the epoch block's two deposit log indices, as the L1's RPC numbers them.
  const oracle = r.addresses.DepositLogIndex;
  const readOracle = (functionName, args) => r.l1.readContract({ address: oracle, abi: LOG_INDEX_ABI, functionName, args });
  assert.equal(await readOracle("depositsFound", [d.l1Hash]), 2n);
  assert.equal(await readOracle("chainAt", [d.l1Hash, 1n]), logIndexChain(d.indices.slice(0, 1)));
  assert.equal(await readOracle("chainAt", [d.l1Hash, 2n]), logIndexChain(d.indices), "the oracle's chain of the RPC's log indices");
  const proven = await r.l1.getContractEvents({ address: oracle, abi: LOG_INDEX_ABI, eventName: "ReceiptsProven", args: { blockHash: d.l1Hash }, fromBlock: 0n });
  // Receipts up to the later deposit's, past MAX_CALL_RECEIPTS: two calls, in order.
  assert.equal(proven.length, 2, `ReceiptsProven for the epoch block: ${stringify(proven.map((e) => e.args))}`);
  assert.equal(proven[0].args.first, 0n);
  assert.equal(proven[1].args.first, proven[0].args.count);
  assert.equal(proven[1].args.first + proven[1].args.count, BigInt(Math.max(...d.depositTxIndices) + 1), "proven up to the later deposit's receipt");
  let proveGas = 0n;
  const gasOf = [];
  for (const e of proven) {
    const [tx, receipt] = await Promise.all([r.l1.getTransaction({ hash: e.transactionHash }), r.l1.getTransactionReceipt({ hash: e.transactionHash })]);
    assert.equal(tx.from.toLowerCase(), g.creator.toLowerCase(), "the proposer proved the receipts");
    assert.equal(receipt.status, "success");
    assert.ok(e.blockNumber <= started.blockNumber, "receipts proven before startSteps");
    proveGas += receipt.gasUsed;
    gasOf.push(receipt.gasUsed);
  }
  // No reverted proveReceipts of the proposer anywhere (a failed attempt is a reverted transaction to the oracle).
  for (let n = proven[0].blockNumber; n <= started.blockNumber; n++) {
    const block = await r.l1.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions.filter((x) => x.to?.toLowerCase() === oracle.toLowerCase())) {
      assert.equal((await r.l1.getTransactionReceipt({ hash: tx.hash })).status, "success", `proveReceipts ${tx.hash} reverted`);
    }
  }
  const s = await defenderWinsPaid(r, g, dishonest, 60_000);
  const [end] = (await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "ChallengeEnded", fromBlock: 0n }))
    .filter((e) => e.args.id === opened.args.id);
  const endTx = await r.l1.getTransaction({ hash: end.transactionHash });
  assert.equal(endTx.input.slice(0, 10), toFunctionSelector(GAME_ABI.find((x) => x.type === "function" && x.name === "step")), "ended by `step`");
  assert.equal(endTx.from.toLowerCase(), g.creator.toLowerCase(), "the proposer proved the step");
  const everyone = await challenges(r, g);
  assert.ok(everyone.every((x) => x.challenger.toLowerCase() === dishonest.toLowerCase()), `the honest challenger stays out: ${stringify(everyone)}`);
  const [openedAt, endedAt] = await Promise.all([opened.blockNumber, end.blockNumber].map(async (n) => (await r.l1.getBlock({ blockNumber: n })).timestamp));
  const ids = proven.map((e) => `${e.args.first}+${e.args.count}`).join(", ");
  return `deposit dispute figures: L1 block ${d.l1Block} (${d.l1Txs} transactions, the deposits at ${d.depositTxIndices.join(", ")}; deposit log indices ${d.indices.join(", ")}), ` +
    `layer 2 over L2 block ${d.l2Block} (N = ${started.args.stepCount}) in the game at ${g.l2Block}: ` +
    `proveReceipts ${proven.length} calls (receipts ${ids}) ${proveGas} gas (${gasOf.join(" + ")}), startSteps ${s.defender.gasBy.startSteps} gas, step ${s.defender.gasBy.step} gas; ` +
    `defender ${s.defender.moves} transactions ${stringify(s.defender.counts)}, ${s.defender.gas + proveGas} gas with the oracle's; ` +
    `dishonest challenger ${s.challenger.moves} transactions, ${s.challenger.gas} gas; challenge to DEFENDER_WON: ${endedAt - openedAt} s of L1 time`;
}

describe("dispute over a block with user deposits (embedded L1): the defender proves the epoch's receipts to the oracle", () => {
  let node;
  let r;
  const DISHONEST = HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0").deriveChild(14).address;

  before(async () => {
    node = await startNode({ name: "dispute-deposits", args: [...longFlags(WINDOW), "--fault-challenger", "--fault-challenger-answers", "disagree-from-deposits"] });
    r = loadRollup(node.datadir, node.url);
  });

  after(async () => {
    await node?.stop();
  });

  test("two deposits after 33 receipts of another contract's logs: DepositLogIndex records them, StepsStarted at their block, DEFENDER_WON by step", async (t) => {
    const d = await depositsInOneL1Block(r);
    const line = await depositDisputeFigures(r, node.url, d, DISHONEST);
    t.diagnostic(line);
    console.log(line);
  });
});

describe("dispute over a block with user deposits, hardhat as the L1 (--l1-rpc)", () => {
  let hardhat;
  let node;
  let r;
  const DISHONEST = HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0").deriveChild(14).address;

  before(async () => {
    hardhat = await startHardhat({ name: "dispute-deposits" });
    node = await startNode({ name: "dispute-deposits-hardhat", args: ["--l1-rpc", hardhat.url, ...longFlags(DEPOSIT_WINDOW_HARDHAT), "--fault-challenger", "--fault-challenger-answers", "disagree-from-deposits"] });
    r = loadRollup(node.datadir, node.url);
  });

  after(async () => {
    await node?.stop();
    await hardhat?.stop();
  });

  test("hardhat's receipts prove the deposits' log indices; the proposer wins layer 2 over their block", async (t) => {
    const d = await depositsInOneL1Block(r, { hardhatUrl: hardhat.url });
    const line = await depositDisputeFigures(r, node.url, d, DISHONEST);
    t.diagnostic(`hardhat: ${line}`);
    console.log(`hardhat ${line}`);
  });
});
