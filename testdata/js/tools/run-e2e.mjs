// Runs the end-to-end test files in lanes: each file is its own `node --test <file>` process, and up
// to `--lanes` of them run at once. Most of the suite's wall time is waiting (L1 block times, dispute
// clocks and windows, node start-up), not CPU, so two lanes on two cores roughly halve it.
//
//   node tools/run-e2e.mjs                      every test/*.test.mjs, 2 lanes (E2E_LANES overrides)
//   node tools/run-e2e.mjs --lanes 1            one file at a time, as `node --test test/` did
//   node tools/run-e2e.mjs test/crash.test.mjs  only these files
//
// Files in EXCLUSIVE run first, each alone. Measured on 5 December 2026 (the 2 cores also loaded
// 12-17 by other work): ws-slow-clients' longest block stall was 519 and 706 ms alone but 1,034 ms
// beside the dispute file, against its limit of 1,500 ms, so it runs alone; batcher-backlog sealed
// 122 blocks in 12.2 s beside the dispute file (121 alone) where 61 pass, and l1-flaps 24-35 blocks
// a phase where its block time allows 25-35 and a third pass, so they share the lanes. The others
// start longest first (WEIGHTS), so the longest one does not end up alone at the tail. Each file's
// output is printed whole when it ends (TAP, as before), then a table of every file's wall time and
// CPU time (user + system of the file's process tree: the test process, its op-node and hardhat
// children). Exit status 1 when any file failed.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const JS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// Files that run alone, and why. ws-slow-clients measures its longest block stall under 200 WebSocket
// clients against a limit (1,500 ms), which a fight beside it eats into (1,034 ms beside the dispute file).
// The dispute files share the lanes. The hardhat deposit fight that ran out of clock beside another file
// (hardhat ran the 4.6M-gas `proveReceipts` several times for its gas estimate and again when automined,
// every other request queued past op-node's 10 s timeout) is sent with a gas limit of op-node's own now
// (challenger::log_index::prove_receipts_gas) and has a 40 s window: at load 19-20 its proposer went
// from the layer-1 leaf to `startSteps` in 6 s (42 s, out of clock, before). The one 621 s file is five
// of 110-250 s, so the runner balances them with the rest.
const EXCLUSIVE = new Map([
  ["ws-slow-clients.test.mjs", "its longest block stall under 200 WebSocket clients"],
]);

// Wall seconds of each file, for the order only (two lanes, 5 December 2026; the dispute files 6
// December, at load 12-20). A file missing here (a new one) counts as long, so it starts early.
const WEIGHTS = {
  "dispute-wide.test.mjs": 250,
  "dispute-steps.test.mjs": 245,
  "dispute-long-start.test.mjs": 220,
  "dispute-long-step.test.mjs": 205,
  "dispute.test.mjs": 177,
  "dispute-deposits.test.mjs": 117,
  "bridge.test.mjs": 112,
  "verifier.test.mjs": 85,
  "l1-flaps.test.mjs": 79,
  "crash-loop.test.mjs": 77,
  "batcher-backlog.test.mjs": 76,
  "crash.test.mjs": 44,
  "ws-slow-clients.test.mjs": 36,
  "pool-spam.test.mjs": 22,
  "check-block.test.mjs": 22,
  "datadir-faults.test.mjs": 22,
  "pool-limits.test.mjs": 19,
  "deposit-once.test.mjs": 19,
  "l1-precompiles.test.mjs": 18,
  "rpc-errors.test.mjs": 13,
  "rpc-methods.test.mjs": 11,
  "uniswap.test.mjs": 9,
  "execution-witness.test.mjs": 7,
};
const UNKNOWN_WEIGHT = 300;

function parseArgs(argv) {
  let lanes = Number(process.env.E2E_LANES ?? 2);
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--lanes") lanes = Number(argv[++i]);
    else if (argv[i].startsWith("--lanes=")) lanes = Number(argv[i].slice("--lanes=".length));
    else files.push(path.resolve(argv[i]));
  }
  if (!Number.isInteger(lanes) || lanes < 1) throw new Error(`--lanes wants a positive integer, got ${lanes}`);
  if (files.length === 0) {
    const dir = path.join(JS_DIR, "test");
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith(".test.mjs")) files.push(path.join(dir, f));
  }
  for (const f of files) if (!fs.existsSync(f)) throw new Error(`no such test file: ${f}`);
  return { lanes, files };
}

const running = new Set();

/** Runs one file; resolves to {file, ok, wallS, cpuS, output, counts}. */
function runFile(file) {
  const started = Date.now();
  // bash's `times` prints the CPU time of the shell's waited-for children: the test process and,
  // through it, every process it waited for (op-node, hardhat).
  const script = 'node --test "$1"; rc=$?; times >&3; exit $rc';
  const proc = spawn("bash", ["-c", script, "bash", file], { cwd: JS_DIR, stdio: ["ignore", "pipe", "pipe", "pipe"], detached: true });
  running.add(proc);
  const out = [];
  let times = "";
  proc.stdout.on("data", (d) => out.push(d));
  proc.stderr.on("data", (d) => out.push(d));
  proc.stdio[3].on("data", (d) => (times += d));
  return new Promise((resolve) => {
    proc.on("close", (code, signal) => {
      running.delete(proc);
      const output = Buffer.concat(out).toString();
      const counts = {};
      for (const m of output.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) counts[m[1]] = Number(m[2]);
      resolve({ file, ok: code === 0, code, signal, wallS: (Date.now() - started) / 1000, cpuS: childCpuSeconds(times), output, counts });
    });
  });
}

/** The children's user + system seconds from bash's `times` (its second line: "0m51.2s 0m3.4s"). */
function childCpuSeconds(times) {
  const line = times.trim().split("\n")[1] ?? "";
  let total = 0;
  for (const m of line.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

function report(r, lane) {
  const name = path.relative(JS_DIR, r.file);
  const status = r.ok ? "ok" : `FAILED (exit ${r.code ?? r.signal})`;
  process.stdout.write(`\n==> ${name} [lane ${lane}]: ${status}, ${r.wallS.toFixed(1)} s wall, ${r.cpuS.toFixed(1)} s CPU\n${r.output}`);
}

async function main() {
  const { lanes, files } = parseArgs(process.argv.slice(2));
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(sig, () => {
      for (const proc of running) {
        try {
          process.kill(-proc.pid, "SIGTERM");
        } catch {}
      }
      process.exit(130);
    });
  }
  const weight = (f) => WEIGHTS[path.basename(f)] ?? UNKNOWN_WEIGHT;
  const alone = files.filter((f) => EXCLUSIVE.has(path.basename(f)));
  const queue = files.filter((f) => !EXCLUSIVE.has(path.basename(f))).sort((a, b) => weight(b) - weight(a));
  const started = Date.now();
  const results = [];

  for (const f of alone) {
    console.log(`# ${path.basename(f)} runs alone: ${EXCLUSIVE.get(path.basename(f))}`);
    const r = await runFile(f);
    report(r, 0);
    results.push(r);
  }
  await Promise.all(Array.from({ length: Math.min(lanes, queue.length) }, async (_, i) => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const r = await runFile(f);
      report(r, i + 1);
      results.push(r);
    }
  }));

  const wallS = (Date.now() - started) / 1000;
  const sum = (key) => results.reduce((s, r) => s + r[key], 0);
  const count = (key) => results.reduce((s, r) => s + (r.counts[key] ?? 0), 0);
  console.log(`\n==> end-to-end summary: ${files.length} files, ${lanes} lane(s)`);
  console.log("file                               result    wall s    CPU s");
  for (const r of [...results].sort((a, b) => b.wallS - a.wallS)) {
    console.log(`${path.basename(r.file).padEnd(34)} ${(r.ok ? "ok" : "FAILED").padEnd(7)} ${r.wallS.toFixed(1).padStart(8)} ${r.cpuS.toFixed(1).padStart(8)}`);
  }
  console.log(`files' wall time summed ${sum("wallS").toFixed(0)} s, CPU ${sum("cpuS").toFixed(0)} s; the run took ${wallS.toFixed(0)} s`);
  console.log(`tests ${count("tests")}, pass ${count("pass")}, fail ${count("fail")}, cancelled ${count("cancelled")}, skipped ${count("skipped")}, todo ${count("todo")}`);
  const failed = results.filter((r) => !r.ok);
  if (failed.length) {
    console.log(`FAILED: ${failed.map((r) => path.basename(r.file)).join(", ")}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
