// Test harness: starts `op-node devnet` on a free 127.0.0.1 port with a temp data directory, waits until
// its JSON-RPC answers, and makes sure every process it started is gone when the test process ends.
//
//   const node = await startNode({ name: "uniswap" });
//   after(() => node.stop());
//   node.url / node.wsUrl / node.datadir / node.proc / node.logFile
//   await node.kill9();    // SIGKILL, keeps the data directory
//   await node.restart();  // same data directory (and port when it is free again)
//
// Environment: OP_NODE_BIN (default <repo>/target/release/op-node), OP_NODE_LOG_DIR (default
// <repo>/testdata/out/e2e-logs; one log file per startNode, every restart appended), KEEP_DATADIR=1
// keeps the temp data directories for a post-mortem, OP_NODE_ARGS extra arguments for every start.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HDNodeWallet, JsonRpcProvider, Network, Wallet } from "ethers";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const OP_NODE_BIN = process.env.OP_NODE_BIN ?? path.join(REPO_ROOT, "target/release/op-node");
export const LOG_DIR = process.env.OP_NODE_LOG_DIR ?? path.join(REPO_ROOT, "testdata/out/e2e-logs");
export const CHAIN_ID = 901n;
export const MNEMONIC = "test test test test test test test test test test test junk";

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

// Every child still running; killed with SIGKILL when this process exits for any reason.
const running = new Set();
function killAllNow() {
  for (const proc of running) {
    try {
      proc.kill("SIGKILL");
    } catch {}
  }
  running.clear();
}
process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    killAllNow();
    process.exit(128 + os.constants.signals[sig]);
  });
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function exited(proc) {
  return proc.exitCode !== null || proc.signalCode !== null;
}

export function waitExit(proc, ms) {
  if (exited(proc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    proc.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

let logCounter = 0;

/**
 * Starts `op-node devnet` and resolves once eth_chainId answers 901.
 * @param {{name?: string, blockTime?: string, args?: string[], datadir?: string}} opts
 *   `datadir`: use this existing data directory instead of a fresh temp one (stop() still removes it).
 */
export async function startNode({ name = "node", blockTime = "100ms", args = [], kind = "devnet", datadir: given } = {}) {
  if (!fs.existsSync(OP_NODE_BIN)) {
    throw new Error(`op-node binary not found at ${OP_NODE_BIN}: build it (cargo build --release -p op-node) or set OP_NODE_BIN`);
  }
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const datadir = given ?? fs.mkdtempSync(path.join(os.tmpdir(), `op-node-${name}-`));
  const logFile = path.join(LOG_DIR, `${name}-${process.pid}-${++logCounter}.log`);
  fs.writeFileSync(logFile, "");
  const extra = kind === "devnet" && process.env.OP_NODE_ARGS ? process.env.OP_NODE_ARGS.split(/\s+/).filter(Boolean) : [];

  const node = {
    name,
    kind,
    datadir,
    logFile,
    port: 0,
    url: "",
    wsUrl: "",
    proc: null,
    starts: 0,

    /** The last `lines` lines of the node's log, for assertion messages. */
    logTail(lines = 40) {
      try {
        return fs.readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n");
      } catch {
        return "";
      }
    },

    /** An ethers provider for this node (re-create it after a restart: the URL may change). */
    provider() {
      return makeProvider(node.url);
    },

    /** SIGKILL, as a power cut would; the data directory stays for restart(). */
    async kill9() {
      const proc = node.proc;
      if (!proc || exited(proc)) return;
      proc.kill("SIGKILL");
      await waitExit(proc, STOP_TIMEOUT_MS);
      running.delete(proc);
    },

    /** Ends the process (SIGTERM, SIGKILL after 10 s) and keeps the data directory. */
    async terminate() {
      const proc = node.proc;
      if (!proc || exited(proc)) {
        if (proc) running.delete(proc);
        return;
      }
      proc.kill("SIGTERM");
      if (!(await waitExit(proc, STOP_TIMEOUT_MS))) {
        proc.kill("SIGKILL");
        await waitExit(proc, STOP_TIMEOUT_MS);
      }
      running.delete(proc);
    },

    /** Starts the node again on the same data directory (terminating it first if it still runs). */
    async restart() {
      await node.terminate();
      await launch(node, blockTime, [...args, ...extra], true);
      return node;
    },

    /** Ends the process and removes the data directory (unless KEEP_DATADIR is set). Idempotent. */
    async stop() {
      await node.terminate();
      if (!process.env.KEEP_DATADIR) fs.rmSync(datadir, { recursive: true, force: true });
    },
  };
  try {
    await launch(node, blockTime, [...args, ...extra], false);
  } catch (e) {
    await node.stop();
    throw e;
  }
  return node;
}

async function launch(node, blockTime, args, samePort) {
  // A fixed port can be taken between freePort() and the node's bind; on restart the old port can still
  // be busy. Either way the node exits early (or another server answers on its port) and we try
  // again on a fresh port.
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = samePort && attempt === 0 ? node.port : await freePort();
    try {
      await spawnOnce(node, port, blockTime, args);
      return;
    } catch (e) {
      lastError = e;
      if (!e.earlyExit) throw e;
    }
  }
  throw lastError;
}

async function spawnOnce(node, port, blockTime, args) {
  const common = ["--datadir", node.datadir, "--rpc-addr", "127.0.0.1", "--rpc-port", String(port)];
  const argv = node.kind === "verifier"
    ? ["verifier", ...common, ...args]
    : [
      "devnet",
      ...common,
      "--block-time", blockTime,
      "--chain-id", String(CHAIN_ID),
      // The embedded L1 on a free port, so tests never collide with a running devnet.
      "--l1-rpc-port", "0",
      ...(args.includes("--l1-block-time") ? [] : ["--l1-block-time", "1s"]),
      ...args,
    ];
  node.starts += 1;
  fs.appendFileSync(node.logFile, `\n===== start ${node.starts}: ${OP_NODE_BIN} ${argv.join(" ")}\n`);
  const log = fs.openSync(node.logFile, "a");
  const proc = spawn(OP_NODE_BIN, argv, {
    stdio: ["ignore", log, log],
    env: { RUST_LOG: "info", ...process.env, RUST_BACKTRACE: "1" },
  });
  fs.closeSync(log);
  running.add(proc);
  let spawnError = null;
  proc.on("error", (e) => {
    spawnError = e;
  });
  proc.on("exit", (code, signal) => {
    running.delete(proc);
    try {
      fs.appendFileSync(node.logFile, `===== exit: code=${code} signal=${signal}\n`);
    } catch {}
  });
  node.proc = proc;
  node.port = port;
  node.url = `http://127.0.0.1:${port}`;
  node.wsUrl = `ws://127.0.0.1:${port}`;

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`cannot start ${OP_NODE_BIN}: ${spawnError.message}`);
    if (exited(proc)) {
      const e = new Error(`op-node exited before answering (code=${proc.exitCode} signal=${proc.signalCode}); log ${node.logFile}:\n${node.logTail()}`);
      e.earlyExit = true;
      throw e;
    }
    try {
      const res = await fetch(node.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      const body = await res.json();
      if (body.result !== undefined) {
        if (BigInt(body.result) !== CHAIN_ID) {
          // Another server holds the port: an embedded L1 of a concurrent test took it from the
          // OS's ephemeral range between freePort() and our bind, and our node is exiting on the
          // bind error. Retry on a fresh port, as for any early exit.
          proc.kill("SIGKILL");
          await waitExit(proc, STOP_TIMEOUT_MS);
          const e = new Error(`port ${port} answered eth_chainId ${body.result}, expected ${CHAIN_ID}: taken by another server; log ${node.logFile}:\n${node.logTail()}`);
          e.earlyExit = true;
          e.portTaken = true;
          throw e;
        }
        return;
      }
    } catch (e) {
      if (e.portTaken) throw e;
    }
    await sleep(100);
  }
  proc.kill("SIGKILL");
  await waitExit(proc, STOP_TIMEOUT_MS);
  throw new Error(`op-node did not answer eth_chainId within ${READY_TIMEOUT_MS / 1000} s; log ${node.logFile}:\n${node.logTail()}`);
}

/**
 * Starts `op-node verifier` against a running devnet `sequencer` (its L1 and its rollup.json),
 * on a fresh data directory; resolves once it answers eth_chainId.
 */
export async function startVerifier(sequencer, { name = "verifier", args = [] } = {}) {
  const addresses = JSON.parse(fs.readFileSync(path.join(sequencer.datadir, "addresses.json"), "utf8"));
  return startNode({
    name,
    kind: "verifier",
    args: ["--l1-rpc", addresses.l1RpcUrl, "--rollup-config", path.join(sequencer.datadir, "rollup.json"), ...args],
  });
}

/** An ethers JsonRpcProvider for chain 901 that polls every 100 ms (blocks come every 100 ms). */
export function makeProvider(url) {
  const network = Network.from(CHAIN_ID);
  return new JsonRpcProvider(url, network, { staticNetwork: network, pollingInterval: 100, cacheTimeout: -1 });
}

let keys = null;
/** Private keys of the ten funded test accounts: m/44'/60'/0'/0/i of the test mnemonic. */
export function testKeys() {
  if (!keys) {
    const root = HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0");
    keys = Array.from({ length: 10 }, (_, i) => root.deriveChild(i).privateKey);
  }
  return keys;
}

/** Wallets of the ten funded test accounts (10000 ETH each at genesis), connected to `provider`. */
export function testWallets(provider) {
  return testKeys().map((k) => new Wallet(k, provider));
}
