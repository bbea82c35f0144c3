// Acceptance of issue 6, part 4: the dispute game played by op-node on its own, end to end.
//   - `op-node devnet --fault-proposer-every 3 --no-challenger` (every third proposal claims the output
//     root of the block after the one it names: wrong, yet with a real preimage) and an
//     `op-node verifier --challenger` deriving the chain from L1 alone: the challenger wins every bad
//     game on its own (CHALLENGER_WINS), every good game resolves DEFENDER_WINS, and a withdrawal proven
//     against a bad game (viem's op-stack actions) never finalizes;
//   - the figures of one dispute: moves and L1 gas of each side, and the time from the bad proposal to
//     its resolution (printed as `dispute figures: ...`; README.md's dispute section quotes them);
//   - `--fault-challenger`: a dishonest challenger against an honest proposer;
//   - the same bad-proposal fight, and a dishonest challenger answering at random
//     (`--fault-challenger-answers random`) against the honest proposer, with a hardhat node as the L1 (`--l1-rpc`);
//   - `--fault-challenger-answers disagree-from-deposits`: the dishonest challenger takes the honest proposer
//     to layer 2 over the L2 block that opens its epoch with two user deposits from one L1 block (after
//     another contract's logs), so the proposer must prove that block's receipts to the `DepositLogIndex`
//     oracle before `startSteps`; on the embedded L1 and on hardhat;
//   - `--fault-challenger-answers disagree-at-long-step`: an L2 transaction hashes 40 KiB of non-zero memory
//     (KECCAK256 over 1,280 words, more than range_fact::LONG_WORDS = 512), and the dishonest challenger takes
//     the honest proposer to a layer-2 leaf at exactly that step, so the proposer runs the step's range job
//     on the L1 `RangeOracle` (eight chunk transactions) and proves the step in its L1 form (fraud-vm/SPEC.md
//     §3.4.1, §12.3), the chunks sent back to back; a 30 s window and clock (60 s on hardhat), so the
//     moves and the job fit the defender's clock (§12.3); on the embedded L1 and on hardhat;
//   - the same over a transaction start: an L2 EIP-1559 transaction (ethers) with 100,000 bytes of
//     incompressible non-zero data (20,000 on hardhat), whose start is the block's first long step, so the
//     proposer runs the start's five range jobs (HASH of the encoding, WRITE | ZEROS of the data, the
//     signing payload's WRITE and HASH, the FLZ job of the L1 data fee) and proves the start in its L1 form;
//     each fact is read back from the oracle and checked against the L2 (the transaction's hash, its
//     signing hash, the receipt's L1 gas); on the embedded L1 and on hardhat.
// Windows are short here: a 20 s challenge window and clock, 4 s clock extension, 100 ms L2 blocks.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { concat, encodeFunctionData, keccak256, numberToHex, parseEther, parseEventLogs, toFunctionSelector } from "viem";
import { getL2TransactionHashes, getWithdrawals } from "viem/op-stack";
import { createHash } from "node:crypto";
import { getCreateAddress, HDNodeWallet, Transaction, Wallet, ZeroHash as ZERO_HASH, zeroPadValue } from "ethers";
import { MNEMONIC, makeProvider, startNode, startVerifier } from "../lib/node.mjs";
import { startHardhat } from "../lib/hardhat.mjs";
import { bridgeAbi, describeError, gameAbi, loadRollup, rejection, revertName, stringify } from "../lib/rollup.mjs";
import { rpc } from "../lib/rpc.mjs";
import { sendRawBatch } from "../lib/txs.mjs";
import {
  challenges, defenderWinsPaid, disputeFigures, firstEnded, GAME_ABI, games, INTERVAL, LONG_DISHONEST, longStepDevnet, longStepFight, mnemonicKey,
  OUTCOME, outputAt, readGame, selectorNames, sleep, STATUS, summarize, until,
} from "../lib/dispute.mjs";

const FAULT_EVERY = 3;
const WINDOW = 20;
const FLAGS = [
  "--challenge-window", String(WINDOW),
  "--clock-extension", "4",
  "--proof-maturity-delay", "6",
  "--game-finality-delay", "2",
  "--proposal-interval", String(INTERVAL),
];
const PORTAL_ABI = bridgeAbi("OptimismPortal");

const CHALLENGER = HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0").deriveChild(12).address;

describe("dispute on the embedded L1: faulty proposer, honest challenger in op-node verifier", () => {
  let node;
  let verifier;
  let r;
  let proven; // the withdrawal proven against a bad game, and that game

  before(async () => {
    node = await startNode({ name: "dispute", args: [...FLAGS, "--fault-proposer-every", String(FAULT_EVERY), "--no-challenger"] });
    r = loadRollup(node.datadir, node.url);
    verifier = await startVerifier(node, {
      name: "dispute-verifier",
      args: ["--challenger", "--challenger-key", mnemonicKey(12)],
    });
  });

  after(async () => {
    await verifier?.stop();
    await node?.stop();
  });

  test("a withdrawal proven against a bad game can never finalize", async (t) => {
    const w = r.wallet(1);
    const args = await r.l1.buildInitiateWithdrawal({ account: w.account, to: w.address, value: parseEther("0.1"), gas: 21_000n });
    const receipt = await r.l2.waitForTransactionReceipt({ hash: await w.l2.initiateWithdrawal(args), timeout: 30_000 });
    assert.equal(receipt.status, "success");
    const [withdrawal] = getWithdrawals(receipt);

    // The next bad game whose lie (the next block's output) already holds the withdrawal.
    const bad = await until("a bad game covering the withdrawal", async () =>
      (await games(r, node.url)).find((g) => g.lieOfNext && g.status === STATUS.IN_PROGRESS && g.l2Block + 1n >= receipt.blockNumber));
    t.diagnostic(`bad game ${bad.address} claims block ${bad.l2Block + 1n}'s output for block ${bad.l2Block}`);

    // Proven against it with the preimage of the block it really holds: the portal accepts it.
    const prove = await r.l2.buildProveWithdrawal({ account: w.account, withdrawal, game: { index: bad.index, l2BlockNumber: bad.l2Block + 1n } });
    const proveReceipt = await r.l1.waitForTransactionReceipt({ hash: await w.l1.proveWithdrawal(prove), timeout: 30_000 });
    assert.equal(proveReceipt.status, "success", "proving against the bad game (still in progress)");
    assert.equal(parseEventLogs({ abi: PORTAL_ABI, logs: proveReceipt.logs, eventName: "WithdrawalProven" }).length, 1);

    // The honest challenger defeats it on its own.
    await until("the bad game resolved CHALLENGER_WINS", async () => (await readGame(r, bad.address, "status")) === STATUS.CHALLENGER_WINS);
    proven = { bad, withdrawal, w, receipt };

    // Past the proof maturity and the finality delay it still cannot finalize: by estimate, and mined;
    // viem says it must be proven again (against a game that did not lose).
    await sleep(9_000);
    assert.equal(await r.l1.getWithdrawalStatus({ receipt, targetChain: r.l2Chain }), "ready-to-prove", "a proof against a lost game must be made again");
    const err = await rejection(() => w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain }), "finalize against a lost game");
    t.diagnostic(`finalize against the lost game: ${revertName(err) ?? describeError(err)}`);
    const balanceBefore = await r.l1.getBalance({ address: r.addresses.OptimismPortal });
    const hash = await w.l1.finalizeWithdrawal({ withdrawal, targetChain: r.l2Chain, gas: 1_000_000n });
    const mined = await r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    assert.equal(mined.status, "reverted", "a mined finalization against the lost game");
    assert.equal(await r.l1.readContract({ address: r.addresses.OptimismPortal, abi: PORTAL_ABI, functionName: "finalizedWithdrawals", args: [withdrawal.withdrawalHash] }), false);
    assert.equal(await r.l1.getBalance({ address: r.addresses.OptimismPortal }), balanceBefore, "no ETH left the portal");
  });

  test("every bad proposal falls to the honest challenger (CHALLENGER_WINS); every good one stands (DEFENDER_WINS)", async (t) => {
    const all = await until("three bad and three good games resolved", async () => {
      const gs = await games(r, node.url);
      const done = gs.filter((g) => g.status !== STATUS.IN_PROGRESS);
      return done.filter((g) => g.bad).length >= 3 && done.filter((g) => !g.bad).length >= 3 ? gs : null;
    });
    for (const g of all.filter((x) => x.status !== STATUS.IN_PROGRESS)) {
      const cs = await challenges(r, g);
      if (g.bad) {
        assert.equal(g.status, STATUS.CHALLENGER_WINS, `bad game at L2 block ${g.l2Block} resolved ${g.status}`);
        const won = cs.filter((c) => c.outcome === OUTCOME.CHALLENGER_WON);
        assert.equal(won.length, 1, `bad game at ${g.l2Block}: one challenge won, got ${stringify(cs)}`);
        assert.equal(won[0].challenger.toLowerCase(), CHALLENGER.toLowerCase(), "won by the verifier's challenger");
      } else {
        assert.equal(g.status, STATUS.DEFENDER_WINS, `good game at L2 block ${g.l2Block} resolved ${g.status}`);
        assert.equal(cs.length, 0, `the honest challenger challenged the good game at ${g.l2Block}`);
      }
    }
    // Every bond is paid out: the challenger collects its bond and the proposer's; nothing stays owed.
    for (const g of all.filter((x) => x.status !== STATUS.IN_PROGRESS)) {
      await until(`credits of the game at ${g.l2Block} claimed`, async () =>
        (await readGame(r, g.address, "credit", [CHALLENGER])) === 0n && (await readGame(r, g.address, "credit", [g.creator])) === 0n, 30_000);
      assert.equal(await r.l1.getBalance({ address: g.address }), 0n, `game at ${g.l2Block} still holds ETH`);
    }
    t.diagnostic(`${all.filter((g) => g.bad).length} bad and ${all.filter((g) => !g.bad).length} good games so far`);
  });

  test("the challenger survives kill -9 mid-dispute: it picks the game up from L1 and never moves twice", async (t) => {
    const ongoing = await until("a bad game with the challenger's challenge open", async () => {
      for (const g of await games(r, node.url)) {
        if (!g.bad || g.status !== STATUS.IN_PROGRESS) continue;
        const cs = await challenges(r, g);
        if (cs.some((c) => c.outcome === OUTCOME.NONE && c.challenger.toLowerCase() === CHALLENGER.toLowerCase())) return g;
      }
      return null;
    }, 60_000, 250);
    await verifier.kill9();
    await sleep(2_000);
    await verifier.restart();
    await until("the game resolved CHALLENGER_WINS after the restart", async () => (await readGame(r, ongoing.address, "status")) === STATUS.CHALLENGER_WINS);
    await until("the challenger's credit claimed", async () => (await readGame(r, ongoing.address, "credit", [CHALLENGER])) === 0n, 30_000);
    const [c] = (await challenges(r, ongoing)).filter((x) => x.challenger.toLowerCase() === CHALLENGER.toLowerCase());
    assert.equal(c.outcome, OUTCOME.CHALLENGER_WON);
    // Every transaction the challenger sent to the game succeeded: none was a second move for a turn.
    const { sides, reverted } = await disputeFigures(r, ongoing, await r.l1.getBlockNumber());
    const mine = sides.get(CHALLENGER.toLowerCase());
    assert.ok(mine && mine.moves.length >= 3, `challenger transactions: ${stringify(mine)}`);
    assert.deepEqual(reverted.filter((x) => x.from === CHALLENGER.toLowerCase()), [], "reverted challenger transactions");
    t.diagnostic(`game at L2 block ${ongoing.l2Block}: ${mine.moves.length} challenger transactions across the restart, none reverted`);
  });

  test("figures: moves and L1 gas of each side, and the time from a bad proposal to its resolution", async (t) => {
    assert.ok(proven, "needs the bad game of the withdrawal test");
    const game = proven.bad;
    await until("the challenger's credit claimed", async () => (await readGame(r, game.address, "credit", [CHALLENGER])) === 0n, 30_000);
    const [createdAt, resolvedAt] = await Promise.all(["createdAt", "resolvedAt"].map((f) => readGame(r, game.address, f)));
    const head = await r.l1.getBlockNumber();
    const { sides } = await disputeFigures(r, game, head);
    const s = summarize(sides, selectorNames(), game.creator, CHALLENGER);
    assert.ok(s.challenger.moves >= 3, `challenger moves: ${stringify(s.challenger)}`);
    const line = `dispute figures: claim at L2 block ${game.l2Block} (anchor 0): defender ${s.defender.moves} transactions ${stringify(s.defender.counts)}, ${s.defender.gas} gas; ` +
      `challenger ${s.challenger.moves} transactions ${stringify(s.challenger.counts)}, ${s.challenger.gas} gas; ` +
      `bad proposal to CHALLENGER_WINS: ${resolvedAt - createdAt} s of L1 time`;
    t.diagnostic(line);
    console.log(line);
  });
});

describe("dispute on the embedded L1: a dishonest challenger against an honest proposer", () => {
  let node;
  let r;
  const DISHONEST = HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0").deriveChild(14).address;

  before(async () => {
    node = await startNode({ name: "dispute-dishonest", args: [...FLAGS, "--fault-challenger"] });
    r = loadRollup(node.datadir, node.url);
  });

  after(async () => {
    await node?.stop();
  });

  test("the dishonest challenger challenges right claims and disagrees down to the block above the anchor; the honest one stays out", async () => {
    const game = await until("a game the dishonest challenger took to a layer-1 leaf", async () => {
      for (const g of await games(r, node.url)) {
        if (g.bad) assert.fail(`the honest proposer claimed a wrong root at ${g.l2Block}`);
        const cs = await challenges(r, g);
        assert.ok(cs.every((c) => c.challenger.toLowerCase() === DISHONEST.toLowerCase()), `only the dishonest challenger challenges right claims: ${stringify(cs)}`);
        const leaf = cs.find((c) => c.disputedPos - c.agreedPos === 1n);
        if (leaf) return { g, leaf };
      }
      return null;
    });
    assert.equal(game.leaf.agreedPos, 0n);
    assert.equal(game.leaf.disputedClaim, await outputAt(node.url, 1n), "the disputed claim is the true output of block 1");
  });

  test("the dishonest challenger loses its bond: the proposer opens layer 2 and proves the step (DEFENDER_WON), then collects the bond", async (t) => {
    const ended = await until("a dishonest challenge ended", async () => {
      for (const g of await games(r, node.url)) {
        for (const c of await challenges(r, g)) if (c.outcome !== OUTCOME.NONE) return { g, c };
      }
      return null;
    }, 120_000);
    const { g, c } = ended;
    assert.equal(c.challenger.toLowerCase(), DISHONEST.toLowerCase());
    assert.equal(c.outcome, OUTCOME.DEFENDER_WON, `challenge outcome ${c.outcome}: ${stringify(c)}`);
    // Won by the step at a layer-2 leaf, not on time: layer 2 over block 1, one step apart.
    assert.equal(c.layer, 2, `the challenge ended in layer ${c.layer}`);
    assert.equal(c.stepBlock, 1n);
    assert.equal(c.disputedPos - c.agreedPos, 1n);
    const challengeBond = await readGame(r, g.address, "challengeBond");
    const proposalBond = await readGame(r, g.address, "bond");
    const [opened] = await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "ChallengeOpened", args: { challenger: DISHONEST }, fromBlock: 0n });
    const [end] = (await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "ChallengeEnded", fromBlock: 0n }))
      .filter((e) => e.args.id === opened.args.id);
    assert.ok(end, "the ChallengeEnded event");
    const endTx = await r.l1.getTransaction({ hash: end.transactionHash });
    assert.equal(endTx.input.slice(0, 10), toFunctionSelector(GAME_ABI.find((x) => x.type === "function" && x.name === "step")), "ended by `step`");
    assert.equal(endTx.from.toLowerCase(), g.creator.toLowerCase(), "the proposer proved the step");
    // At the step, the challenge bond moved to the proposer's credit; the dishonest challenger is owed nothing.
    const creditAt = (who, blockNumber) => r.l1.readContract({ address: g.address, abi: GAME_ABI, functionName: "credit", args: [who], blockNumber });
    assert.equal((await creditAt(g.creator, end.blockNumber)) - (await creditAt(g.creator, end.blockNumber - 1n)), challengeBond, "the proposer is credited the challenge bond");
    assert.equal(await creditAt(DISHONEST, end.blockNumber), 0n);
    // The game stands, and its ETH (the proposal bond and the lost challenge bond) goes to the proposer.
    await until("the game resolved DEFENDER_WINS", async () => (await readGame(r, g.address, "status")) === STATUS.DEFENDER_WINS, 60_000);
    await until("the proposer's credit claimed", async () => (await readGame(r, g.address, "credit", [g.creator])) === 0n, 30_000);
    assert.equal(await r.l1.getBalance({ address: g.address }), 0n, "the game still holds ETH");
    const head = await r.l1.getBlockNumber();
    const { sides, reverted } = await disputeFigures(r, g, head);
    const names = selectorNames();
    const s = summarize(sides, names, g.creator, DISHONEST);
    assert.equal(s.defender.counts.startSteps, 1, `defender moves: ${stringify(s.defender.counts)}`);
    assert.equal(s.defender.counts.step, 1, `defender moves: ${stringify(s.defender.counts)}`);
    assert.ok(s.defender.counts.claimCredit >= 1, `defender moves: ${stringify(s.defender.counts)}`);
    assert.equal(s.challenger.counts.claimCredit, undefined, "the dishonest challenger had nothing to claim");
    assert.equal(await readGame(r, g.address, "credit", [DISHONEST]), 0n);
    assert.deepEqual(reverted.filter((x) => x.from === g.creator.toLowerCase()), [], "reverted proposer transactions");
    const [started] = (await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "StepsStarted", fromBlock: 0n }))
      .filter((e) => e.args.id === opened.args.id);
    assert.ok(started, "the StepsStarted event");
    assert.equal(started.args.l2Block, 1n);
    // The block-boundary verifier that accepted the defender's blockStart reads the rollup's portal:
    // block 1 opens its epoch, so its user deposits had to fold to that portal's depositChain(epoch).
    const gameVerifier = await readGame(r, g.address, "verifier");
    const boundary = await r.l1.readContract({ address: gameVerifier, abi: gameAbi("GameVerifier"), functionName: "boundary" });
    const boundaryPortal = await r.l1.readContract({ address: boundary, abi: gameAbi("BoundaryVerifier"), functionName: "portal" });
    assert.equal(boundaryPortal.toLowerCase(), r.addresses.OptimismPortal.toLowerCase(), "the boundary verifier reads the rollup's portal");
    // And the deposit log-index oracle the devnet deployed (addresses.json), that portal's, which a
    // blockStart with user deposits checks their log indices against (fraud-vm/SPEC.md §5.18 v0.7).
    const boundaryOracle = await r.l1.readContract({ address: boundary, abi: gameAbi("BoundaryVerifier"), functionName: "logIndex" });
    assert.equal(boundaryOracle.toLowerCase(), r.addresses.DepositLogIndex.toLowerCase(), "the boundary verifier reads the devnet's log-index oracle");
    const oraclePortal = await r.l1.readContract({ address: boundaryOracle, abi: bridgeAbi("DepositLogIndex"), functionName: "portal" });
    assert.equal(oraclePortal.toLowerCase(), r.addresses.OptimismPortal.toLowerCase(), "the oracle indexes the rollup's portal");
    const [openedAt, endedAt] = await Promise.all([opened.blockNumber, end.blockNumber].map(async (n) => (await r.l1.getBlock({ blockNumber: n })).timestamp));
    const [createdAt, resolvedAt] = await Promise.all(["createdAt", "resolvedAt"].map((f) => readGame(r, g.address, f)));
    const line = `dishonest challenge figures: claim at L2 block ${g.l2Block}, layer 2 over block ${c.stepBlock} (N = ${started.args.stepCount}; ${proposalBond} wei proposal bond, ${challengeBond} wei challenge bond): ` +
      `defender ${s.defender.moves} transactions ${stringify(s.defender.counts)}, ${s.defender.gas} gas (startSteps ${s.defender.gasBy.startSteps} gas, step ${s.defender.gasBy.step} gas); ` +
      `dishonest challenger ${s.challenger.moves} transactions ${stringify(s.challenger.counts)}, ${s.challenger.gas} gas; ` +
      `challenge to DEFENDER_WON: ${endedAt - openedAt} s, proposal to DEFENDER_WINS: ${resolvedAt - createdAt} s of L1 time`;
    t.diagnostic(line);
    console.log(line);
  });
});

describe("dispute with a hardhat node as the L1 (--l1-rpc): faulty proposer, the devnet's challenger, a dishonest challenger", () => {
  let hardhat;
  let node;
  let r;
  const DISHONEST = HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0").deriveChild(14).address;

  before(async () => {
    hardhat = await startHardhat({ name: "dispute" });
    node = await startNode({ name: "dispute-hardhat", args: ["--l1-rpc", hardhat.url, ...FLAGS, "--fault-proposer-every", String(FAULT_EVERY), "--fault-challenger", "--fault-challenger-answers", "random"] });
    r = loadRollup(node.datadir, node.url);
  });

  after(async () => {
    await node?.stop();
    await hardhat?.stop();
  });

  test("bad proposals fall (CHALLENGER_WINS), good ones stand (DEFENDER_WINS)", async (t) => {
    const all = await until("two bad and two good games resolved", async () => {
      const gs = await games(r, node.url);
      const done = gs.filter((g) => g.status !== STATUS.IN_PROGRESS);
      return done.filter((g) => g.bad).length >= 2 && done.filter((g) => !g.bad).length >= 2 ? done : null;
    });
    for (const g of all) {
      assert.equal(g.status, g.bad ? STATUS.CHALLENGER_WINS : STATUS.DEFENDER_WINS, `game at ${g.l2Block} (bad: ${g.bad}) resolved ${g.status}`);
    }
    t.diagnostic(`${all.length} games resolved on hardhat`);
  });

  // The dishonest challenger challenges only right claims (play.rs), so it meets the honest
  // proposer in layer 2, whose blockStart, blockEnd and step run on hardhat's EVM. Here it answers
  // at random, so the bisections end at varying blocks and steps, not only at block 1's first.
  test("the dishonest challenger answering at random loses on hardhat too: the proposer proves the layer-2 step (DEFENDER_WON)", async (t) => {
    const ended = await until("a dishonest challenge ended on hardhat", async () => {
      for (const g of await games(r, node.url)) {
        for (const c of await challenges(r, g)) {
          if (c.challenger.toLowerCase() === DISHONEST.toLowerCase() && c.outcome !== OUTCOME.NONE) return { g, c };
        }
      }
      return null;
    }, 120_000);
    const { g, c } = ended;
    assert.equal(g.bad, false, "the dishonest challenger challenged a right claim only");
    assert.equal(c.outcome, OUTCOME.DEFENDER_WON, `challenge outcome ${c.outcome}: ${stringify(c)}`);
    assert.equal(c.layer, 2, `the challenge ended in layer ${c.layer}`);
    assert.equal(c.disputedPos - c.agreedPos, 1n);
    await until("the game resolved DEFENDER_WINS", async () => (await readGame(r, g.address, "status")) === STATUS.DEFENDER_WINS, 60_000);
    assert.equal(await readGame(r, g.address, "credit", [DISHONEST]), 0n);
    t.diagnostic(`random dishonest challenge of the claim at L2 block ${g.l2Block} ended DEFENDER_WON in layer 2 over block ${c.stepBlock} at step ${c.agreedPos}`);
  });
});

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
    node = await startNode({ name: "dispute-deposits", args: [...FLAGS, "--fault-challenger", "--fault-challenger-answers", "disagree-from-deposits"] });
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
    node = await startNode({ name: "dispute-deposits-hardhat", args: ["--l1-rpc", hardhat.url, ...FLAGS, "--fault-challenger", "--fault-challenger-answers", "disagree-from-deposits"] });
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
