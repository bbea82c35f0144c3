// A hardhat node (npm `hardhat@2`, pinned in package.json) as an external L1 for op-node's
// `--l1-rpc`: `hardhat node` on a free 127.0.0.1 port with testdata/js/hardhat/hardhat.config.cjs.
//
//   const hh = await startHardhat({ name: "bridge" });
//   after(() => hh.stop());
//   hh.url / hh.proc / hh.logFile
//
// The process is started in its own process group and that group is killed when stop() is called or
// when this test process exits for any reason.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { LOG_DIR, REPO_ROOT, exited, freePort, sleep, waitExit } from "./node.mjs";

const require = createRequire(import.meta.url);
const HARDHAT_CLI = path.join(path.dirname(require.resolve("hardhat/package.json")), "internal/cli/bootstrap.js");
const CONFIG_DIR = path.join(REPO_ROOT, "testdata/js/hardhat");
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const running = new Set();
function killGroup(proc, signal) {
  try {
    process.kill(-proc.pid, signal);
  } catch {}
}
process.on("exit", () => {
  for (const proc of running) killGroup(proc, "SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    for (const proc of running) killGroup(proc, "SIGKILL");
    process.exit(130);
  });
}

let counter = 0;

/** Starts `hardhat node` and resolves once eth_chainId answers. */
export async function startHardhat({ name = "hardhat" } = {}) {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `hardhat-${name}-${process.pid}-${++counter}.log`);
  const port = await freePort();
  const argv = [HARDHAT_CLI, "--config", path.join(CONFIG_DIR, "hardhat.config.cjs"), "node", "--hostname", "127.0.0.1", "--port", String(port)];
  fs.writeFileSync(logFile, `===== ${process.execPath} ${argv.join(" ")}\n`);
  const log = fs.openSync(logFile, "a");
  const proc = spawn(process.execPath, argv, {
    cwd: CONFIG_DIR,
    stdio: ["ignore", log, log],
    detached: true,
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
  });
  fs.closeSync(log);
  running.add(proc);
  proc.on("exit", () => running.delete(proc));

  const hh = {
    url: `http://127.0.0.1:${port}`,
    proc,
    logFile,
    logTail(lines = 30) {
      try {
        return fs.readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n");
      } catch {
        return "";
      }
    },
    /** SIGTERM to the process group, SIGKILL after 10 s. Idempotent. */
    async stop() {
      if (exited(proc)) return;
      killGroup(proc, "SIGTERM");
      if (!(await waitExit(proc, STOP_TIMEOUT_MS))) {
        killGroup(proc, "SIGKILL");
        await waitExit(proc, STOP_TIMEOUT_MS);
      }
      running.delete(proc);
    },
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited(proc)) {
      throw new Error(`hardhat node exited early (code=${proc.exitCode}); log ${logFile}:\n${hh.logTail()}`);
    }
    try {
      const res = await fetch(hh.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      if ((await res.json()).result !== undefined) return hh;
    } catch {}
    await sleep(200);
  }
  await hh.stop();
  throw new Error(`hardhat node did not answer within ${READY_TIMEOUT_MS / 1000} s; log ${logFile}:\n${hh.logTail()}`);
}
