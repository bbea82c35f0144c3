// Reads from both chains: balances, the bridge's windows, and every withdrawal of an account with
// the facts its status is worked out from (status.ts). The withdrawal list comes from the L2's
// MessagePassed logs and the L1 portal's records, so a reload rebuilds it exactly.
import { type Address, type Hex, parseAbi, parseAbiItem } from 'viem';
import { getGames, getL2TransactionHash, opaqueDataToDepositData } from 'viem/op-stack';
import type { Chain } from 'viem';
import type { Clients, NodeConfig } from './config';
import type { Delays, ProofFacts, WithdrawalFacts } from './status';

export const PORTAL_ABI = parseAbi([
  'function finalizedWithdrawals(bytes32) view returns (bool)',
  'function numProofSubmitters(bytes32) view returns (uint256)',
  'function proofSubmitters(bytes32, uint256) view returns (address)',
  'function provenWithdrawals(bytes32, address) view returns (address disputeGameProxy, uint64 timestamp)',
  'function checkWithdrawal(bytes32, address) view',
  'function proofMaturityDelaySeconds() view returns (uint256)',
  'function disputeGameFinalityDelaySeconds() view returns (uint256)',
  'function respectedGameType() view returns (uint32)',
]);
const GAME_ABI = parseAbi([
  'function status() view returns (uint8)',
  'function resolvedAt() view returns (uint64)',
  'function expectedResolution() view returns (uint64)',
  'function maxClockDuration() view returns (uint64)',
]);
const FACTORY_ABI = parseAbi(['function gameImpls(uint32) view returns (address)']);
const MESSAGE_PASSED = parseAbiItem(
  'event MessagePassed(uint256 indexed nonce, address indexed sender, address indexed target, uint256 value, uint256 gasLimit, bytes data, bytes32 withdrawalHash)',
);

/** The node's eth_getLogs answers at most this many blocks at once (--rpc.max-logs-range). */
const LOG_RANGE = 5_000n;

export interface BridgeWindows extends Delays {
  challengeWindow: number;
}

/** The windows the deployed contracts enforce (read from L1, not from flags). */
export async function readWindows(c: Clients, config: NodeConfig): Promise<BridgeWindows> {
  const portal = config.addresses.OptimismPortal;
  const [maturity, finality, gameType] = await Promise.all([
    c.l1.readContract({ address: portal, abi: PORTAL_ABI, functionName: 'proofMaturityDelaySeconds' }),
    c.l1.readContract({ address: portal, abi: PORTAL_ABI, functionName: 'disputeGameFinalityDelaySeconds' }),
    c.l1.readContract({ address: portal, abi: PORTAL_ABI, functionName: 'respectedGameType' }),
  ]);
  const impl = await c.l1.readContract({ address: config.addresses.DisputeGameFactory, abi: FACTORY_ABI, functionName: 'gameImpls', args: [gameType] });
  const window = await c.l1.readContract({ address: impl, abi: GAME_ABI, functionName: 'maxClockDuration' });
  return { proofMaturityDelay: Number(maturity), gameFinalityDelay: Number(finality), challengeWindow: Number(window) };
}

export interface WithdrawalRecord {
  withdrawal: { nonce: bigint; sender: Address; target: Address; value: bigint; gasLimit: bigint; data: Hex; withdrawalHash: Hex };
  l2BlockNumber: bigint;
  l2TxHash: Hex;
}

/**
 * Every withdrawal `sender` initiated on L2, oldest first. Logs are read in ranges the node accepts;
 * `cache` keeps what earlier scans found so a refresh reads only new blocks.
 */
export async function scanWithdrawals(c: Clients, config: NodeConfig, sender: Address, cache: ScanCache): Promise<WithdrawalRecord[]> {
  if (cache.sender !== sender) {
    cache.sender = sender;
    cache.next = 0n;
    cache.records = [];
  }
  const head = await c.l2.getBlockNumber();
  const ranges: [bigint, bigint][] = [];
  for (let from = cache.next; from <= head; from += LOG_RANGE) {
    const to = from + LOG_RANGE - 1n < head ? from + LOG_RANGE - 1n : head;
    ranges.push([from, to]);
  }
  const found = await Promise.all(
    ranges.map(([fromBlock, toBlock]) =>
      c.l2.getLogs({ address: config.addresses.L2ToL1MessagePasser, event: MESSAGE_PASSED, args: { sender }, fromBlock, toBlock }),
    ),
  );
  for (const logs of found) {
    for (const log of logs) {
      const a = log.args;
      cache.records.push({
        withdrawal: {
          nonce: a.nonce!,
          sender: a.sender!,
          target: a.target!,
          value: a.value!,
          gasLimit: a.gasLimit!,
          data: a.data!,
          withdrawalHash: a.withdrawalHash!,
        },
        l2BlockNumber: log.blockNumber!,
        l2TxHash: log.transactionHash!,
      });
    }
  }
  cache.next = head + 1n;
  return cache.records;
}

export interface ScanCache {
  sender: Address | null;
  next: bigint;
  records: WithdrawalRecord[];
}

export const newScanCache = (): ScanCache => ({ sender: null, next: 0n, records: [] });

export type LatestGame = WithdrawalFacts['latestGame'];

/** The newest proposal on L1 (viem's getGames, as the prove step uses it). */
export async function latestGame(c: Clients, l2Chain: Chain): Promise<LatestGame> {
  const games = await getGames(c.l1, { targetChain: l2Chain as never, limit: 1 });
  const g = games[0];
  if (!g) return null;
  return { address: `0x${g.metadata.slice(26)}` as Address, l2BlockNumber: g.l2BlockNumber };
}

/** The portal's and the game's records of one withdrawal. `preferred` is whose proof to follow first. */
export async function withdrawalFacts(
  c: Clients,
  config: NodeConfig,
  record: WithdrawalRecord,
  game: LatestGame,
  preferred: Address,
): Promise<WithdrawalFacts> {
  const portal = config.addresses.OptimismPortal;
  const hash = record.withdrawal.withdrawalHash;
  const read = <T>(functionName: string, args: readonly unknown[]) =>
    c.l1.readContract({ address: portal, abi: PORTAL_ABI, functionName: functionName as never, args: args as never }) as Promise<T>;
  const [finalized, submitters] = await Promise.all([read<boolean>('finalizedWithdrawals', [hash]), read<bigint>('numProofSubmitters', [hash])]);
  let proof: ProofFacts | null = null;
  let finalizable = false;
  if (!finalized && submitters > 0n) {
    // Follow the connected account's own proof if it made one, else the latest submitter's.
    let submitter = preferred;
    let proven = await read<readonly [Address, bigint]>('provenWithdrawals', [hash, preferred]);
    if (proven[1] === 0n) {
      submitter = await read<Address>('proofSubmitters', [hash, submitters - 1n]);
      proven = await read<readonly [Address, bigint]>('provenWithdrawals', [hash, submitter]);
    }
    const gameAddress = proven[0];
    const g = (functionName: 'status' | 'resolvedAt' | 'expectedResolution') =>
      c.l1.readContract({ address: gameAddress, abi: GAME_ABI, functionName });
    const [status, resolvedAt, expectedResolution, check] = await Promise.all([
      g('status'),
      g('resolvedAt'),
      g('expectedResolution'),
      c.l1
        .readContract({ address: portal, abi: PORTAL_ABI, functionName: 'checkWithdrawal', args: [hash, submitter] })
        .then(() => true, () => false),
    ]);
    proof = {
      submitter,
      game: gameAddress,
      provenAt: Number(proven[1]),
      gameStatus: Number(status),
      resolvedAt: Number(resolvedAt),
      expectedResolution: Number(expectedResolution),
    };
    finalizable = check;
  }
  return { l2BlockNumber: record.l2BlockNumber, latestGame: game, finalized, proof, finalizable };
}

const TRANSACTION_DEPOSITED = parseAbiItem(
  'event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData)',
);

export interface DepositRecord {
  l1BlockNumber: bigint;
  l1TxHash: Hex;
  /** ETH minted on L2. */
  mint: bigint;
  l2Hash: Hex;
  /** The L2 block that holds it, once it is there. */
  l2BlockNumber: bigint | null;
}

export interface DepositCache {
  sender: Address | null;
  next: bigint;
  records: DepositRecord[];
}

export const newDepositCache = (): DepositCache => ({ sender: null, next: 0n, records: [] });

/**
 * Every deposit `sender` made through the portal (its TransactionDeposited logs on L1), oldest
 * first, each with the L2 block that holds it or null while the L2 has not got it yet.
 */
export async function scanDeposits(c: Clients, config: NodeConfig, sender: Address, cache: DepositCache): Promise<DepositRecord[]> {
  if (cache.sender !== sender) {
    cache.sender = sender;
    cache.next = 0n;
    cache.records = [];
  }
  const head = await c.l1.getBlockNumber();
  const ranges: [bigint, bigint][] = [];
  for (let from = cache.next; from <= head; from += LOG_RANGE) ranges.push([from, from + LOG_RANGE - 1n < head ? from + LOG_RANGE - 1n : head]);
  const found = await Promise.all(
    ranges.map(([fromBlock, toBlock]) =>
      c.l1.getLogs({ address: config.addresses.OptimismPortal, event: TRANSACTION_DEPOSITED, args: { from: sender }, fromBlock, toBlock }),
    ),
  );
  for (const logs of found) {
    for (const log of logs) {
      if (log.args.version !== 0n) continue;
      const { mint } = opaqueDataToDepositData(log.args.opaqueData!);
      const l2Hash = getL2TransactionHash({ log: log as never });
      cache.records.push({ l1BlockNumber: log.blockNumber!, l1TxHash: log.transactionHash!, mint, l2Hash, l2BlockNumber: null });
    }
  }
  cache.next = head + 1n;
  // Only deposits still on their way need asking about.
  await Promise.all(
    cache.records
      .filter((r) => r.l2BlockNumber === null)
      .map(async (r) => {
        const receipt = await c.l2.getTransactionReceipt({ hash: r.l2Hash }).catch(() => null);
        if (receipt) r.l2BlockNumber = receipt.blockNumber;
      }),
  );
  return cache.records;
}
