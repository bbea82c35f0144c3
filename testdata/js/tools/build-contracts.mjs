// Compiles Solidity sources with the pinned solc-js into committed JSON artifacts.
//
//   node build-contracts.mjs --root REPO [--check] SRC_DIR:OUT_DIR ...
//
// Each SRC_DIR (relative to REPO) is compiled as one solc standard-JSON job: every .sol file under it,
// with source unit names relative to SRC_DIR, so the metadata hash (and so the bytecode) does not depend
// on where the repository is checked out. Imports resolve against SRC_DIR, then testdata/js/node_modules
// (@openzeppelin/contracts, ...). For every contract defined in those files, OUT_DIR/<Contract>.json is
// written as {contractName, sourceName, abi, bytecode, deployedBytecode, compiler}.
//
// With --check nothing in the repository is written: the artifacts are produced in a temp dir and
// compared byte for byte with the committed ones; any difference, missing or stale file is named and
// the exit code is 1.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const JS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NODE_MODULES = path.join(JS_DIR, "node_modules");

// Fixed settings: changing any of them changes every artifact, which --check in CI then reports.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "ipfs", appendCBOR: true },
};

function usage(msg) {
  console.error(`build-contracts: ${msg}\nusage: build-contracts.mjs --root REPO [--check] SRC_DIR:OUT_DIR ...`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { root: null, check: false, pairs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--check") opts.check = true;
    else if (a === "--root") opts.root = argv[++i];
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else {
      const [src, out, extra] = a.split(":");
      if (!src || !out || extra !== undefined) usage(`bad pair ${a} (want SRC_DIR:OUT_DIR)`);
      opts.pairs.push({ src, out });
    }
  }
  if (!opts.root) usage("--root is required");
  if (opts.pairs.length === 0) usage("no SRC_DIR:OUT_DIR pair given");
  return opts;
}

function listSolFiles(dir, rel = "") {
  const out = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listSolFiles(dir, r));
    else if (entry.name.endsWith(".sol")) out.push(r);
  }
  return out;
}

function compile(srcDir) {
  const files = listSolFiles(srcDir);
  if (files.length === 0) throw new Error(`no .sol file under ${srcDir}`);
  const sources = {};
  for (const f of files) sources[f] = { content: fs.readFileSync(path.join(srcDir, f), "utf8") };
  const input = {
    language: "Solidity",
    sources,
    settings: {
      ...SETTINGS,
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const findImports = (importPath) => {
    for (const base of [srcDir, NODE_MODULES]) {
      const p = path.join(base, importPath);
      if (!path.resolve(p).startsWith(path.resolve(base) + path.sep)) continue;
      if (fs.existsSync(p)) return { contents: fs.readFileSync(p, "utf8") };
    }
    return { error: `not found in ${srcDir} nor ${NODE_MODULES}` };
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  let failed = false;
  for (const e of output.errors ?? []) {
    const text = e.formattedMessage ?? e.message;
    if (e.severity === "error") failed = true;
    console.error(text);
  }
  if (failed) throw new Error(`solc reported errors compiling ${srcDir}`);

  const artifacts = new Map();
  for (const sourceName of files) {
    for (const [contractName, c] of Object.entries(output.contracts[sourceName] ?? {})) {
      if (artifacts.has(contractName)) {
        throw new Error(`contract ${contractName} is defined in both ${artifacts.get(contractName).sourceName} and ${sourceName}`);
      }
      artifacts.set(contractName, {
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        compiler: { name: "solc", version: solc.version(), settings: SETTINGS },
      });
    }
  }
  return artifacts;
}

function writeArtifacts(artifacts, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, a] of artifacts) {
    fs.writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(a, null, 2)}\n`);
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const root = path.resolve(opts.root);
  const problems = [];
  const tmp = opts.check ? fs.mkdtempSync(path.join(os.tmpdir(), "build-contracts-")) : null;
  try {
    for (const { src, out } of opts.pairs) {
      const srcDir = path.join(root, src);
      if (!fs.statSync(srcDir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`source dir ${src} does not exist`);
      const artifacts = compile(srcDir);
      if (!opts.check) {
        writeArtifacts(artifacts, path.join(root, out));
        console.log(`${src} -> ${out}: ${[...artifacts.keys()].join(", ")} (solc ${solc.version()})`);
        continue;
      }
      const fresh = path.join(tmp, out);
      writeArtifacts(artifacts, fresh);
      const committedDir = path.join(root, out);
      const committed = fs.existsSync(committedDir) ? fs.readdirSync(committedDir).filter((f) => f.endsWith(".json")) : [];
      for (const f of fs.readdirSync(fresh).sort()) {
        const mine = path.join(committedDir, f);
        if (!fs.existsSync(mine)) problems.push(`${out}/${f} is missing`);
        else if (!fs.readFileSync(mine).equals(fs.readFileSync(path.join(fresh, f)))) problems.push(`${out}/${f} differs from a fresh compile of ${src}`);
      }
      for (const f of committed.sort()) {
        if (!artifacts.has(f.slice(0, -".json".length))) problems.push(`${out}/${f} is stale: no contract of that name in ${src}`);
      }
      if (problems.length === 0) console.log(`${src} -> ${out}: up to date (${artifacts.size} artifacts)`);
    }
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`build-contracts --check: ${p}`);
    console.error("build-contracts --check: run scripts/build-contracts and commit the artifacts it writes");
    process.exit(1);
  }
}

try {
  main();
} catch (e) {
  console.error(`build-contracts: ${e.message}`);
  process.exit(1);
}
