// Disk full and a read-only data directory (issue 9, "Storage and crashes"): a clear error and a
// clean stop (a non-zero exit, no panic), never a corrupt database.
//
// A devnet runs for a while under transfers and stops; its blocks (hash per height) are recorded.
//   - read-only data directory: the whole directory on a read-only mount (as root: a tmpfs copy
//     remounted read-only, since root ignores file modes; otherwise chmod -R a-w);
//   - read-only database file: the L2's chain.redb alone read-only (as root: a read-only bind mount
//     of the file; otherwise chmod a-w);
//   - disk full: a devnet started on a 3 MiB tmpfs under transfers until the disk fills (needs root
//     and `mount -t tmpfs`; skipped with a message otherwise).
// Each time: the node exits non-zero with an error naming the cause on stderr and no panic, and a
// writable copy of the data directory restarts and holds every block reported before, same hashes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { computeAddress, parseUnits, SigningKey } from "ethers";
import { OP_NODE_BIN, exited, sleep, startNode, testKeys, waitExit } from "../lib/node.mjs";
import { RpcError, rpc } from "../lib/rpc.mjs";
import { assertLinked, headers, headOf, hexNum } from "../lib/chain-check.mjs";
import { sendRawBatch, signTx } from "../lib/txs.mjs";

const EXIT_LIMIT_MS = 30_000;
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
const isRoot = process.getuid?.() === 0;
const mounts = []; // unmounted in after(), last first
const temps = [];
const procs = new Set();

function tempDir(label) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `op-node-${label}-`));
  temps.push(d);
  return d;
}

function mount(args) {
  execFileSync("mount", args, { stdio: "pipe" });
}

/** Whether this process can mount a tmpfs (root with CAP_SYS_ADMIN, as in a container CI runner). */
const canMount = (() => {
  if (!isRoot) return false;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), "op-node-mount-probe-"));
  try {
    mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]);
    execFileSync("umount", [probe]);
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
})();

/** A tmpfs of `size` at a fresh directory; unmounted in after(). */
function tmpfs(size, label) {
  const dir = tempDir(label);
  mount(["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

/** Runs `op-node devnet` on `datadir` until it exits (at most EXIT_LIMIT_MS); returns its output. */
async function runToExit(datadir) {
  const argv = ["devnet", "--datadir", datadir, "--rpc-addr", "127.0.0.1", "--rpc-port", "0", "--l1-rpc-port", "0", "--no-web", "--block-time", "100ms", "--chain-id", "901"];
  const proc = spawn(OP_NODE_BIN, argv, { stdio: ["ignore", "pipe", "pipe"], env: { RUST_LOG: "info", ...process.env, RUST_BACKTRACE: "1" } });
  procs.add(proc);
  let stderr = "";
  let stdout = "";
  proc.stderr.on("data", (d) => (stderr += d));
  proc.stdout.on("data", (d) => (stdout += d));
  const ended = await waitExit(proc, EXIT_LIMIT_MS);
  if (!ended) {
    proc.kill("SIGKILL");
    await waitExit(proc, 10_000);
  }
  procs.delete(proc);
  return { hung: !ended, code: proc.exitCode, signal: proc.signalCode, stderr: stripAnsi(stderr), stdout: stripAnsi(stdout) };
}

function assertCleanFailure(run, cause, what) {
  const tail = run.stderr.split("\n").slice(-8).join("\n");
  assert.ok(!run.hung, `${what}: still running after ${EXIT_LIMIT_MS / 1000} s; stderr tail:\n${tail}`);
  assert.equal(run.signal, null, `${what}: killed by ${run.signal}; stderr tail:\n${tail}`);
  assert.notEqual(run.code, 0, `${what}: exit code 0; stderr tail:\n${tail}`);
  assert.doesNotMatch(run.stderr, /panicked at|stack backtrace/, `${what}: a panic; stderr tail:\n${tail}`);
  assert.match(run.stderr, cause, `${what}: stderr does not name the cause; tail:\n${tail}`);
}

/** A writable copy of `dir` restarts and serves every block of `recorded` (number -> hash) unchanged. */
async function assertIntact(dir, recorded, what) {
  const copy = tempDir("intact");
  fs.cpSync(dir, copy, { recursive: true });
  execFileSync("chmod", ["-R", "u+w", copy]);
  const node = await startNode({ name: `datadir-${what.replace(/\W+/g, "-")}`, datadir: copy, args: ["--no-web"] });
  try {
    const hs = await assertLinked(node.url, what);
    for (const [n, hash] of recorded) assert.equal(hs[n]?.hash, hash, `${what}: block ${n} is ${hs[n]?.hash}, was ${hash}`);
    return hs.length - 1;
  } finally {
    await node.stop();
  }
}

/** Transfers from test account 0 in batches, to fresh addresses (so the state grows), until control.stop. */
async function transfers(url, control, per = 40) {
  const k = { key: new SigningKey(testKeys()[0]), address: computeAddress(testKeys()[0]) };
  let nonce = Number(BigInt(await rpc(url, "eth_getTransactionCount", [k.address, "pending"])));
  let i = 0;
  while (!control.stop) {
    const raws = [];
    for (let j = 0; j < per; j++, i++) raws.push(signTx(k, { nonce: nonce++, to: `0x${(0xd15c0000 + i).toString(16).padStart(40, "0")}`, value: 1n, maxFeePerGas: parseUnits("5", "gwei"), maxPriorityFeePerGas: 1_000_000n }).raw);
    try {
      const answers = await sendRawBatch(url, raws);
      if (answers.some((a) => a.error)) nonce = Number(BigInt(await rpc(url, "eth_getTransactionCount", [k.address, "pending"])));
    } catch {
      return;
    }
    await sleep(100);
  }
}

let source; // a data directory with a chain in it, the node stopped
const recorded = new Map();

before(async () => {
  const node = await startNode({ name: "datadir-source", args: ["--no-web"] });
  const control = { stop: false };
  const load = transfers(node.url, control, 10);
  while ((await headOf(node.url)) < 40) await sleep(200);
  control.stop = true;
  await load;
  for (const h of await headers(node.url, 0, await headOf(node.url))) recorded.set(Number(BigInt(h.number)), h.hash);
  await node.terminate();
  source = node.datadir;
  temps.push(source);
});

after(async () => {
  for (const p of procs) p.kill("SIGKILL");
  for (const dir of mounts.reverse()) {
    try {
      execFileSync("umount", ["-l", dir]);
    } catch {}
  }
  if (!process.env.KEEP_DATADIR) for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

const RO_CAUSE = /read-only file system|permission denied/i;

describe("read-only data directory", () => {
  test("the whole data directory read-only: a clear error, a non-zero exit, the database intact", { timeout: 120_000 }, async (t) => {
    let dir;
    if (canMount) {
      const mnt = tmpfs("64m", "ro-mount");
      dir = path.join(mnt, "data");
      fs.cpSync(source, dir, { recursive: true });
      mount(["-o", "remount,ro", mnt]);
    } else if (!isRoot) {
      dir = tempDir("ro-chmod");
      fs.cpSync(source, dir, { recursive: true });
      execFileSync("chmod", ["-R", "a-w", dir]);
    } else {
      t.skip("root without mount: file modes do not stop root, and no read-only mount can be made");
      return;
    }
    const run = await runToExit(dir);
    t.diagnostic(`exit code ${run.code}; last stderr line: ${run.stderr.trim().split("\n").at(-1)}`);
    assertCleanFailure(run, RO_CAUSE, "read-only data directory");
    const head = await assertIntact(dir, recorded, "after the read-only start");
    t.diagnostic(`a writable copy restarts with all ${recorded.size} recorded blocks (head ${head})`);
  });

  test("the L2 database file alone read-only: a clear error, a non-zero exit, the database intact", { timeout: 120_000 }, async (t) => {
    const dir = tempDir("ro-file");
    fs.cpSync(source, dir, { recursive: true });
    const file = path.join(dir, "l2", "chain.redb");
    if (canMount) {
      mount(["--bind", file, file]);
      mounts.push(file);
      mount(["-o", "remount,ro,bind", file]);
    } else if (!isRoot) {
      fs.chmodSync(file, 0o444);
    } else {
      t.skip("root without mount: file modes do not stop root");
      return;
    }
    const before = fs.readFileSync(file);
    const run = await runToExit(dir);
    t.diagnostic(`exit code ${run.code}; last stderr line: ${run.stderr.trim().split("\n").at(-1)}`);
    assertCleanFailure(run, RO_CAUSE, "read-only chain.redb");
    assert.ok(fs.readFileSync(file).equals(before), "the read-only file is unchanged");
    await assertIntact(dir, recorded, "after the read-only database file");
  });

  // The message today: "error: opening the database: database: I/O error: Read-only file system
  // (os error 30)": it names the cause but not which of the two databases (l1/ or l2/chain.redb).
  test("the error names the file it could not open", async (t) => {
    const dir = tempDir("ro-name");
    fs.cpSync(source, dir, { recursive: true });
    const file = path.join(dir, "l2", "chain.redb");
    if (canMount) {
      mount(["--bind", file, file]);
      mounts.push(file);
      mount(["-o", "remount,ro,bind", file]);
    } else if (!isRoot) {
      fs.chmodSync(file, 0o444);
    } else {
      t.skip("root without mount");
      return;
    }
    const run = await runToExit(dir);
    assert.ok(run.stderr.includes(file), `stderr does not name ${file}: ${run.stderr.trim().split("\n").at(-1)}`);
  });
});

describe("disk full", () => {
  test("the disk fills while the node runs: it stops with a clear error, and every block it reported is intact", { timeout: 180_000 }, async (t) => {
    if (!canMount) {
      t.skip("needs root and `mount -t tmpfs` to make a small disk; not available here");
      return;
    }
    const mnt = tmpfs("3m", "full");
    const dir = path.join(mnt, "data");
    const node = await startNode({ name: "datadir-full", datadir: dir, args: ["--no-web"] });
    const reported = new Map();
    const control = { stop: false };
    const load = transfers(node.url, control);
    let seen = -1;
    let lastNew = Date.now();
    const started = Date.now();
    // Follow the chain until the node exits, or stops sealing for 20 s.
    while (!exited(node.proc) && Date.now() - lastNew < 20_000 && Date.now() - started < 120_000) {
      try {
        const head = await headOf(node.url);
        for (let n = seen + 1; n <= head; n++) {
          const b = await rpc(node.url, "eth_getBlockByNumber", [hexNum(n), false]);
          reported.set(n, b.hash);
          seen = n;
          lastNew = Date.now();
        }
      } catch (e) {
        if (e instanceof RpcError && e.status === 200) t.diagnostic(`RPC error while full: ${e.error?.message}`);
      }
      await sleep(100);
    }
    control.stop = true;
    await load;
    const df = execFileSync("df", ["-k", mnt]).toString().trim().split("\n").at(-1);
    const stillRunning = !exited(node.proc);
    const log = stripAnsi(fs.readFileSync(node.logFile, "utf8"));
    const lastLines = log.trim().split("\n").slice(-6).join("\n");
    t.diagnostic(`reported ${reported.size} blocks; df: ${df}; process ${stillRunning ? "still running" : `exited code=${node.proc.exitCode} signal=${node.proc.signalCode}`}`);
    t.diagnostic(`log tail:\n${lastLines}`);
    if (stillRunning) await node.kill9();
    // Every block reported before the disk filled is in the database (checked first, whatever else failed).
    let intact;
    try {
      const head = await assertIntact(dir, reported, "after the disk filled");
      t.diagnostic(`a copy on a roomy disk restarts with all ${reported.size} reported blocks (head ${head})`);
    } catch (e) {
      intact = e;
    }
    assert.ok(reported.size > 10, "blocks were sealed before the disk filled");
    assert.ifError(intact);
    assert.ok(!stillRunning, `the node still runs 20 s after its last block, the disk full (${df})`);
    assert.notEqual(node.proc.exitCode, 0, "a non-zero exit");
    assert.equal(node.proc.signalCode, null, "exited, not killed by a signal");
    assert.doesNotMatch(log, /panicked at|stack backtrace/, "a panic");
    assert.match(log, /no space left on device|os error 28/i, "the log names the cause");
    await node.stop();
  });
});
