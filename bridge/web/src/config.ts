// The devnet as the node describes it (GET /config.json, served by `op-node devnet` next to this
// page) and the viem chains and clients built from it: nothing about one particular devnet is
// compiled into the page.
import { type Address, type Chain, createPublicClient, defineChain, http } from 'viem';
import { chainConfig, publicActionsL1, publicActionsL2 } from 'viem/op-stack';

export interface NodeConfig {
  l1: { chainId: number; rpcUrl: string };
  l2: { chainId: number; rpcUrl: string };
  addresses: {
    OptimismPortal: Address;
    DisputeGameFactory: Address;
    AnchorStateRegistry: Address;
    Multicall3: Address;
    L2ToL1MessagePasser: Address;
    L1Block: Address;
    GasPriceOracle: Address;
    [name: string]: unknown;
  };
  rollup: { block_time_ms: number; respected_game_type: number; [key: string]: unknown };
  devnet?: { mnemonic: string; accounts: number };
}

/** Fetches and checks /config.json; throws an error whose message a person can act on. */
export async function loadConfig(url = '/config.json'): Promise<NodeConfig> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store' });
  } catch {
    throw new Error(`Cannot reach the node at ${new URL(url, location.href).origin}: is \`scripts/devnet\` running?`);
  }
  if (!res.ok) throw new Error(`The node answered ${res.status} for ${url}.`);
  const config = (await res.json()) as NodeConfig;
  if (!config?.l1?.rpcUrl || !config?.l2?.rpcUrl || !config?.addresses?.OptimismPortal) {
    throw new Error(`${url} does not describe a rollup (no RPC URLs or portal address): the bridge is not deployed yet.`);
  }
  config.l1.rpcUrl = reachable(config.l1.rpcUrl, location.hostname);
  config.l2.rpcUrl = reachable(config.l2.rpcUrl, location.hostname);
  return config;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The node names its RPCs as a browser on its own machine reaches them (loopback). A page opened
 * from another machine (the node bound to a LAN address) reaches them on the host it loaded the
 * page from instead.
 */
export function reachable(rpcUrl: string, pageHost: string): string {
  const url = new URL(rpcUrl);
  if (!LOOPBACK.has(url.hostname) || LOOPBACK.has(pageHost) || pageHost === '') return rpcUrl;
  url.hostname = pageHost;
  return url.toString().replace(/\/$/, '');
}

const ether = { name: 'Ether', symbol: 'ETH', decimals: 18 } as const;

/** The L1 and L2 as viem chains; the L2 follows viem's op-stack chain definitions (sourceId, portal, factory). */
export function buildChains(config: NodeConfig): { l1Chain: Chain; l2Chain: Chain } {
  const a = config.addresses;
  const l1Id = config.l1.chainId;
  const multicall3 = { address: a.Multicall3, blockCreated: 0 };
  const l1Chain = defineChain({
    id: l1Id,
    name: `Devnet L1 (${l1Id})`,
    nativeCurrency: ether,
    rpcUrls: { default: { http: [config.l1.rpcUrl] } },
    contracts: { multicall3 },
    testnet: true,
  });
  const l2Chain = defineChain({
    ...chainConfig,
    id: config.l2.chainId,
    name: `Devnet L2 (${config.l2.chainId})`,
    nativeCurrency: ether,
    rpcUrls: { default: { http: [config.l2.rpcUrl] } },
    contracts: {
      ...chainConfig.contracts,
      portal: { [l1Id]: { address: a.OptimismPortal } },
      disputeGameFactory: { [l1Id]: { address: a.DisputeGameFactory } },
      multicall3,
    },
    sourceId: l1Id,
    testnet: true,
  });
  return { l1Chain, l2Chain };
}

export function buildClients(l1Chain: Chain, l2Chain: Chain) {
  // No retries: an RPC that is down should say so at once, in the page.
  const transport = (url: string) => http(url, { retryCount: 0, timeout: 15_000, batch: { wait: 10 } });
  const l1 = createPublicClient({ chain: l1Chain, transport: transport(l1Chain.rpcUrls.default.http[0]!), pollingInterval: 500 }).extend(publicActionsL1());
  const l2 = createPublicClient({ chain: l2Chain, transport: transport(l2Chain.rpcUrls.default.http[0]!), pollingInterval: 250 }).extend(publicActionsL2());
  return { l1, l2 };
}

export type Clients = ReturnType<typeof buildClients>;
