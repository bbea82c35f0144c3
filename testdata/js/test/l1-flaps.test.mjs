// The L1 RPC flaps (issue 9, "Sequencer and derivation"): the sequencer keeps producing within its
// drift bound, the batcher, L1 watcher and proposer retry with backoff, and derivation resumes
// without a gap.
//
// Devnet A provides an L1 (its embedded one; A's own batcher and proposer are kept idle with a long
// batch interval and proposal interval, because A and B use the same service accounts on that L1).
// A proxy in this process (lib/l1-proxy.mjs) stands in front of A's L1; devnet B runs with
// `--l1-rpc <proxy>`, deploys its own bridge on A's L1 through it, and a verifier of B reads A's L1
// directly (through a pass-only proxy, so it can follow A when A restarts on another port). While
// transfers stream into B, the proxy goes through drop, HTTP 500 and JSON-RPC error modes for
// FLAP_PHASE_MS (default 5 s) each, with a short healthy spell between them, and A's L1 is killed
// with SIGKILL and restarted. A second rig (fresh A, B and verifier) black-holes B's L1 requests
// (hang), since a client that never times out cannot recover from that and would mask the rest.
//
// Asserted: B's head advances throughout every phase (a block at least every 2 s, and at least a
// third of the blocks its block time allows); B's log shows the derivation L1 watcher, the batcher and
// the proposer failing with growing retry delays; a deposit made on L1 during a fault lands on L2;
// after the L1 is back B's safe head passes every block sealed during the faults and the verifier has
// B's block hash and state root at every safe height.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseUnits } from "ethers";
import { parseEther } from "viem";
import { getL2TransactionHashes } from "viem/op-stack";
import { computeAddress, SigningKey } from "ethers";
import { sleep, startNode, testKeys } from "../lib/node.mjs";
import { rpc } from "../lib/rpc.mjs";
import { startL1Proxy } from "../lib/l1-proxy.mjs";
import { loadRollup } from "../lib/rollup.mjs";
import { assertSameChain, headOf, safeOf, until } from "../lib/chain-check.mjs";
import { sendRawBatch, signTx } from "../lib/txs.mjs";

const PHASE_MS = Number(process.env.FLAP_PHASE_MS ?? 5000);
const HEALTHY_MS = 2000;
const RECOVER_MS = 60_000; // the batcher's longest backoff (32 s) with room
const BLOCK_MS = 200;
const MAX_GAP_MS = 2000; // longest time without a new L2 head during a fault
const DRIFT_S = 120;

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Parsed WARN lines of a node's log: {at (ms), target, text}. */
function warnLines(node) {
  return logLines(node).filter((l) => l.level === "WARN");
}

/** Parsed lines of a node's log: {at (ms), level, target, text}. */
function logLines(node) {
  // A field may hold a newline (an HTTP error body): continuation lines belong to the line before.
  const out = [];
  let last = null;
  for (const line of stripAnsi(fs.readFileSync(node.logFile, "utf8")).split("\n")) {
    const m = line.match(/^(\d{4}-\d\d-\d\dT\S+Z)\s+(\w+)\s+(\S+?):\s+(.*)$/);
    if (m) {
      last = { at: Date.parse(m[1]), level: m[2], target: m[3], text: m[4] };
      out.push(last);
    } else if (last && !line.startsWith("=====")) {
      last.text += ` ${line}`;
    }
  }
  return out;
}

/** B's L2 head sampled every 100 ms: [{at, head}]. */
function sampleHeads(url, control) {
  const samples = [];
  const done = (async () => {
    while (!control.stop) {
      try {
        samples.push({ at: Date.now(), head: await headOf(url) });
      } catch (e) {
        samples.push({ at: Date.now(), error: e.message });
      }
      await sleep(100);
    }
  })();
  return { samples, done };
}

/** Transfers into B from test account 0, a batch every 250 ms, until control.stop. */
function traffic(url, control) {
  const k = { key: new SigningKey(testKeys()[0]), address: computeAddress(testKeys()[0]) };
  const stats = { sent: 0, refused: [] };
  const done = (async () => {
    let nonce = Number(BigInt(await rpc(url, "eth_getTransactionCount", [k.address, "pending"])));
    const fee = parseUnits("5", "gwei");
    while (!control.stop) {
      const raws = [];
      for (let i = 0; i < 5; i++) {
        raws.push(signTx(k, { nonce: nonce++, to: `0x${(0xf1a90000 + (nonce % 200)).toString(16).padStart(40, "0")}`, value: 1n, maxFeePerGas: fee, maxPriorityFeePerGas: 1_000_000n }).raw);
      }
      for (const a of await sendRawBatch(url, raws)) {
        if (a.error) stats.refused.push(a.error.message);
        else stats.sent += 1;
      }
      await sleep(250);
    }
  })();
  return { stats, done };
}

/** Heads sampled within [from, to]: the longest time without a new head and the blocks gained. */
function progress(samples, from, to) {
  const inside = samples.filter((s) => s.at >= from && s.at <= to && s.head !== undefined);
  if (inside.length < 2) return { gained: 0, maxGapMs: to - from, errors: samples.filter((s) => s.at >= from && s.at <= to && s.error).length };
  let maxGapMs = 0;
  let lastChange = from;
  for (let i = 1; i < inside.length; i++) {
    if (inside[i].head > inside[i - 1].head) {
      maxGapMs = Math.max(maxGapMs, inside[i].at - lastChange);
      lastChange = inside[i].at;
    }
  }
  maxGapMs = Math.max(maxGapMs, to - lastChange);
  return { gained: inside.at(-1).head - inside[0].head, maxGapMs, errors: samples.filter((s) => s.at >= from && s.at <= to && s.error).length };
}

/** A rollup view of B whose L1 client talks to A's L1 directly (not through the proxy). */
function rollupDirect(b, l1Url) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l1-flaps-addresses-"));
  const addresses = JSON.parse(fs.readFileSync(path.join(b.datadir, "addresses.json"), "utf8"));
  fs.writeFileSync(path.join(dir, "addresses.json"), JSON.stringify({ ...addresses, l1RpcUrl: l1Url }));
  return loadRollup(dir, b.url);
}

const l1UrlOf = (node) => JSON.parse(fs.readFileSync(path.join(node.datadir, "addresses.json"), "utf8")).l1RpcUrl;

const logText = (node) => stripAnsi(fs.readFileSync(node.logFile, "utf8"));

/** A (the L1), the faulty proxy, B behind it, B's verifier, B's head sampler and traffic. */
async function startRig(name) {
  const rig = { control: { stop: false }, phases: [] };
  rig.a = await startNode({ name: `${name}-l1`, args: ["--no-web", "--batch-interval", "100000s", "--proposal-interval", "100000000", "--seq-window", "100000"] });
  rig.proxy = await startL1Proxy(l1UrlOf(rig.a));
  rig.direct = await startL1Proxy(l1UrlOf(rig.a));
  rig.b = await startNode({
    name: `${name}-l2`,
    blockTime: `${BLOCK_MS}ms`,
    args: ["--no-web", "--l1-rpc", rig.proxy.url, "--proposal-interval", "10", "--max-sequencer-drift", String(DRIFT_S), "--batch-interval", "1s"],
  });
  rig.v = await startNode({ name: `${name}-verifier`, kind: "verifier", args: ["--l1-rpc", rig.direct.url, "--rollup-config", path.join(rig.b.datadir, "rollup.json")] });
  rig.r = rollupDirect(rig.b, rig.direct.url);
  rig.heads = sampleHeads(rig.b.url, rig.control);
  rig.load = traffic(rig.b.url, rig.control);
  // Healthy first: B's blocks become safe and a proposal exists, so each service has work to fail at.
  await until(`${name}: B's first safe blocks`, async () => (await safeOf(rig.b.url)) >= 20, 90_000, 500);
  rig.safeBefore = await safeOf(rig.b.url);

  /** Puts the proxy in `mode` for `ms`, then back to pass; records the phase (from `since`, when
   * the caller put the proxy in `mode` earlier). */
  rig.phase = async (mode, ms = PHASE_MS, since = undefined) => {
    rig.proxy.setMode(mode);
    const from = since ?? Date.now();
    await sleep(ms);
    const to = Date.now();
    rig.proxy.setMode("pass");
    const p = { mode, from, to };
    rig.phases.push(p);
    return p;
  };
  rig.stop = async () => {
    rig.control.stop = true;
    await Promise.allSettled([rig.heads?.done, rig.load?.done]);
    await rig.v?.stop();
    await rig.b?.stop();
    await rig.a?.stop();
    await rig.proxy?.close();
    await rig.direct?.close();
  };
  return rig;
}

function assertSealedThroughout(t, rig, p) {
  const { gained, maxGapMs, errors } = progress(rig.heads.samples, p.from, p.to);
  const expected = (p.to - p.from) / BLOCK_MS;
  t.diagnostic(`${p.mode}: ${gained} blocks in ${p.to - p.from} ms (block time allows ${expected.toFixed(0)}), longest wait ${maxGapMs} ms, L2 RPC errors ${errors}`);
  assert.equal(errors, 0, `${p.mode}: B's L2 RPC failed while the L1 was faulty`);
  assert.ok(maxGapMs <= MAX_GAP_MS, `${p.mode}: no new L2 head for ${maxGapMs} ms`);
  assert.ok(gained >= expected / 3, `${p.mode}: only ${gained} blocks sealed in ${p.to - p.from} ms`);
}

/** What B's batcher left on A's L1: its nonces and A's L1 pool (evidence when batches stop landing). */
async function batcherOnL1(rig) {
  const l1 = l1UrlOf(rig.a);
  const batcher = JSON.parse(fs.readFileSync(path.join(rig.b.datadir, "rollup.json"), "utf8")).batcher_address;
  const [latest, pending, pool] = await Promise.all([
    rpc(l1, "eth_getTransactionCount", [batcher, "latest"]),
    rpc(l1, "eth_getTransactionCount", [batcher, "pending"]),
    rpc(l1, "txpool_status"),
  ]);
  return `batcher ${batcher} on L1: nonce latest ${Number(BigInt(latest))}, pending ${Number(BigInt(pending))}; L1 txpool ${JSON.stringify(pool)}`;
}

/** B's safe head passes everything sealed so far and the verifier has B's chain up to it. */
async function assertDerivationResumed(t, rig, what) {
  const headAfter = await headOf(rig.b.url);
  try {
    await until(`${what}: B's safe head past ${headAfter} (it was ${await safeOf(rig.b.url)})`, async () => (await safeOf(rig.b.url)) >= headAfter, RECOVER_MS, 500);
  } catch (e) {
    const st = await rpc(rig.b.url, "optimism_syncStatus");
    const l1Head = Number(BigInt(await rpc(l1UrlOf(rig.a), "eth_blockNumber")));
    t.diagnostic(`${what}: safe head ${await safeOf(rig.b.url)}, head ${await headOf(rig.b.url)}; B's L1 view: head_l1 ${st.head_l1?.number}, current_l1 ${st.current_l1?.number}; the L1 is at ${l1Head}; ${await batcherOnL1(rig)}`);
    const tail = logText(rig.b).split("\n").filter((l) => /WARN (batcher|proposer)/.test(l)).slice(-3);
    for (const l of tail) t.diagnostic(`B: ${l.slice(0, 300)}`);
    throw e;
  }
  const target = await safeOf(rig.b.url);
  await until(`${what}: the verifier at ${target}`, async () => (await safeOf(rig.v.url)) >= target, RECOVER_MS, 500);
  const txs = await assertSameChain(rig.b.url, rig.v.url, target, what);
  t.diagnostic(`${what}: safe ${rig.safeBefore} -> ${target}, verifier equal at every height (${txs} transactions)`);
}

describe("the L1 RPC drops connections, answers HTTP 500 and JSON-RPC errors, restarts", () => {
  let rig;
  let deposit;
  before(async () => {
    rig = await startRig("flaps");
    for (const mode of ["drop", "http500", "rpc-error"]) {
      let since;
      if (mode === "http500") {
        // A deposit sent to A's L1 directly while B cannot read the L1; the phase counts from here.
        since = Date.now();
        rig.proxy.setMode(mode);
        const w = rig.r.wallet(5);
        const args = await rig.r.l2.buildDepositTransaction({ account: w.account, mint: parseEther("0.125"), to: w.address });
        const hash = await w.l1.depositTransaction(args);
        const receipt = await rig.r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
        deposit = { receipt, l2Hash: getL2TransactionHashes(receipt)[0] };
      }
      const p = await rig.phase(mode, PHASE_MS, since);
      await sleep(HEALTHY_MS);
      // Healthy until the L1 watcher has read the L1 again, so each phase starts from a fresh backoff.
      await until(`the L1 watcher back after ${mode}`, () => logLines(rig.b).some((l) => l.at > p.to && /L1 RPC reachable again/.test(l.text)), 30_000, 250);
    }
    // The L1 node itself dies and comes back (on another port; both proxies follow it).
    const from = Date.now();
    await rig.a.kill9();
    await sleep(PHASE_MS / 2);
    await rig.a.restart();
    rig.proxy.setTarget(l1UrlOf(rig.a));
    rig.direct.setTarget(l1UrlOf(rig.a));
    rig.phases.push({ mode: "L1 killed and restarted", from, to: Date.now() });
  });
  after(async () => {
    await rig?.stop();
  });

  test("B seals blocks at its block time throughout every fault (each shorter than its 120 s drift bound)", (t) => {
    for (const p of rig.phases) assertSealedThroughout(t, rig, p);
    for (const mode of ["drop", "http500", "rpc-error"]) assert.ok(rig.proxy.stats.requests[mode] > 0, `B made requests during ${mode}`);
    assert.ok(rig.proxy.stats.upstreamErrors > 0, "B's requests failed while the L1 was down");
    assert.deepEqual(rig.load.stats.refused, [], "B refused none of the transfers");
  });

  test("the L1 watcher and the batcher log each failure and back off; recovery is logged", (t) => {
    const warns = warnLines(rig.b);
    for (const p of rig.phases) {
      const inPhase = warns.filter((w) => w.at >= p.from - 200 && w.at <= p.to + 1000);
      const watcher = inPhase.filter((w) => w.target === "derivation" && /L1 RPC failed/.test(w.text));
      const batcher = inPhase.filter((w) => w.target === "batcher" && /posting blocks failed/.test(w.text));
      t.diagnostic(`${p.mode}: L1 watcher ${watcher.length} warn lines (retry_in_ms ${watcher.map((w) => w.text.match(/retry_in_ms=(\d+)/)?.[1]).join(",")}), batcher ${batcher.length}; first: ${watcher[0]?.text.slice(0, 140)}`);
      assert.ok(watcher.length >= 2, `${p.mode}: the L1 watcher logged ${watcher.length} failures`);
      const delays = watcher.map((w) => Number(w.text.match(/retry_in_ms=(\d+)/)?.[1]));
      assert.ok(delays.every(Number.isFinite) && Math.max(...delays) > delays[0], `${p.mode}: L1 watcher retry delays ${delays.join(", ")} ms do not grow`);
      assert.ok(batcher.length >= 1, `${p.mode}: the batcher logged no failed post`);
      const batcherDelays = batcher.map((w) => Number(w.text.match(/retry_in_ms=(\d+)/)?.[1]));
      assert.ok(batcherDelays.every(Number.isFinite), `${p.mode}: batcher warn lines without retry_in_ms`);
    }
    assert.match(logText(rig.b), /L1 RPC reachable again/);
  });

  // The proposer's rounds (defend its games, then propose) share one backoff: each round the L1
  // fails doubles the delay from 500 ms up to 2 s, a round the L1 answers resets it (proposer.rs). A round
  // can log two lines (the defence and the proposal), within a few ms of each other.
  test("the proposer logs each failure and backs off", (t) => {
    const warns = warnLines(rig.b);
    for (const p of rig.phases) {
      const lines = warns.filter((w) => w.at >= p.from - 200 && w.at <= p.to + 1000 && w.target === "proposer" && /retrying/.test(w.text));
      const gaps = lines.slice(1).map((w, i) => w.at - lines[i].at);
      const rounds = 1 + gaps.filter((g) => g > 100).length;
      const delays = lines.map((w) => Number(w.text.match(/retry_in_ms=(\d+)/)?.[1]));
      t.diagnostic(`${p.mode}: proposer ${lines.length} warn lines in ${rounds} rounds in ${p.to - p.from} ms, gaps ${gaps.join(",")} ms, retry_in_ms ${delays.join(",")}; first: ${lines[0]?.text.slice(0, 140)}`);
      assert.ok(lines.length >= 1, `${p.mode}: the proposer logged no failure`);
      assert.ok(delays.every(Number.isFinite), `${p.mode}: proposer warn lines without retry_in_ms`);
      // The rounds the backoff allows in the window: the first failing one, then after 1 s, then
      // every 2 s (proposer.rs); one more for a round the window catches at its edge.
      const windowMs = p.to - p.from + 1200;
      let allowed = 1;
      for (let at = 0, d = 1000; at + d <= windowMs; at += d, d = 2000) allowed += 1;
      assert.ok(rounds <= allowed + 1, `${p.mode}: the proposer retried ${rounds} times in ${p.to - p.from} ms (at most ${allowed + 1})`);
    }
  });

  test("a deposit made on L1 while B could not read it lands on B's L2", async () => {
    const landed = await until("the deposit made during the HTTP 500 phase on L2", () => rpc(rig.b.url, "eth_getTransactionReceipt", [deposit.l2Hash]), 60_000, 250);
    assert.equal(landed.status, "0x1");
  });

  test("the verifier, reading the L1 directly, has B's block hash and state root at every height B calls safe", { timeout: 120_000 }, async (t) => {
    const target = await safeOf(rig.b.url);
    await until(`the verifier at ${target}`, async () => (await safeOf(rig.v.url)) >= target, RECOVER_MS, 500);
    const txs = await assertSameChain(rig.b.url, rig.v.url, target, "B's safe chain on the verifier");
    t.diagnostic(`equal up to B's safe head ${target} (${txs} transactions)`);
  });

  // Found by this test: the batcher's and proposer's alloy providers use the default nonce filler
  // (CachedNonceManager), which advances its cached nonce even when eth_sendRawTransaction fails.
  // After one failed post every later batcher transaction carries a nonce gap, waits in the L1 pool
  // forever (then "too many queued transactions from sender"), and the safe head stops for good.
  test("after the faults B's safe head passes every block sealed meanwhile, and the verifier has B's chain at every safe height", { timeout: 240_000 }, async (t) => {
    await assertDerivationResumed(t, rig, "after drops, 500s, JSON-RPC errors and an L1 restart");
    // The proposer goes on proposing after the faults.
    const last = rig.phases.at(-1).to;
    await until("a proposal after the faults", async () => logText(rig.b).split("\n").some((l) => /proposer: proposed/.test(l) && Date.parse(l.split(/\s+/)[0]) > last), 60_000, 500);
  });
});

describe("the L1 RPC black-holes requests (hang)", () => {
  let rig;
  let p;
  before(async () => {
    rig = await startRig("hang");
    p = await rig.phase("hang", PHASE_MS + 2000);
  });
  after(async () => {
    await rig?.stop();
  });

  test("B seals blocks throughout the hang", (t) => {
    assertSealedThroughout(t, rig, p);
    assert.ok(rig.proxy.heldOpen > 0, "B had requests held open");
    t.diagnostic(`requests held open (never answered; only a client timeout frees them): ${rig.proxy.heldOpen}`);
  });

  // The L1 clients (alloy over reqwest, no timeout set) wait forever for a request that is never
  // answered, so the L1 watcher, the batcher and the proposer each stop at their first hung request.
  test("the L1 clients time out hung requests; derivation resumes and the verifier has B's chain", { timeout: 240_000 }, async (t) => {
    await assertDerivationResumed(t, rig, "after the hang");
    // Nobody but B's clients closes a held connection: each one closing is a client timeout.
    await until("B abandoning every held request", async () => rig.proxy.heldOpen === 0, 60_000, 250);
    t.diagnostic(`held requests closed by B ${rig.proxy.stats.heldClosed.map((c) => `${((c.at - p.from) / 1000).toFixed(1)} s`).join(", ")} after the hang began`);
  });
});
