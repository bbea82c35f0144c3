// The dispute end-to-end tests' shared helpers (the test/dispute*.test.mjs files): the games and
// challenges a factory holds, judged against the L2 node; the moves and L1 gas of each side; a devnet whose
// `disagree-at-long-step` challenger (service account 14) takes the honest proposer to a long step, and the
// checks of that fight (the range jobs run on the L1 `RangeOracle`, the step proven in its L1 form).
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { decodeFunctionData, keccak256, toFunctionSelector } from "viem";
import { HDNodeWallet, ZeroHash as ZERO_HASH } from "ethers";
import { MNEMONIC, sleep, startNode } from "./node.mjs";
import { until as untilChain } from "./chain-check.mjs";
import { startHardhat } from "./hardhat.mjs";
import { bridgeAbi, gameAbi, loadRollup, stringify } from "./rollup.mjs";
import { rpc } from "./rpc.mjs";

export const INTERVAL = 20;

export const STATUS = { IN_PROGRESS: 0, CHALLENGER_WINS: 1, DEFENDER_WINS: 2 };
export const OUTCOME = { NONE: 0, DEFENDER_WON: 1, CHALLENGER_WON: 2, REFUNDED: 3 };
export const WAIT_MS = 180_000;
export const GAME_ABI = gameAbi("BisectionGame");
export const FACTORY_ABI = bridgeAbi("DisputeGameFactory");

export { sleep };

/** The private key of the test mnemonic's account `index` (op-node's service keys are 10 to 14). */
export function mnemonicKey(index) {
  return HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0").deriveChild(index).privateKey;
}

/** chain-check's `until` with the disputes' patience: `WAIT_MS`, polling every 500 ms. */
export const until = (what, fn, limitMs = WAIT_MS, everyMs = 500) => untilChain(what, fn, limitMs, everyMs);

/** The L2 node's own output root at `block` (the truth a claim is held against). */
export async function outputAt(l2Url, block) {
  const out = await rpc(l2Url, "optimism_outputAtBlock", [`0x${block.toString(16)}`]);
  return out.outputRoot;
}

export const readGame = (r, address, functionName, args = []) => r.l1.readContract({ address, abi: GAME_ABI, functionName, args });

/**
 * Every game the factory created, with its claim judged against the L2 node: `bad` when the claimed
 * root is not the node's output root at the claimed block; `lieOfNext` when it is the next block's.
 */
export async function games(r, l2Url) {
  const factory = r.addresses.DisputeGameFactory;
  const count = await r.l1.readContract({ address: factory, abi: FACTORY_ABI, functionName: "gameCount" });
  const out = [];
  for (let index = 0n; index < count; index++) {
    const [, , address] = await r.l1.readContract({ address: factory, abi: FACTORY_ABI, functionName: "gameAtIndex", args: [index] });
    const [status, rootClaim, l2Block, creator, createdAt, resolvedAt, challengeCount] = await Promise.all(
      ["status", "rootClaim", "l2BlockNumber", "gameCreator", "createdAt", "resolvedAt", "challengeCount"].map((f) => readGame(r, address, f)),
    );
    const truth = await outputAt(l2Url, l2Block);
    const bad = rootClaim !== truth;
    const lieOfNext = bad && rootClaim === (await outputAt(l2Url, l2Block + 1n));
    out.push({ index, address, status, rootClaim, l2Block, creator, createdAt, resolvedAt, challengeCount, bad, lieOfNext });
  }
  return out;
}

export async function challenges(r, game) {
  const n = await readGame(r, game.address, "challengeCount");
  const out = [];
  for (let id = 0n; id < n; id++) out.push(await readGame(r, game.address, "getChallenge", [id]));
  return out;
}

/**
 * Moves and L1 gas of each side in `game`'s dispute, from the L1 transactions themselves: every
 * transaction to the game (challenge, defend, answer, resolveChallenge, resolve, claimCredit) from
 * its creation to `toBlock`, plus the factory's `create` of it, grouped by sender.
 */
export async function disputeFigures(r, game, toBlock) {
  const created = await r.l1.getContractEvents({
    address: r.addresses.DisputeGameFactory,
    abi: FACTORY_ABI,
    eventName: "DisputeGameCreated",
    args: { disputeProxy: game.address },
    fromBlock: 0n,
    toBlock,
  });
  assert.equal(created.length, 1, `one DisputeGameCreated for ${game.address}`);
  const from = created[0].blockNumber;
  const sides = new Map();
  const reverted = [];
  const add = async (tx) => {
    const receipt = await r.l1.getTransactionReceipt({ hash: tx.hash });
    const who = tx.from.toLowerCase();
    if (receipt.status !== "success") reverted.push({ from: who, hash: tx.hash });
    const side = sides.get(who) ?? { moves: [], gas: 0n, gasOf: [] };
    side.moves.push(tx.hash === created[0].transactionHash ? "create" : tx.input.slice(0, 10));
    side.gas += receipt.gasUsed;
    side.gasOf.push(receipt.gasUsed);
    sides.set(who, side);
  };
  for (let n = from; n <= toBlock; n++) {
    const block = await r.l1.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.hash === created[0].transactionHash || tx.to?.toLowerCase() === game.address.toLowerCase()) await add(tx);
    }
  }
  return { fromBlock: from, sides, reverted };
}

/** Names the 4-byte selectors of the game's functions. */
export function selectorNames() {
  const map = new Map();
  for (const item of GAME_ABI) if (item.type === "function") map.set(toFunctionSelector(item), item.name);
  return map;
}

export function summarize(sides, names, creator, challenger) {
  const describe = (who) => {
    const side = sides.get(who.toLowerCase()) ?? { moves: [], gas: 0n, gasOf: [] };
    const counts = {};
    const gasBy = {};
    side.moves.forEach((m, i) => {
      const name = names.get(m) ?? m;
      counts[name] = (counts[name] ?? 0) + 1;
      gasBy[name] = (gasBy[name] ?? 0n) + side.gasOf[i];
    });
    return { moves: side.moves.length, gas: side.gas, counts, gasBy };
  };
  return { defender: describe(creator), challenger: describe(challenger) };
}

export const RANGE_ORACLE_ABI = gameAbi("RangeOracle");

export const longFlags = (window) => [
  "--challenge-window", String(window),
  "--clock-extension", "4",
  "--proof-maturity-delay", "6",
  "--game-finality-delay", "2",
  "--proposal-interval", String(INTERVAL),
];

// The `disagree-at-long-step` challenger (service account 14).
export const LONG_DISHONEST = HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0").deriveChild(14).address;

/**
 * A describe's devnet for a long-step fight (started before its tests, stopped after): the
 * `disagree-at-long-step` challenger, a `window` s challenge window, and hardhat as the L1 if asked;
 * `args`, more devnet flags (`--fault-challenger-long-step <kind>`). Returns the object whose `node` and `r` (the rollup's clients) are set once started.
 */
export function longStepDevnet(name, window, { hardhat = false, args = [] } = {}) {
  const d = {};
  before(async () => {
    if (hardhat) d.hardhat = await startHardhat({ name });
    const l1 = hardhat ? ["--l1-rpc", d.hardhat.url] : [];
    d.node = await startNode({ name: hardhat ? `${name}-hardhat` : name, args: [...l1, ...longFlags(window), "--fault-challenger", "--fault-challenger-answers", "disagree-at-long-step", ...args] });
    d.r = loadRollup(d.node.datadir, d.node.url);
  });
  after(async () => {
    await d.node?.stop();
    await d.hardhat?.stop();
  });
  return d;
}

/** The L1 transaction and receipt of event `e`, checked: sent by `from`, succeeded, in L1 block `upto` or before. */
export async function proposerSent(r, e, from, upto, what) {
  const [tx, receipt] = await Promise.all([r.l1.getTransaction({ hash: e.transactionHash }), r.l1.getTransactionReceipt({ hash: e.transactionHash })]);
  assert.equal(tx.from.toLowerCase(), from.toLowerCase(), what);
  assert.equal(receipt.status, "success", what);
  assert.ok(e.blockNumber <= upto, what);
  return { tx, receipt };
}

/**
 * The first challenge that ended, in any game (waiting up to `limitMs`, `what` naming the wait), with its
 * game `g`, whose claim (the honest proposer's) is checked right.
 */
export async function firstEnded(r, l2Url, what, limitMs) {
  const ended = await until(what, async () => {
    for (const g of await games(r, l2Url)) {
      for (const c of await challenges(r, g)) if (c.outcome !== OUTCOME.NONE) return { g, c };
    }
    return null;
  }, limitMs);
  assert.equal(ended.g.bad, false, "the honest proposer's claim");
  return ended;
}

/**
 * Waits (up to `resolveMs`) for game `g` to resolve DEFENDER_WINS and the proposer to claim its credit, the
 * dishonest challenger credited nothing; checks no proposer transaction reverted and the proposer opened
 * layer 2 and proved the step once. Returns the sides' moves and gas ([`summarize`]).
 */
export async function defenderWinsPaid(r, g, dishonest, resolveMs) {
  await until("the game resolved DEFENDER_WINS", async () => (await readGame(r, g.address, "status")) === STATUS.DEFENDER_WINS, resolveMs);
  await until("the proposer's credit claimed", async () => (await readGame(r, g.address, "credit", [g.creator])) === 0n, 30_000);
  assert.equal(await readGame(r, g.address, "credit", [dishonest]), 0n);
  const { sides, reverted } = await disputeFigures(r, g, await r.l1.getBlockNumber());
  assert.deepEqual(reverted.filter((x) => x.from === g.creator.toLowerCase()), [], "reverted proposer transactions");
  const s = summarize(sides, selectorNames(), g.creator, dishonest);
  assert.equal(s.defender.counts.startSteps, 1, `defender moves: ${stringify(s.defender.counts)}`);
  assert.equal(s.defender.counts.step, 1, `defender moves: ${stringify(s.defender.counts)}`);
  return s;
}

/**
 * The `disagree-at-long-step` challenger's fight against the honest proposer (a challenge window of `window`
 * s) once the L2 block `l2Block` holds the first long step: its challenge ends DEFENDER_WON by the proposer's step in layer 2 over that
 * block, after the proposer ran the step's range jobs on the game's RangeOracle (every chunk its own
 * transaction, in order, none reverted, all before the step; every job's fact complete) or, for a step in
 * long code, established its code fact (`absorbCode`, fraud-vm SPEC v0.12); the bond goes to the proposer
 * and the game resolves DEFENDER_WINS. Returns the jobs (by id, first absorbed first: the Job the chunks'
 * calldata names, its chunks' Absorbed events and L1 gas, its fact), the code facts (the CodeAbsorbed
 * event, its L1 gas, the fact read back), the step's calldata and the figures' words. With `jobs: false`,
 * a step proven in full (a start's sub-step, `--fault-challenger-long-step entries`): no job and no code
 * fact before it.
 */
export async function longStepFight(r, l2Url, dishonest, l2Block, window, { jobs: withJobs = true } = {}) {
  const { g, c } = await firstEnded(r, l2Url, "a disagree-at-long-step challenge ended", 240_000);
  assert.ok(g.l2Block >= l2Block, `a game over the long step's block ${l2Block}: ${g.l2Block}`);
  assert.equal(c.challenger.toLowerCase(), dishonest.toLowerCase(), "only the dishonest challenger challenges right claims");
  assert.equal(c.outcome, OUTCOME.DEFENDER_WON, `challenge outcome ${c.outcome}: ${stringify(c)}`);
  assert.equal(c.layer, 2, `the challenge ended in layer ${c.layer}`);
  assert.equal(c.stepBlock, l2Block, "layer 2 over the L2 block with the long step");
  assert.equal(c.disputedPos - c.agreedPos, 1n, "ended at a layer-2 leaf");
  const [opened] = await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "ChallengeOpened", args: { challenger: dishonest }, fromBlock: 0n });
  const [stepsStarted] = (await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "StepsStarted", fromBlock: 0n }))
    .filter((e) => e.args.id === opened.args.id);
  assert.ok(stepsStarted, "the StepsStarted event");
  const [end] = (await r.l1.getContractEvents({ address: g.address, abi: GAME_ABI, eventName: "ChallengeEnded", fromBlock: 0n }))
    .filter((e) => e.args.id === opened.args.id);
  const endTx = await r.l1.getTransaction({ hash: end.transactionHash });
  assert.equal(endTx.input.slice(0, 10), toFunctionSelector(GAME_ABI.find((x) => x.type === "function" && x.name === "step")), "ended by `step`");
  assert.equal(endTx.from.toLowerCase(), g.creator.toLowerCase(), "the proposer proved the step");
  const stepReceipt = await r.l1.getTransactionReceipt({ hash: end.transactionHash });
  // The step's oracle: game -> GameVerifier.steps() -> OneStepVerifier.rangeOracle().
  const gameVerifier = await readGame(r, g.address, "verifier");
  const steps = await r.l1.readContract({ address: gameVerifier, abi: gameAbi("GameVerifier"), functionName: "steps" });
  const oracle = await r.l1.readContract({ address: steps, abi: gameAbi("OneStepVerifier"), functionName: "rangeOracle" });
  // The proposer ran the jobs, chunk by chunk, before the step: every Absorbed event, by job.
  const absorbed = await r.l1.getContractEvents({ address: oracle, abi: RANGE_ORACLE_ABI, eventName: "Absorbed", fromBlock: 0n });
  const codeAbsorbed = await r.l1.getContractEvents({ address: oracle, abi: RANGE_ORACLE_ABI, eventName: "CodeAbsorbed", fromBlock: 0n });
  // [v0.14] A code fact in chunks: the scan's chunks before the last (its HASH job is among the jobs).
  const codeScanned = await r.l1.getContractEvents({ address: oracle, abi: RANGE_ORACLE_ABI, eventName: "CodeScanned", fromBlock: 0n });
  if (withJobs) assert.ok(absorbed.length + codeAbsorbed.length > 0, "the range oracle absorbed chunks or a code");
  else assert.equal(absorbed.length + codeAbsorbed.length + codeScanned.length, 0, "no range job or code fact: the step is proven in full");
  const codes = [];
  for (const e of codeAbsorbed) {
    const { tx, receipt } = await proposerSent(r, e, g.creator, end.blockNumber, "the proposer absorbed the code before the step");
    const { functionName, args } = decodeFunctionData({ abi: RANGE_ORACLE_ABI, data: tx.input });
    // absorbCode(code), or the last absorbCodeChunk(state, chunk) (the state's first word: the code's length).
    const chunked = functionName === "absorbCodeChunk";
    if (!chunked) assert.equal(keccak256(args[0]), e.args.codeHash, "absorbCode took the code of its hash");
    const fact = await r.l1.readContract({ address: oracle, abi: RANGE_ORACLE_ABI, functionName: "codeFact", args: [e.args.codeHash] });
    assert.notEqual(fact, ZERO_HASH, "the oracle holds the code fact");
    const bytes = chunked ? Number(BigInt(args[0].slice(0, 66))) : (args[0].length - 2) / 2;
    codes.push({ codeHash: e.args.codeHash, bytes, chunked, gas: receipt.gasUsed, limit: tx.gas, fact, blockNumber: e.blockNumber });
  }
  for (const e of codeScanned) {
    const { receipt } = await proposerSent(r, e, g.creator, end.blockNumber, "the proposer scanned the code before the step");
    codes.push({ scan: true, gas: receipt.gasUsed, blockNumber: e.blockNumber });
  }
  const jobs = new Map();
  for (const e of absorbed) {
    const { tx, receipt } = await proposerSent(r, e, g.creator, end.blockNumber, "the proposer ran the job before the step");
    const { args } = decodeFunctionData({ abi: RANGE_ORACLE_ABI, data: tx.input });
    const job = jobs.get(e.args.id) ?? { job: args[0], chunks: [], gas: 0n, chunkGas: [] };
    job.chunks.push(e);
    job.gas += receipt.gasUsed;
    job.chunkGas.push(receipt.gasUsed);
    jobs.set(e.args.id, job);
  }
  for (const [id, job] of jobs) {
    assert.equal(await r.l1.readContract({ address: oracle, abi: RANGE_ORACLE_ABI, functionName: "idOf", args: [job.job] }), id, "the chunks name their job");
    assert.ok(job.chunks.every((e, i) => i === 0 || e.args.done > job.chunks[i - 1].args.done), "chunks in order");
    assert.equal(job.chunks.at(-1).args.done, job.job.len, "the job's bytes absorbed");
    assert.equal(job.chunks.at(-1).args.complete, true);
    const [complete, hash, dstResult] = await r.l1.readContract({ address: oracle, abi: RANGE_ORACLE_ABI, functionName: "fact", args: [id] });
    assert.equal(complete, true, "the fact is complete");
    job.fact = { hash, dstResult };
  }
  // No reverted transaction of the proposer to the oracle (a chunk that failed is one).
  const firstJobBlock = [...absorbed, ...codeAbsorbed, ...codeScanned].map((e) => e.blockNumber).reduce((a, b) => (a < b ? a : b), end.blockNumber);
  let chunkTxs = 0;
  for (let n = firstJobBlock; n <= end.blockNumber; n++) {
    const block = await r.l1.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions.filter((x) => x.to?.toLowerCase() === oracle.toLowerCase())) {
      assert.equal((await r.l1.getTransactionReceipt({ hash: tx.hash })).status, "success", `absorb ${tx.hash} reverted`);
      chunkTxs++;
    }
  }
  assert.equal(chunkTxs, absorbed.length + codes.length, "every transaction to the oracle absorbed a chunk or a code");
  // The dishonest challenger's bond is lost: credited to the proposer at the step.
  const challengeBond = await readGame(r, g.address, "challengeBond");
  const creditAt = (who, blockNumber) => r.l1.readContract({ address: g.address, abi: GAME_ABI, functionName: "credit", args: [who], blockNumber });
  assert.equal((await creditAt(g.creator, end.blockNumber)) - (await creditAt(g.creator, end.blockNumber - 1n)), challengeBond, "the proposer is credited the challenge bond");
  assert.equal(await creditAt(dishonest, end.blockNumber), 0n);
  // The game resolves once its window has passed since its creation.
  const s = await defenderWinsPaid(r, g, dishonest, Math.max(120, window + 60) * 1000);
  // The defender's clock at the step: what the game charged it, and what was left.
  const ts = async (n) => (await r.l1.getBlock({ blockNumber: n })).timestamp;
  const [openedAt, jobAt, endedAt] = await Promise.all([opened.blockNumber, firstJobBlock, end.blockNumber].map(ts));
  const after = await readGame(r, g.address, "getChallenge", [opened.args.id]);
  const jobGas = [...jobs.values(), ...codes].reduce((sum, j) => sum + j.gas, 0n);
  // Each job's and code fact's figures, for the line.
  const parts = [
    ...[...jobs.values()].map((j) => `flags ${j.job.flags}: ${j.chunks.length} chunks ${j.gas} gas, largest ${j.chunkGas.reduce((a, b) => (a > b ? a : b))}`),
    ...codes.filter((c) => !c.scan).map((c) => `${c.chunked ? "code fact in chunks" : "absorbCode"} of ${c.bytes} bytes: last ${c.gas} gas (limit ${c.limit})`),
    ...(codeScanned.length ? [`${codeScanned.length} code scan chunks before the last, largest ${codes.filter((c) => c.scan).map((c) => c.gas).reduce((a, b) => (a > b ? a : b))} gas`] : []),
  ];
  /** The figures' line for `what` (the long step). */
  const line = (what) => `${what} in L2 block ${l2Block} (N = ${stepsStarted.args.stepCount}, the step at ${c.agreedPos}) in the game at ${g.l2Block}: ` +
    `range jobs ${jobs.size}, ${absorbed.length} chunk transactions, code facts ${codes.filter((c) => !c.scan).length}, ${jobGas} gas${parts.length ? ` (${parts.join("; ")})` : ""}, ` +
    `step ${stepReceipt.gasUsed} gas, startSteps ${s.defender.gasBy.startSteps} gas; ` +
    `defender ${s.defender.moves} game transactions ${stringify(s.defender.counts)}, ${s.defender.moves + absorbed.length + codes.length} L1 transactions and ${s.defender.gas + jobGas} gas with the jobs'; ` +
    `dishonest challenger ${s.challenger.moves} transactions, ${s.challenger.gas} gas; ` +
    `${withJobs ? `jobs to step ${endedAt - jobAt} s, ` : ""}challenge to DEFENDER_WON ${endedAt - openedAt} s of L1 time (defender's clock left ${after.defenderClock} s of ${window})`;
  return { jobs: [...jobs.values()], codes, stepGas: stepReceipt.gasUsed, stepInput: endTx.input, line };
}
