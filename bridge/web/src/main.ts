// The bridge page: connect, deposit, withdraw, prove, finalize. Everything shown is read from the
// chains on each refresh; the only state kept here is what is in flight in this tab.
import './style.css';
import { type Address, type Chain, type Hex, formatEther } from 'viem';
import { getL2TransactionHashes, walletActionsL1, walletActionsL2 } from 'viem/op-stack';
import { buildChains, buildClients, type Clients, loadConfig, type NodeConfig } from './config';
import { type BridgeWindows, type DepositRecord, latestGame, newDepositCache, newScanCache, readWindows, scanDeposits, scanWithdrawals, type WithdrawalRecord, withdrawalFacts } from './chain';
import { byId, h, mono, setText } from './dom';
import { friendlyError } from './errors';
import { describeStage, formatCountdown, secondsUntil, type Status, timeline, withdrawalStatus } from './status';
import { checkAmount, formatEth } from './validate';
import { type Connection, type Discovered, devnetConnection, discoverWallets, injectedAccount, injectedConnection } from './wallet';

const REFRESH_MS = 1500;

interface App {
  config: NodeConfig;
  l1Chain: Chain;
  l2Chain: Chain;
  c: Clients;
  windows: BridgeWindows | null;
  wallets: Discovered[];
  conn: Connection | null;
  walletChainId: number | null;
  balances: { l1: bigint | null; l2: bigint | null };
  heads: { l1: bigint | null; l2: bigint | null; l1Time: number; seenAt: number };
  down: { l1: boolean; l2: boolean };
  mode: 'deposit' | 'withdraw';
  fee: { deposit: bigint | null; withdraw: bigint | null };
  busy: boolean;
  scan: ReturnType<typeof newScanCache>;
  deposits: ReturnType<typeof newDepositCache>;
  items: Map<Hex, Item>;
  /** Per withdrawal: an action in flight or its last error. */
  actions: Map<Hex, { text: string; error?: boolean }>;
}

interface Item {
  record: WithdrawalRecord;
  status: Status;
  submitter: Address | null;
  el: HTMLLIElement;
}

// Two banners: one for the chains being unreachable (it comes and goes with them), one for the
// last failed wallet request (it stays until dismissed or the next request succeeds).
const rpcBanner = byId('rpc-banner');
const banner = byId('banner');
banner.querySelector('.close')!.addEventListener('click', () => showBanner(null));
function showBanner(text: string | null): void {
  banner.hidden = text === null;
  setText(banner.querySelector('.text')!, text ?? '');
}
function showRpcBanner(text: string | null): void {
  rpcBanner.hidden = text === null;
  setText(rpcBanner, text ?? '');
}

async function start(): Promise<void> {
  let config: NodeConfig;
  try {
    config = await loadConfig();
  } catch (e) {
    showRpcBanner((e as Error).message);
    return;
  }
  const { l1Chain, l2Chain } = buildChains(config);
  const app: App = {
    config,
    l1Chain,
    l2Chain,
    c: buildClients(l1Chain, l2Chain),
    windows: null,
    wallets: [],
    conn: null,
    walletChainId: null,
    balances: { l1: null, l2: null },
    heads: { l1: null, l2: null, l1Time: 0, seenAt: 0 },
    down: { l1: false, l2: false },
    mode: 'deposit',
    fee: { deposit: null, withdraw: null },
    busy: false,
    scan: newScanCache(),
    deposits: newDepositCache(),
    items: new Map(),
    actions: new Map(),
  };
  renderAccount(app);
  renderBridge(app);
  renderNetwork(app);
  discoverWallets((wallets) => {
    app.wallets = wallets;
    if (!app.conn) renderAccount(app);
  });
  // Reconnect the devnet account used last (injected wallets ask again: that is their job).
  const saved = localStorage.getItem('bridge.devnetAccount');
  if (saved !== null && config.devnet) connect(app, devnetConnection(config.devnet.mnemonic, Number(saved)));
  await refresh(app);
  setInterval(() => void refresh(app), REFRESH_MS);
  setInterval(() => tick(app), 1000);
}

// ---------------------------------------------------------------------------------------------
// Refresh: heads, balances, windows, withdrawals.

let refreshing = false;
async function refresh(app: App): Promise<void> {
  if (refreshing) return;
  refreshing = true;
  try {
    const [l1, l2] = await Promise.allSettled([app.c.l1.getBlock(), app.c.l2.getBlockNumber()]);
    app.down.l1 = l1.status === 'rejected';
    app.down.l2 = l2.status === 'rejected';
    if (l1.status === 'fulfilled') {
      app.heads.l1 = l1.value.number;
      app.heads.l1Time = Number(l1.value.timestamp);
      app.heads.seenAt = Date.now() / 1000;
    }
    if (l2.status === 'fulfilled') app.heads.l2 = l2.value;
    renderPills(app);
    renderBalances(app);
    validate(app);
    const downs = [app.down.l1 && `the L1 RPC (${app.config.l1.rpcUrl})`, app.down.l2 && `the L2 RPC (${app.config.l2.rpcUrl})`].filter(Boolean);
    showRpcBanner(downs.length ? `Cannot reach ${downs.join(' or ')}. Is the devnet running? Retrying every few seconds…` : null);
    if (app.down.l1 || app.down.l2) return;

    if (!app.windows) {
      app.windows = await readWindows(app.c, app.config);
      renderNetwork(app);
    }
    const conn = app.conn;
    if (!conn) return;
    const [b1, b2, chainId] = await Promise.all([
      app.c.l1.getBalance({ address: conn.address }),
      app.c.l2.getBalance({ address: conn.address }),
      conn.chainId().catch(() => null),
    ]);
    if (app.conn !== conn) return;
    app.balances = { l1: b1, l2: b2 };
    app.walletChainId = chainId;
    await estimateFees(app);
    renderBalances(app);
    validate(app);
    await Promise.all([refreshWithdrawals(app), refreshDeposits(app)]);
  } catch (e) {
    console.warn('refresh failed', e);
  } finally {
    refreshing = false;
  }
}

async function estimateFees(app: App): Promise<void> {
  const conn = app.conn!;
  try {
    const [l1Fees, l2Fees] = await Promise.all([app.c.l1.estimateFeesPerGas(), app.c.l2.estimateFeesPerGas()]);
    const depositGas = await app.c.l1.estimateDepositTransactionGas({
      account: conn.address,
      request: { mint: 1n, to: conn.address, gas: 21_000n },
      targetChain: app.l2Chain as never,
    });
    const withdrawGas = await app.c.l2.estimateInitiateWithdrawalGas({
      account: conn.address,
      request: { to: conn.address, value: 1n, gas: 21_000n },
    });
    // A margin over the estimate: base fees move between the estimate and the block.
    app.fee.deposit = (depositGas * l1Fees.maxFeePerGas * 12n) / 10n;
    app.fee.withdraw = (withdrawGas * l2Fees.maxFeePerGas * 12n) / 10n;
  } catch (e) {
    console.warn('fee estimate failed', e);
  }
}

async function refreshWithdrawals(app: App): Promise<void> {
  const conn = app.conn!;
  const records = await scanWithdrawals(app.c, app.config, conn.address, app.scan);
  const game = await latestGame(app.c, app.l2Chain);
  const facts = await Promise.all(records.map((r) => withdrawalFacts(app.c, app.config, r, game, conn.address)));
  if (app.conn !== conn || !app.windows) return;
  records.forEach((record, i) => {
    const f = facts[i]!;
    const status = withdrawalStatus(f, app.windows!);
    const hash = record.withdrawal.withdrawalHash;
    let item = app.items.get(hash);
    if (!item) {
      item = { record, status, submitter: f.proof?.submitter ?? null, el: h('li', { class: 'witem', 'data-testid': 'withdrawal', 'data-hash': hash }) };
      app.items.set(hash, item);
      byId('wlist').prepend(item.el);
    }
    item.status = status;
    item.submitter = f.proof?.submitter ?? null;
    renderItem(app, item);
  });
  const empty = byId('withdrawals-empty');
  empty.hidden = records.length > 0;
  setText(empty, 'No withdrawals from this account yet.');
}

const SHOWN_DEPOSITS = 5;

async function refreshDeposits(app: App): Promise<void> {
  const conn = app.conn!;
  const records = await scanDeposits(app.c, app.config, conn.address, app.deposits);
  if (app.conn === conn) renderDeposits(records);
}

/** The newest deposits, each pending until the L2 has it; null: no account connected. */
function renderDeposits(records: DepositRecord[] | null): void {
  const list = byId('dlist');
  const empty = byId('deposits-empty');
  empty.hidden = records !== null && records.length > 0;
  setText(empty, records === null ? 'Connect an account to see its deposits.' : 'No deposits from this account yet.');
  const shown = (records ?? []).slice(-SHOWN_DEPOSITS).reverse();
  const key = shown.map((r) => `${r.l2Hash}:${r.l2BlockNumber}`).join(',') + `/${records?.length ?? 0}`;
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(
    ...shown.map((r) =>
      h('li', { 'data-testid': 'deposit', 'data-state': r.l2BlockNumber === null ? 'pending' : 'arrived', 'data-l2hash': r.l2Hash },
        h('strong', {}, `${formatEth(r.mint)} ETH`),
        h('span', { class: 'muted small' }, `L1 block ${r.l1BlockNumber} · `, mono(r.l1TxHash, 5)),
        h('span', { class: 'state' }, r.l2BlockNumber === null ? 'Pending on L2…' : `On L2 · block ${r.l2BlockNumber}`))),
    ...((records?.length ?? 0) > SHOWN_DEPOSITS ? [h('li', { class: 'muted small' }, `and ${records!.length - SHOWN_DEPOSITS} older`)] : []),
  );
}

function l1Now(app: App): number {
  // The L1's clock, advanced by the wall clock since the last head was read.
  return app.heads.l1Time + (Date.now() / 1000 - app.heads.seenAt);
}

function tick(app: App): void {
  for (const item of app.items.values()) {
    if (item.status.stage === 'proven') renderItem(app, item);
  }
}

// ---------------------------------------------------------------------------------------------
// Account.

const hooked = new WeakSet<object>();

function connect(app: App, conn: Connection): void {
  app.conn = conn;
  app.scan = newScanCache();
  app.deposits = newDepositCache();
  app.items.clear();
  app.actions.clear();
  renderDeposits(null);
  app.balances = { l1: null, l2: null };
  byId('wlist').replaceChildren();
  const provider = conn.provider;
  if (provider?.on && !hooked.has(provider)) {
    // Once per wallet: the handlers act on whichever of its accounts is connected then.
    hooked.add(provider);
    provider.on('chainChanged', (id: string) => {
      if (app.conn?.provider !== provider) return;
      app.walletChainId = Number(id);
      renderBalances(app);
    });
    provider.on('accountsChanged', (accounts: Address[]) => {
      const current = app.conn;
      if (current?.provider !== provider || !current.wallet) return;
      if (!accounts[0]) disconnect(app);
      else if (accounts[0].toLowerCase() !== current.address.toLowerCase()) connect(app, injectedAccount(current.wallet, accounts[0]));
    });
  }
  renderAccount(app);
  renderBridge(app);
  void refresh(app);
}

function disconnect(app: App): void {
  app.conn = null;
  localStorage.removeItem('bridge.devnetAccount');
  renderDeposits(null);
  app.items.clear();
  byId('wlist').replaceChildren();
  const empty = byId('withdrawals-empty');
  empty.hidden = false;
  setText(empty, 'Connect an account to see its withdrawals.');
  renderAccount(app);
  renderBridge(app);
}

function renderAccount(app: App): void {
  const card = byId('account');
  const conn = app.conn;
  if (conn) {
    card.replaceChildren(
      h('div', { class: 'row spread' },
        h('h2', {}, 'Account'),
        h('button', { class: 'link', 'data-testid': 'disconnect', type: 'button' }, 'Disconnect')),
      h('div', { class: 'who' },
        h('span', { class: conn.kind === 'devnet' ? 'badge warn' : 'badge' }, conn.kind === 'devnet' ? `${conn.label} · devnet only` : conn.label),
        h('code', { class: 'mono addr', 'data-testid': 'address', title: conn.address }, conn.address)),
      h('div', { class: 'balances' },
        h('div', { class: 'bal' }, h('span', { class: 'muted' }, `L1 · chain ${app.l1Chain.id}`), h('strong', { 'data-testid': 'l1-balance' }, '…')),
        h('div', { class: 'bal' }, h('span', { class: 'muted' }, `L2 · chain ${app.l2Chain.id}`), h('strong', { 'data-testid': 'l2-balance' }, '…'))),
      h('div', { id: 'wallet-network', 'data-testid': 'wallet-network', hidden: true }),
    );
    card.querySelector('[data-testid=disconnect]')!.addEventListener('click', () => disconnect(app));
    renderBalances(app);
    return;
  }

  const walletButtons = app.wallets.map((w) => {
    const button = h('button', { class: 'wallet', type: 'button', 'data-testid': `wallet-${w.info.rdns}` },
      w.info.icon ? h('img', { src: w.info.icon, alt: '', width: '20', height: '20' }) : null, w.info.name);
    button.addEventListener('click', async () => {
      try {
        connect(app, await injectedConnection(w));
      } catch (e) {
        showBanner(friendlyError(e, { action: 'connection request' }));
      }
    });
    return button;
  });
  const devnet = app.config.devnet;
  let devnetBlock: HTMLElement | null = null;
  if (devnet) {
    const select = h('select', { 'data-testid': 'devnet-account', 'aria-label': 'Devnet test account' },
      ...Array.from({ length: devnet.accounts }, (_, i) => {
        const address = devnetConnection(devnet.mnemonic, i).address;
        return h('option', { value: String(i) }, `#${i} ${address.slice(0, 8)}…${address.slice(-4)}`);
      }));
    const use = h('button', { class: 'secondary', type: 'button', 'data-testid': 'connect-devnet' }, 'Use test account');
    use.addEventListener('click', () => {
      const index = Number(select.value);
      localStorage.setItem('bridge.devnetAccount', String(index));
      connect(app, devnetConnection(devnet.mnemonic, index));
    });
    devnetBlock = h('div', { class: 'devnet' },
      h('h3', {}, 'Devnet test accounts ', h('span', { class: 'badge warn' }, 'devnet only')),
      h('p', { class: 'muted small' }, 'Funded on both chains and signed here in the page. Their keys come from the public test mnemonic: anyone can spend from them. Never use them on a real network.'),
      h('div', { class: 'row' }, select, use));
  }
  card.replaceChildren(
    h('h2', {}, 'Connect'),
    walletButtons.length
      ? h('div', { class: 'wallets', 'data-testid': 'wallets' }, ...walletButtons)
      : h('p', { class: 'muted', 'data-testid': 'no-wallet' }, 'No browser wallet found. Install one (any EIP-6963 wallet) or use a devnet test account.'),
    ...(devnetBlock ? [devnetBlock] : []),
  );
}

function renderBalances(app: App): void {
  const card = byId('account');
  const l1 = card.querySelector('[data-testid=l1-balance]');
  const l2 = card.querySelector('[data-testid=l2-balance]');
  const show = (el: Element, wei: bigint | null, down: boolean) => {
    const text = wei === null ? '…' : `${formatEth(wei)} ETH`;
    el.classList.toggle('stale', down);
    if (el.textContent === text) return;
    el.replaceChildren(wei === null ? '…' : formatEth(wei), wei === null ? '' : h('span', { class: 'unit' }, ' ETH'));
  };
  if (l1) show(l1, app.balances.l1, app.down.l1);
  if (l2) show(l2, app.balances.l2, app.down.l2);
  const net = card.querySelector<HTMLElement>('#wallet-network');
  if (!net) return;
  const id = app.walletChainId;
  const known = id === app.l1Chain.id || id === app.l2Chain.id;
  net.hidden = id === null || known;
  if (id === null || known) return;
  const toL1 = h('button', { class: 'secondary small', type: 'button', 'data-testid': 'switch-l1' }, `Switch to L1 (${app.l1Chain.id})`);
  const toL2 = h('button', { class: 'secondary small', type: 'button', 'data-testid': 'switch-l2' }, `Switch to L2 (${app.l2Chain.id})`);
  const doSwitch = (chain: Chain) => async () => {
    try {
      await app.conn!.walletFor(chain);
      app.walletChainId = chain.id;
      showBanner(null);
      renderBalances(app);
    } catch (e) {
      showBanner(friendlyError(e, { action: 'network switch' }));
    }
  };
  toL1.addEventListener('click', doSwitch(app.l1Chain));
  toL2.addEventListener('click', doSwitch(app.l2Chain));
  net.className = 'notice warn';
  net.replaceChildren(
    h('p', {}, `Wrong network: your wallet is on chain ${id}. This bridge uses ${app.l1Chain.name} for deposits, proofs and finalization, and ${app.l2Chain.name} for withdrawals. The page asks your wallet to switch when you act, or switch now:`),
    h('div', { class: 'row' }, toL1, toL2),
  );
}

// ---------------------------------------------------------------------------------------------
// Deposit / withdraw form.

function renderBridge(app: App): void {
  const card = byId('bridge');
  const tab = (mode: App['mode'], label: string) => {
    const b = h('button', { type: 'button', role: 'tab', class: app.mode === mode ? 'tab on' : 'tab', 'aria-selected': String(app.mode === mode), 'data-testid': `tab-${mode}` }, label);
    b.addEventListener('click', () => {
      if (app.busy) return;
      app.mode = mode;
      renderBridge(app);
    });
    return b;
  };
  const deposit = app.mode === 'deposit';
  const from = deposit ? app.l1Chain : app.l2Chain;
  const to = deposit ? app.l2Chain : app.l1Chain;
  const input = h('input', { id: 'amount', 'data-testid': 'amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.0', 'aria-describedby': 'amount-error' }) as HTMLInputElement;
  const submit = h('button', { class: 'primary', type: 'submit', 'data-testid': 'submit', disabled: !app.conn || app.busy }, deposit ? 'Deposit to L2' : 'Withdraw to L1');
  const form = h('form', { novalidate: true },
    h('div', { class: 'route' },
      h('div', {}, h('span', { class: 'muted small' }, 'From'), h('strong', {}, from.name)),
      h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'),
      h('div', {}, h('span', { class: 'muted small' }, 'To'), h('strong', {}, to.name))),
    h('label', { for: 'amount' }, 'Amount'),
    h('div', { class: 'amount' }, input, h('span', { class: 'unit' }, 'ETH')),
    h('p', { class: 'error small', id: 'amount-error', 'data-testid': 'amount-error', 'aria-live': 'polite' }),
    h('p', { class: 'muted small', 'data-testid': 'fee' }),
    deposit ? null : h('p', { class: 'muted small' }, 'Withdrawals take a proof and the challenge window on L1 before the ETH is there; proving and finalizing cost L1 gas.'),
    submit,
    h('div', { class: 'txstatus', 'data-testid': 'tx-status', 'aria-live': 'polite' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void send(app);
  });
  input.addEventListener('input', () => validate(app, true));
  card.replaceChildren(h('div', { class: 'tabs', role: 'tablist' }, tab('deposit', 'Deposit'), tab('withdraw', 'Withdraw')), form);
  validate(app);
}

/** Checks the amount field; `typing` shows errors only once something was typed. */
function validate(app: App, typing = false): ReturnType<typeof checkAmount> | null {
  const card = byId('bridge');
  const input = card.querySelector<HTMLInputElement>('[data-testid=amount]');
  const error = card.querySelector('[data-testid=amount-error]');
  const feeLine = card.querySelector('[data-testid=fee]');
  const submit = card.querySelector<HTMLButtonElement>('[data-testid=submit]');
  if (!input || !error || !feeLine || !submit) return null;
  const deposit = app.mode === 'deposit';
  const fee = deposit ? app.fee.deposit : app.fee.withdraw;
  const chain = deposit ? app.l1Chain : app.l2Chain;
  setText(feeLine, fee === null ? (app.conn ? 'Estimating the network fee…' : '') : `Network fee: about ${formatEth(fee, 8)} ETH on ${deposit ? 'L1' : 'L2'}${deposit ? '' : ' (plus a small L1 data fee)'}.`);
  if (!app.conn) {
    setText(error, '');
    submit.disabled = true;
    return null;
  }
  const check = checkAmount(input.value, {
    balance: deposit ? app.balances.l1 : app.balances.l2,
    feeReserve: fee ?? 0n,
    chainName: chain.name,
  });
  const show = typing || input.value.trim() !== '';
  setText(error, !check.ok && show ? check.error : '');
  input.setAttribute('aria-invalid', String(!check.ok && show));
  submit.disabled = app.busy || !check.ok || app.down.l1 || app.down.l2;
  return check;
}

function setTxStatus(lines: (string | Node)[], kind: 'pending' | 'done' | 'error' = 'pending'): void {
  const el = byId('bridge').querySelector<HTMLElement>('[data-testid=tx-status]');
  if (!el) return;
  el.className = `txstatus ${kind}`;
  el.dataset.state = kind;
  el.replaceChildren(...lines.map((l) => h('p', {}, l)));
}

async function send(app: App): Promise<void> {
  const check = validate(app, true);
  const conn = app.conn;
  if (!check?.ok || !conn || app.busy) return;
  app.busy = true;
  validate(app);
  const deposit = app.mode === 'deposit';
  const ctx = { action: deposit ? 'deposit' : 'withdrawal', l1Url: app.config.l1.rpcUrl, l2Url: app.config.l2.rpcUrl };
  const amount = `${formatEther(check.wei)} ETH`;
  try {
    if (deposit) {
      setTxStatus([`Depositing ${amount}: confirm in your wallet…`]);
      const wallet = (await conn.walletFor(app.l1Chain)).extend(walletActionsL1());
      const args = await app.c.l2.buildDepositTransaction({ account: conn.address, mint: check.wei, to: conn.address });
      const hash = await wallet.depositTransaction({ ...args, account: wallet.account!, chain: app.l1Chain } as never);
      setTxStatus([`Deposit of ${amount} sent on L1: `, mono(hash), 'Waiting for L1 to include it…']);
      const receipt = await app.c.l1.waitForTransactionReceipt({ hash, timeout: 120_000 });
      if (receipt.status !== 'success') throw new Error(`the L1 transaction ${hash} reverted`);
      const [l2Hash] = getL2TransactionHashes(receipt);
      setTxStatus([`Included in L1 block ${receipt.blockNumber}. Pending on L2: waiting for the sequencer to pick it up…`, mono(l2Hash!)]);
      const l2Receipt = await app.c.l2.waitForTransactionReceipt({ hash: l2Hash!, timeout: 180_000 });
      setTxStatus([`Deposit arrived on L2 in block ${l2Receipt.blockNumber}: ${amount} added to your L2 balance.`], 'done');
    } else {
      setTxStatus([`Withdrawing ${amount}: confirm in your wallet…`]);
      const wallet = (await conn.walletFor(app.l2Chain)).extend(walletActionsL2());
      const args = await app.c.l1.buildInitiateWithdrawal({ account: conn.address, to: conn.address, value: check.wei, targetChain: app.l2Chain } as never);
      const hash = await wallet.initiateWithdrawal({ ...(args as object), account: wallet.account!, chain: app.l2Chain } as never);
      setTxStatus([`Withdrawal of ${amount} sent on L2: `, mono(hash), 'Waiting for the L2 block…']);
      const receipt = await app.c.l2.waitForTransactionReceipt({ hash, timeout: 60_000 });
      if (receipt.status !== 'success') throw new Error(`the L2 transaction ${hash} reverted`);
      setTxStatus([`Withdrawal initiated in L2 block ${receipt.blockNumber}. Follow it below: it needs a proposal, a proof and the challenge window.`], 'done');
    }
    const input = byId('bridge').querySelector<HTMLInputElement>('[data-testid=amount]');
    if (input) input.value = '';
  } catch (e) {
    setTxStatus([friendlyError(e, ctx)], 'error');
  } finally {
    app.busy = false;
    validate(app);
    void refresh(app);
  }
}

// ---------------------------------------------------------------------------------------------
// Withdrawals.

function renderItem(app: App, item: Item): void {
  const { record, status } = item;
  const w = record.withdrawal;
  const hash = w.withdrawalHash;
  const el = item.el;
  el.dataset.stage = status.stage;
  const action = app.actions.get(hash);
  const now = l1Now(app);
  const left = status.finalizableAt === null ? null : secondsUntil(status.finalizableAt, now);

  if (!el.firstChild) {
    const prove = h('button', { class: 'primary small', type: 'button', 'data-testid': 'prove', hidden: true }, 'Prove on L1');
    const finalize = h('button', { class: 'primary small', type: 'button', 'data-testid': 'finalize', hidden: true }, 'Finalize on L1');
    prove.addEventListener('click', () => void proveWithdrawal(app, item));
    finalize.addEventListener('click', () => void finalizeWithdrawal(app, item));
    el.append(
      h('div', { class: 'row spread' },
        h('strong', { class: 'wamount' }, `${formatEth(w.value)} ETH`),
        h('span', { class: 'muted small' }, 'L2 block ', String(record.l2BlockNumber), ' · ', mono(hash, 5))),
      h('ol', { class: 'timeline' }),
      h('p', { class: 'wstatus', 'data-testid': 'withdrawal-status' }),
      h('p', { class: 'countdown', 'data-testid': 'countdown', hidden: true }),
      h('div', { class: 'row' }, prove, finalize),
      h('p', { class: 'small waction', 'data-testid': 'withdrawal-action', hidden: true }),
    );
  }
  const steps = timeline(status.stage);
  const ol = el.querySelector('.timeline')!;
  if (ol.children.length !== steps.length) ol.replaceChildren(...steps.map(() => h('li', {})));
  steps.forEach((step, i) => {
    const li = ol.children[i] as HTMLElement;
    li.className = step.state;
    li.dataset.step = step.key;
    setText(li, step.label);
  });
  setText(el.querySelector('[data-testid=withdrawal-status]')!, describeStage(status, now));
  const countdown = el.querySelector<HTMLElement>('[data-testid=countdown]')!;
  countdown.hidden = status.stage !== 'proven';
  setText(countdown, left === null ? '' : left > 0 ? formatCountdown(left) : '0:00');
  const busy = action !== undefined && !action.error;
  const prove = el.querySelector<HTMLButtonElement>('[data-testid=prove]')!;
  const finalize = el.querySelector<HTMLButtonElement>('[data-testid=finalize]')!;
  prove.hidden = !status.canProve;
  setText(prove, status.stage === 'game-lost' ? 'Prove again on L1' : 'Prove on L1');
  prove.disabled = busy;
  finalize.hidden = !status.canFinalize;
  finalize.disabled = busy;
  const line = el.querySelector<HTMLElement>('[data-testid=withdrawal-action]')!;
  line.hidden = !action;
  line.className = `small waction${action?.error ? ' error' : ''}`;
  setText(line, action?.text ?? '');
}

function setAction(app: App, item: Item, text: string | null, error = false): void {
  const hash = item.record.withdrawal.withdrawalHash;
  if (text === null) app.actions.delete(hash);
  else app.actions.set(hash, { text, error });
  renderItem(app, item);
}

async function proveWithdrawal(app: App, item: Item): Promise<void> {
  const conn = app.conn;
  if (!conn) return;
  const ctx = { action: 'proof', l1Url: app.config.l1.rpcUrl, l2Url: app.config.l2.rpcUrl };
  try {
    setAction(app, item, 'Building the proof from the latest proposal…');
    const game = await app.c.l1.getGame({ targetChain: app.l2Chain as never, l2BlockNumber: item.record.l2BlockNumber });
    const args = await app.c.l2.buildProveWithdrawal({ account: conn.address, withdrawal: item.record.withdrawal, game } as never);
    setAction(app, item, 'Proving: confirm in your wallet…');
    const wallet = (await conn.walletFor(app.l1Chain)).extend(walletActionsL1());
    const hash = await wallet.proveWithdrawal({ ...(args as object), account: wallet.account!, chain: app.l1Chain } as never);
    setAction(app, item, `Proof sent on L1 (${hash.slice(0, 10)}…); waiting for its block…`);
    const receipt = await app.c.l1.waitForTransactionReceipt({ hash, timeout: 120_000 });
    if (receipt.status !== 'success') throw new Error(`the proof transaction ${hash} reverted`);
    setAction(app, item, null);
  } catch (e) {
    setAction(app, item, friendlyError(e, ctx), true);
  }
  void refresh(app);
}

async function finalizeWithdrawal(app: App, item: Item): Promise<void> {
  const conn = app.conn;
  if (!conn) return;
  const ctx = { action: 'finalization', l1Url: app.config.l1.rpcUrl, l2Url: app.config.l2.rpcUrl };
  try {
    setAction(app, item, 'Finalizing: confirm in your wallet…');
    const wallet = (await conn.walletFor(app.l1Chain)).extend(walletActionsL1());
    const submitter = item.submitter && item.submitter.toLowerCase() !== conn.address.toLowerCase() ? item.submitter : undefined;
    const hash = await wallet.finalizeWithdrawal({
      withdrawal: item.record.withdrawal,
      targetChain: app.l2Chain,
      proofSubmitter: submitter,
      account: wallet.account!,
      chain: app.l1Chain,
    } as never);
    setAction(app, item, `Finalization sent on L1 (${hash.slice(0, 10)}…); waiting for its block…`);
    const receipt = await app.c.l1.waitForTransactionReceipt({ hash, timeout: 120_000 });
    if (receipt.status !== 'success') throw new Error(`the finalization ${hash} reverted`);
    setAction(app, item, null);
  } catch (e) {
    setAction(app, item, friendlyError(e, ctx), true);
  }
  void refresh(app);
}

// ---------------------------------------------------------------------------------------------
// Header and network card.

function renderPills(app: App): void {
  const pill = (id: string, name: string, chain: Chain, head: bigint | null, down: boolean) => {
    const el = byId(id);
    el.classList.toggle('down', down);
    setText(el.querySelector('.text')!, down ? `${name} ${chain.id} · down` : `${name} ${chain.id} · #${head ?? '…'}`);
  };
  pill('l1-pill', 'L1', app.l1Chain, app.heads.l1, app.down.l1);
  pill('l2-pill', 'L2', app.l2Chain, app.heads.l2, app.down.l2);
}

function seconds(s: number | undefined): string {
  if (s === undefined) return '…';
  return s >= 120 ? `${formatCountdown(s)} (${s} s)` : `${s} s`;
}

function renderNetwork(app: App): void {
  const a = app.config.addresses;
  const w = app.windows;
  const row = (label: string, value: Node | string, testid?: string) =>
    h('div', { class: 'kv' }, h('dt', {}, label), h('dd', testid ? { 'data-testid': testid } : {}, value));
  byId('network').replaceChildren(
    h('h2', {}, 'Network'),
    h('dl', {},
      row('L1', `${app.l1Chain.name} · ${app.config.l1.rpcUrl}`, 'net-l1'),
      row('L2', `${app.l2Chain.name} · ${app.config.l2.rpcUrl}`, 'net-l2'),
      row('Challenge window', seconds(w?.challengeWindow), 'challenge-window'),
      row('Proof maturity delay', seconds(w?.proofMaturityDelay)),
      row('Game finality delay', seconds(w?.gameFinalityDelay)),
      row('OptimismPortal (L1)', mono(a.OptimismPortal, 21)),
      row('DisputeGameFactory (L1)', mono(a.DisputeGameFactory, 21)),
      row('AnchorStateRegistry (L1)', mono(a.AnchorStateRegistry, 21)),
      row('L2ToL1MessagePasser (L2)', mono(a.L2ToL1MessagePasser, 21))),
  );
}

void start();
