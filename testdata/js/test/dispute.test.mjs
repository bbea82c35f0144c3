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
//     (`--fault-challenger-answers random`) against the honest proposer, with a hardhat node as the L1 (`--l1-rpc`).
// The other fights have their own files, so tools/run-e2e.mjs can run them beside each other:
// dispute-deposits (user deposits, the DepositLogIndex oracle), dispute-long-step (a long KECCAK256 and a
// step in long code), dispute-long-start (a long transaction start) and dispute-steps (sha256, insertion).
// Windows are short here: a 20 s challenge window and clock, 4 s clock extension, 100 ms L2 blocks.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseEther, parseEventLogs, toFunctionSelector } from "viem";
import { getWithdrawals } from "viem/op-stack";
import { HDNodeWallet } from "ethers";
import { MNEMONIC, startNode, startVerifier } from "../lib/node.mjs";
import { startHardhat } from "../lib/hardhat.mjs";
import { bridgeAbi, describeError, gameAbi, loadRollup, rejection, revertName, stringify } from "../lib/rollup.mjs";
import {
  challenges, disputeFigures, GAME_ABI, games, longFlags, mnemonicKey, OUTCOME, outputAt, readGame, selectorNames, sleep, STATUS,
  summarize, until,
} from "../lib/dispute.mjs";

const FAULT_EVERY = 3;
const WINDOW = 20;
const FLAGS = longFlags(WINDOW);
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
