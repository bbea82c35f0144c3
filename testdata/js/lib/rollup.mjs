// The rollup as a viem user sees it: chain objects for the L1 and the L2 built from the devnet's
// `addresses.json`, public and wallet clients extended with viem's op-stack actions (unchanged), and
// the revert names of our bridge contracts (bridge/artifacts) for errors viem could not decode itself.
//
//   const r = loadRollup(node.datadir, node.url);
//   r.l1.getWithdrawalStatus({ receipt, targetChain: r.l2Chain });
//   const { l1, l2 } = r.wallet(3);          // test-mnemonic account 3 on both chains
import fs from "node:fs";
import path from "node:path";
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  defineChain,
  http,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { chainConfig, publicActionsL1, publicActionsL2, walletActionsL1, walletActionsL2 } from "viem/op-stack";
import { MNEMONIC, REPO_ROOT } from "./node.mjs";

const POLL_MS = 100;

/** ABI of one of the bridge's compiled contracts (bridge/artifacts/<name>.json). */
export function bridgeAbi(name) {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "bridge/artifacts", `${name}.json`), "utf8")).abi;
}

/** ABI of one of fraud-vm's compiled game contracts (fraud-vm/artifacts/<name>.json). */
export function gameAbi(name) {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "fraud-vm/artifacts", `${name}.json`), "utf8")).abi;
}

// Every custom error the L1 contracts declare, to name a revert viem reports only as a selector
// (e.g. finalizeWithdrawal encodes with viem's legacy portal ABI, which lacks the newer names).
const ERRORS_ABI = (() => {
  const seen = new Set();
  const out = [];
  const abis = ["OptimismPortal", "DisputeGameFactory", "ProposalGame", "AnchorStateRegistry"].map(bridgeAbi);
  abis.push(gameAbi("BisectionGame"), gameAbi("GameVerifier"));
  for (const abi of abis) {
    for (const item of abi) {
      if (item.type !== "error") continue;
      const key = `${item.name}(${item.inputs.map((i) => i.type).join(",")})`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(item);
      }
    }
  }
  return out;
})();

/**
 * The revert name inside a viem error (`OptimismPortal_AlreadyFinalized`, `Error`, `Panic`...), or
 * undefined when the error carries no revert data (then it was not a revert at all).
 */
export function revertName(error) {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted?.data?.errorName) return reverted.data.errorName;
  const raw = reverted?.raw ?? reverted?.signature ?? rawRevertData(error);
  if (!raw || raw === "0x") return undefined;
  try {
    return decodeErrorResult({ abi: ERRORS_ABI, data: raw }).errorName;
  } catch {
    return `unknown revert ${raw.slice(0, 10)}`;
  }
}

function rawRevertData(error) {
  const withData = error.walk((e) => typeof e?.data === "string" && e.data.startsWith("0x"));
  return withData?.data;
}

/** A one-line account of a viem error for assertion messages: its short message and details. */
export function describeError(error) {
  if (!error) return "no error";
  const details = error.details ? ` | details: ${error.details}` : "";
  return `${error.name}: ${error.shortMessage ?? error.message}${details}`;
}

/** Calls `fn` and returns the error it throws; fails if it does not throw. */
export async function rejection(fn, what) {
  try {
    const value = await fn();
    throw Object.assign(new Error(`${what}: expected a revert, but it succeeded with ${stringify(value)}`), { unexpected: true });
  } catch (e) {
    if (e.unexpected) throw e;
    return e;
  }
}

export function stringify(v) {
  return JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x));
}

/** The test mnemonic's account `index` (m/44'/60'/0'/0/index) as a viem local account. */
export function testAccount(index) {
  return mnemonicToAccount(MNEMONIC, { addressIndex: index });
}

/**
 * Reads `<datadir>/addresses.json` and returns the chains and clients for it. The L2 chain follows
 * viem's own op-stack chain definitions (e.g. optimismSepolia): `chainConfig` plus `sourceId` and the
 * L1 contracts keyed by the L1's chain id.
 */
export function loadRollup(datadir, l2Url) {
  const addresses = JSON.parse(fs.readFileSync(path.join(datadir, "addresses.json"), "utf8"));
  const l1Id = addresses.l1ChainId;
  const multicall3 = { address: addresses.Multicall3, blockCreated: 0 };
  const ether = { name: "Ether", symbol: "ETH", decimals: 18 };

  const l1Chain = defineChain({
    id: l1Id,
    name: `devnet L1 (${l1Id})`,
    nativeCurrency: ether,
    rpcUrls: { default: { http: [addresses.l1RpcUrl] } },
    contracts: { multicall3 },
    testnet: true,
  });
  const l2Chain = defineChain({
    ...chainConfig,
    id: addresses.l2ChainId,
    name: `devnet L2 (${addresses.l2ChainId})`,
    nativeCurrency: ether,
    rpcUrls: { default: { http: [l2Url] } },
    contracts: {
      ...chainConfig.contracts,
      portal: { [l1Id]: { address: addresses.OptimismPortal } },
      disputeGameFactory: { [l1Id]: { address: addresses.DisputeGameFactory } },
      multicall3,
    },
    sourceId: l1Id,
    testnet: true,
  });

  // No retries: a failed request is a finding, not something to paper over.
  const transport = (url) => http(url, { retryCount: 0, timeout: 20_000 });
  const l1 = createPublicClient({ chain: l1Chain, transport: transport(addresses.l1RpcUrl), pollingInterval: POLL_MS }).extend(publicActionsL1());
  const l2 = createPublicClient({ chain: l2Chain, transport: transport(l2Url), pollingInterval: POLL_MS }).extend(publicActionsL2());

  return {
    addresses,
    l1Chain,
    l2Chain,
    l1,
    l2,
    /** Wallet clients of test account `index` on the L1 and the L2. */
    wallet(index) {
      const account = testAccount(index);
      return {
        account,
        address: account.address,
        l1: createWalletClient({ account, chain: l1Chain, transport: transport(addresses.l1RpcUrl), pollingInterval: POLL_MS }).extend(walletActionsL1()),
        l2: createWalletClient({ account, chain: l2Chain, transport: transport(l2Url), pollingInterval: POLL_MS }).extend(walletActionsL2()),
      };
    },
  };
}
