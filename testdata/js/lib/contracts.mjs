// Compiled contracts the tests deploy: our own from testdata/artifacts (scripts/build-contracts), and
// third-party ones exactly as their npm packages ship them (Uniswap V2's build/*.json, unchanged).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { ContractFactory } from "ethers";
import { REPO_ROOT } from "./node.mjs";

const require = createRequire(import.meta.url);

function withPrefix(hex) {
  return hex.startsWith("0x") ? hex : `0x${hex}`;
}

/** {abi, bytecode, deployedBytecode} of a contract compiled by scripts/build-contracts into testdata/artifacts. */
export function artifact(name) {
  const a = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "testdata/artifacts", `${name}.json`), "utf8"));
  return { abi: a.abi, bytecode: withPrefix(a.bytecode), deployedBytecode: withPrefix(a.deployedBytecode) };
}

/** {abi, bytecode, deployedBytecode} from an npm package's build JSON, e.g. npmBuild("@uniswap/v2-core", "UniswapV2Factory"). */
export function npmBuild(pkg, name) {
  const a = require(`${pkg}/build/${name}.json`);
  return { abi: a.abi, bytecode: withPrefix(a.bytecode), deployedBytecode: withPrefix(a.evm.deployedBytecode.object) };
}

/**
 * Deploys `{abi, bytecode}` from `wallet` with constructor `args`; resolves to {contract, receipt}
 * once the creation is mined, and throws if the receipt's status is not 1.
 */
export async function deploy(wallet, { abi, bytecode }, args = [], overrides = {}) {
  const factory = new ContractFactory(abi, bytecode, wallet);
  const contract = await factory.deploy(...args, overrides);
  const tx = contract.deploymentTransaction();
  const receipt = await tx.wait(1, 30_000);
  if (receipt.status !== 1) throw new Error(`deployment ${tx.hash} failed: status ${receipt.status}`);
  return { contract, receipt };
}
