// Accounts the page can act for: injected wallets (EIP-6963 discovery, or a plain EIP-1193
// window.ethereum when none announces itself) and, on a devnet, the test-mnemonic accounts signed
// in the page itself.
import {
  type Account,
  type Address,
  type Chain,
  type EIP1193Provider,
  type WalletClient,
  createWalletClient,
  custom,
  http,
  numberToHex,
  UserRejectedRequestError,
} from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

export interface Discovered {
  info: WalletInfo;
  provider: EIP1193Provider;
}

/**
 * Listens for EIP-6963 announcements and asks wallets to announce themselves. `onChange` gets the
 * whole list each time a wallet appears. A plain window.ethereum is offered only if no wallet
 * announces itself within `fallbackMs`.
 */
export function discoverWallets(onChange: (wallets: Discovered[]) => void, fallbackMs = 500): void {
  const wallets = new Map<string, Discovered>();
  window.addEventListener('eip6963:announceProvider', (event) => {
    const detail = (event as CustomEvent<Discovered>).detail;
    if (!detail?.info?.uuid || !detail.provider) return;
    wallets.set(detail.info.uuid, { info: detail.info, provider: detail.provider });
    onChange([...wallets.values()]);
  });
  window.dispatchEvent(new Event('eip6963:requestProvider'));
  setTimeout(() => {
    const injected = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
    if (wallets.size === 0 && injected) {
      wallets.set('window.ethereum', {
        info: { uuid: 'window.ethereum', name: 'Browser wallet', icon: '', rdns: 'window.ethereum' },
        provider: injected,
      });
      onChange([...wallets.values()]);
    }
  }, fallbackMs);
}

/** An account the page can send transactions from. */
export interface Connection {
  kind: 'devnet' | 'injected';
  /** What the account chip shows: "Devnet account #0", "MetaMask". */
  label: string;
  address: Address;
  /** A wallet client on `chain`, after asking an injected wallet to switch to it. */
  walletFor(chain: Chain): Promise<WalletClient>;
  /** The injected wallet's current chain id (null for devnet accounts: they sign for any chain). */
  chainId(): Promise<number | null>;
  provider?: EIP1193Provider;
  /** The injected wallet this account belongs to. */
  wallet?: Discovered;
}

/** Test-mnemonic account `index`, signed in the page. Devnet only: the key is public. */
export function devnetConnection(mnemonic: string, index: number): Connection {
  const account: Account = mnemonicToAccount(mnemonic, { addressIndex: index });
  return {
    kind: 'devnet',
    label: `Devnet account #${index}`,
    address: account.address,
    async walletFor(chain) {
      return createWalletClient({ account, chain, transport: http(chain.rpcUrls.default.http[0], { retryCount: 0 }) });
    },
    async chainId() {
      return null;
    },
  };
}

/** Asks an injected wallet for its accounts (the wallet shows its connect prompt). */
export async function injectedConnection(wallet: Discovered): Promise<Connection> {
  const accounts = (await wallet.provider.request({ method: 'eth_requestAccounts' })) as Address[];
  const address = accounts[0];
  if (!address) throw new Error(`${wallet.info.name} returned no account.`);
  return injectedAccount(wallet, address);
}

/** An account of an injected wallet that already granted access to it. */
export function injectedAccount(wallet: Discovered, address: Address): Connection {
  const provider = wallet.provider;
  return {
    kind: 'injected',
    label: wallet.info.name,
    address,
    provider,
    wallet,
    async walletFor(chain) {
      await switchChain(provider, chain);
      return createWalletClient({ account: address, chain, transport: custom(provider, { retryCount: 0 }) });
    },
    async chainId() {
      return Number(await provider.request({ method: 'eth_chainId' }));
    },
  };
}

/** EIP-1193 error code of a chain the wallet does not know (wallet_switchEthereumChain). */
const UNRECOGNIZED_CHAIN = 4902;

function errorCode(e: unknown): number | undefined {
  const direct = (e as { code?: unknown })?.code;
  if (typeof direct === 'number' && direct !== -32603) return direct;
  // MetaMask mobile wraps it: { code: -32603, data: { originalError: { code: 4902 } } }.
  const inner = (e as { data?: { originalError?: { code?: unknown } } })?.data?.originalError?.code;
  return typeof inner === 'number' ? inner : typeof direct === 'number' ? direct : undefined;
}

/** Makes the wallet use `chain`: wallet_switchEthereumChain, and wallet_addEthereumChain if it does not know it. */
export async function switchChain(provider: EIP1193Provider, chain: Chain): Promise<void> {
  const current = Number(await provider.request({ method: 'eth_chainId' }));
  if (current === chain.id) return;
  const chainId = numberToHex(chain.id);
  try {
    await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId }] });
  } catch (e) {
    if (errorCode(e) === 4001) throw new UserRejectedRequestError(e as Error);
    if (errorCode(e) !== UNRECOGNIZED_CHAIN) throw e;
    try {
      await provider.request({
        method: 'wallet_addEthereumChain',
        params: [
          {
            chainId,
            chainName: chain.name,
            nativeCurrency: chain.nativeCurrency,
            rpcUrls: [...chain.rpcUrls.default.http],
          },
        ],
      });
      // Some wallets switch on adding, others only add: ask again if it did not.
      if (Number(await provider.request({ method: 'eth_chainId' })) !== chain.id) {
        await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId }] });
      }
    } catch (added) {
      if (errorCode(added) === 4001) throw new UserRejectedRequestError(added as Error);
      throw added;
    }
  }
  const now = Number(await provider.request({ method: 'eth_chainId' }));
  if (now !== chain.id) throw new Error(`Wrong network: your wallet is still on chain ${now}; switch it to ${chain.name} (chain ${chain.id}).`);
}
