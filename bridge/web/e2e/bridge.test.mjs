// The bridge page as a new user meets it: Debian's chromium (headless, driven by playwright-core)
// opens the page that `op-node devnet` serves, on a devnet this test starts itself (real node, real
// chains, free loopback ports, short bridge windows), and clicks through a deposit and a whole
// withdrawal (initiate, proposal, prove, challenge window, finalize), then the error paths it can
// cause for real: amounts too large or malformed, a wallet on the wrong network, a rejected network
// switch, a rejected signature, an RPC that goes down. A screenshot of every stage goes to
// testdata/screenshots/ (git-ignored).
//
// Needs: target/release/op-node (or OP_NODE_BIN), bridge/web/dist (npm run build), /usr/bin/chromium
// (or CHROMIUM), and testdata/js's npm packages (the node harness there uses ethers).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT, freePort, startNode } from '../../../testdata/js/lib/node.mjs';

const DIST = path.join(REPO_ROOT, 'bridge/web/dist');
const SHOTS = path.join(REPO_ROOT, 'testdata/screenshots');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const BRIDGE_FLAGS = ['--challenge-window', '4', '--proof-maturity-delay', '8', '--game-finality-delay', '2', '--proposal-interval', '20'];
const STAGE_MS = 60_000;
const ETH = 10n ** 18n;
const MNEMONIC_ACCOUNT_3 = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const MNEMONIC_ACCOUNT_5 = '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc';

async function rpc(url, method, params = []) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}
const balance = async (url, address) => BigInt(await rpc(url, 'eth_getBalance', [address, 'latest']));

/**
 * An EIP-6963 wallet inside the page, for the paths no devnet account can take: it starts on
 * chain 1, knows no other chain until the page adds it, can be told to refuse a network switch,
 * and refuses every signature as a person pressing "Reject" would. Reads go to the real chains.
 */
function installTestWallet({ address, eip6963 = true }) {
  const state = { chainId: 1, known: [1], rejectSwitch: false, calls: [] };
  window.__testWallet = state;
  const listeners = {};
  const emit = (event, value) => (listeners[event] ?? []).forEach((f) => f(value));
  const fail = (code, message) => Object.assign(new Error(message), { code });
  let urls = null;
  const rpcUrl = async (chainId) => {
    if (!urls) {
      const c = await (await fetch('/config.json')).json();
      urls = { [c.l1.chainId]: c.l1.rpcUrl, [c.l2.chainId]: c.l2.rpcUrl };
    }
    return urls[chainId];
  };
  const provider = {
    async request({ method, params }) {
      state.calls.push(method);
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return [address];
        case 'eth_chainId':
          return `0x${state.chainId.toString(16)}`;
        case 'wallet_switchEthereumChain': {
          if (state.rejectSwitch) throw fail(4001, 'User rejected the request.');
          const id = Number(params[0].chainId);
          if (!state.known.includes(id)) throw fail(4902, `Unrecognized chain ID "${params[0].chainId}".`);
          state.chainId = id;
          emit('chainChanged', params[0].chainId);
          return null;
        }
        case 'wallet_addEthereumChain':
          if (state.rejectSwitch) throw fail(4001, 'User rejected the request.');
          state.known.push(Number(params[0].chainId));
          return null;
        case 'eth_sendTransaction':
        case 'eth_signTransaction':
          throw fail(4001, 'User rejected the request.');
        default: {
          const url = await rpcUrl(state.chainId);
          if (!url) throw fail(4901, `not connected to chain ${state.chainId}`);
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params ?? [] }) });
          const body = await res.json();
          if (body.error) throw Object.assign(new Error(body.error.message), body.error);
          return body.result;
        }
      }
    },
    on(event, f) {
      (listeners[event] ??= []).push(f);
    },
    removeListener(event, f) {
      listeners[event] = (listeners[event] ?? []).filter((g) => g !== f);
    },
  };
  const info = { uuid: '5b3c2e55-0c1e-4b8e-9a43-7d1f2a9e0c11', name: 'Test Wallet', icon: 'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"%3E%3Crect width="8" height="8" rx="2" fill="%23345"/%3E%3C/svg%3E', rdns: 'dev.test.wallet' };
  if (!eip6963) {
    // An older wallet: only the plain EIP-1193 global.
    window.ethereum = provider;
    return;
  }
  const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }));
  window.addEventListener('eip6963:requestProvider', announce);
  announce();
}

describe('bridge page in chromium against op-node devnet', () => {
  let node;
  let browser;
  let web;
  let config;
  let page;
  let shot = 0;

  /** Saves a screenshot of the whole page as testdata/screenshots/NN-name.png. */
  async function snap(p, name) {
    shot += 1;
    await p.screenshot({ path: path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  }

  async function newPage(viewport = { width: 1280, height: 900 }) {
    const context = await browser.newContext({ viewport });
    const p = await context.newPage();
    p.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    return p;
  }

  const stage = (p, s) => p.waitForSelector(`[data-testid=withdrawal][data-stage="${s}"]`, { timeout: STAGE_MS });

  before(async () => {
    assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `${DIST}/index.html missing: build the page (cd bridge/web && npm ci && npm run build)`);
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium (scripts/test does it)`);
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (f.endsWith('.png')) fs.rmSync(path.join(SHOTS, f));
    const webPort = await freePort();
    node = await startNode({ name: 'web', args: ['--web-port', String(webPort), '--web-dir', DIST, ...BRIDGE_FLAGS] });
    web = `http://127.0.0.1:${webPort}`;
    config = await (await fetch(`${web}/config.json`)).json();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
  });

  test('the node serves the page and its configuration', async () => {
    assert.equal(config.l1.chainId, 900);
    assert.equal(config.l2.chainId, 901);
    assert.equal(config.l2.rpcUrl, node.url);
    assert.equal(config.addresses.OptimismPortal.toLowerCase(), JSON.parse(fs.readFileSync(path.join(node.datadir, 'addresses.json'), 'utf8')).OptimismPortal.toLowerCase());
    const index = await fetch(`${web}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /^text\/html/);
    const outside = await fetch(`${web}/..%2f..%2fCargo.toml`);
    assert.equal(outside.status, 404);
    assert.equal((await fetch(`${web}/`, { method: 'POST' })).status, 405);
  });

  test('connect a devnet account: balances, network, addresses and challenge window', async () => {
    page = await newPage();
    await page.goto(web);
    await page.waitForSelector('[data-testid=connect-devnet]');
    await page.waitForFunction(() => document.querySelector('[data-testid=challenge-window]')?.textContent === '4 s');
    await snap(page, 'connect');
    const network = await page.textContent('[data-testid=network-card]');
    assert.match(network, new RegExp(config.addresses.OptimismPortal.slice(0, 10), 'i'));
    assert.match(network, /Proof maturity delay8 s/);
    await page.selectOption('[data-testid=devnet-account]', '3');
    await page.click('[data-testid=connect-devnet]');
    assert.equal(await page.textContent('[data-testid=address]'), MNEMONIC_ACCOUNT_3);
    await page.waitForFunction(() => document.querySelector('[data-testid=l1-balance]')?.textContent === '10000 ETH');
    await page.waitForFunction(() => document.querySelector('[data-testid=l2-balance]')?.textContent === '10000 ETH');
    assert.match(await page.textContent('[data-testid=account-card]'), /devnet only/);
    await page.waitForFunction(() => /Network fee: about/.test(document.querySelector('[data-testid=fee]')?.textContent ?? ''));
    await snap(page, 'connected');
  });

  test('amount validation: malformed, zero, more than the balance', async () => {
    const error = () => page.textContent('[data-testid=amount-error]');
    await page.fill('[data-testid=amount]', '1.2.3');
    assert.match(await error(), /is not an amount/);
    await page.fill('[data-testid=amount]', '0');
    assert.match(await error(), /more than zero/);
    await page.fill('[data-testid=amount]', '0.0000000000000000001');
    assert.match(await error(), /at most 18 decimals/);
    await page.fill('[data-testid=amount]', '10000');
    assert.match(await error(), /Balance too small: .* fees/);
    assert.equal(await page.isDisabled('[data-testid=submit]'), true);
    await snap(page, 'too-large-amount');
  });

  test('deposit 1.5 ETH: pending until it is seen on L2, then the L2 balance shows it', async () => {
    const l2Before = await balance(node.url, MNEMONIC_ACCOUNT_3);
    await page.fill('[data-testid=amount]', '1.5');
    assert.equal(await page.textContent('[data-testid=amount-error]'), '');
    await page.click('[data-testid=submit]');
    await page.waitForSelector('[data-testid=tx-status][data-state=pending]');
    await snap(page, 'deposit-pending');
    await page.waitForSelector('[data-testid=tx-status][data-state=done]', { timeout: STAGE_MS });
    assert.match(await page.textContent('[data-testid=tx-status]'), /arrived on L2 in block \d+/);
    assert.equal(await balance(node.url, MNEMONIC_ACCOUNT_3), l2Before + (3n * ETH) / 2n, 'L2 balance + 1.5 ETH');
    await page.waitForFunction(() => document.querySelector('[data-testid=l2-balance]')?.textContent === '10001.5 ETH');
    await page.waitForSelector('[data-testid=deposit][data-state=arrived]');
    assert.match(await page.textContent('[data-testid=deposit]'), /1\.5 ETH.*On L2 · block \d+/);
    await snap(page, 'deposit-arrived');
  });

  test('withdraw 0.5 ETH: initiate, proposal, prove, challenge window with countdown, finalize; the L1 balance rises', async () => {
    await page.click('[data-testid=tab-withdraw]');
    await page.fill('[data-testid=amount]', '0.5');
    await page.click('[data-testid=submit]');
    await page.waitForSelector('[data-testid=tx-status][data-state=done]', { timeout: STAGE_MS });
    assert.match(await page.textContent('[data-testid=tx-status]'), /Withdrawal initiated in L2 block \d+/);
    const item = await page.waitForSelector('[data-testid=withdrawal]', { timeout: STAGE_MS });
    const first = await item.getAttribute('data-stage');
    assert.ok(['waiting-for-proposal', 'ready-to-prove'].includes(first), `first stage ${first}`);
    await snap(page, 'withdrawal-initiated');

    await stage(page, 'ready-to-prove');
    await snap(page, 'withdrawal-ready-to-prove');
    const l1BeforeProof = await balance(config.l1.rpcUrl, MNEMONIC_ACCOUNT_3);
    await page.click('[data-testid=withdrawal] [data-testid=prove]');
    await stage(page, 'proven');
    await page.waitForSelector('[data-testid=withdrawal] [data-testid=countdown]:not([hidden])');
    const countdowns = new Set();
    for (let i = 0; i < 3; i++) {
      const text = await page.textContent('[data-testid=withdrawal] [data-testid=countdown]');
      if (text) countdowns.add(text);
      if (i === 0) await snap(page, 'withdrawal-proven-challenge-window');
      await page.waitForTimeout(1100);
    }
    assert.ok(countdowns.size >= 2 || [...countdowns].includes('0:00'), `the countdown did not move: ${[...countdowns]}`);
    assert.match(await page.textContent('[data-testid=withdrawal] [data-testid=withdrawal-status]'), /challenge window/);

    await stage(page, 'ready-to-finalize');
    await snap(page, 'withdrawal-ready-to-finalize');
    const l1Before = await balance(config.l1.rpcUrl, MNEMONIC_ACCOUNT_3);
    assert.ok(l1Before < l1BeforeProof, 'proving cost L1 gas');
    await page.click('[data-testid=withdrawal] [data-testid=finalize]');
    await stage(page, 'finalized');
    const l1After = await balance(config.l1.rpcUrl, MNEMONIC_ACCOUNT_3);
    const gained = l1After - l1Before;
    assert.ok(gained > (49n * ETH) / 100n && gained < ETH / 2n, `L1 balance changed by ${gained} wei: expected 0.5 ETH less the finalization's gas`);
    await page.waitForFunction(
      (want) => document.querySelector('[data-testid=l1-balance]')?.textContent === want,
      `${formatEth(l1After)} ETH`,
      { timeout: 10_000 },
    );
    const steps = await page.$$eval('[data-testid=withdrawal] .timeline li', (lis) => lis.map((li) => li.className));
    assert.deepEqual(steps, ['done', 'done', 'done', 'done', 'done', 'done']);
    await snap(page, 'withdrawal-finalized');
  });

  test('a fresh browser at phone width rebuilds the withdrawal list from the chains', async () => {
    const phone = await newPage({ width: 390, height: 844 });
    await phone.goto(web);
    await phone.selectOption('[data-testid=devnet-account]', '3');
    await phone.click('[data-testid=connect-devnet]');
    await stage(phone, 'finalized');
    assert.equal(await phone.locator('[data-testid=withdrawal]').count(), 1);
    await phone.waitForSelector('[data-testid=deposit][data-state=arrived]');
    assert.equal(await phone.locator('[data-testid=deposit]').count(), 1);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} px wide at a 390 px viewport`);
    await snap(phone, 'phone-reloaded-withdrawals');
    await phone.context().close();
  });

  test('an injected wallet on the wrong network: the message, a refused switch, a rejected signature', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(installTestWallet, { address: MNEMONIC_ACCOUNT_5 });
    const p = await context.newPage();
    await p.goto(web);
    await p.click('[data-testid="wallet-dev.test.wallet"]');
    await p.waitForSelector('[data-testid=wallet-network]:not([hidden])');
    assert.match(await p.textContent('[data-testid=wallet-network]'), /Wrong network: your wallet is on chain 1\b/);
    await snap(p, 'wrong-network');

    await p.evaluate(() => {
      window.__testWallet.rejectSwitch = true;
    });
    await p.click('[data-testid=switch-l1]');
    await p.waitForSelector('[data-testid=banner]:not([hidden])');
    assert.match(await p.textContent('[data-testid=banner]'), /You rejected the network switch/);
    // It stays through the page's refreshes (every 1.5 s) until dismissed.
    await p.waitForTimeout(2000);
    assert.equal(await p.isVisible('[data-testid=banner]'), true, 'the rejection message vanished on its own');
    await snap(p, 'rejected-network-switch');
    await p.click('[data-testid=banner] .close');
    assert.equal(await p.isHidden('[data-testid=banner]'), true);

    await p.evaluate(() => {
      window.__testWallet.rejectSwitch = false;
    });
    await p.waitForFunction(() => document.querySelector('[data-testid=l1-balance]')?.textContent === '10000 ETH');
    await p.fill('[data-testid=amount]', '0.1');
    await p.click('[data-testid=submit]');
    await p.waitForSelector('[data-testid=tx-status][data-state=error]', { timeout: 20_000 });
    assert.match(await p.textContent('[data-testid=tx-status]'), /You rejected the deposit in your wallet/);
    const calls = await p.evaluate(() => window.__testWallet.calls);
    assert.ok(calls.includes('wallet_addEthereumChain'), `the page added the L1 to the wallet: ${calls}`);
    assert.equal(await p.evaluate(() => window.__testWallet.chainId), 900, 'the wallet was switched to the L1');
    assert.equal(await p.isHidden('[data-testid=wallet-network]'), true, 'no wrong-network message once on the L1');
    await snap(p, 'rejected-signature');
    await context.close();
  });

  test('a wallet that only sets window.ethereum is offered too', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(installTestWallet, { address: MNEMONIC_ACCOUNT_5, eip6963: false });
    const p = await context.newPage();
    await p.goto(web);
    await p.click('[data-testid="wallet-window.ethereum"]');
    assert.equal(await p.textContent('[data-testid=address]'), MNEMONIC_ACCOUNT_5);
    assert.match(await p.textContent('[data-testid=account-card]'), /Browser wallet/);
    await context.close();
  });

  test('the RPC goes down: the page says so', async () => {
    await node.terminate();
    await page.waitForSelector('[data-testid=rpc-banner]:not([hidden])', { timeout: 20_000 });
    assert.match(await page.textContent('[data-testid=rpc-banner]'), /Cannot reach the L1 RPC \(http:\/\/127\.0\.0\.1:\d+\) or the L2 RPC/);
    await page.fill('[data-testid=amount]', '0.1');
    assert.equal(await page.isDisabled('[data-testid=submit]'), true, 'nothing can be sent while the chains are unreachable');
    await snap(page, 'rpc-down');
  });
});

/** The page's own balance format (src/validate.ts formatEth): six decimals at most, no trailing zeros. */
function formatEth(wei) {
  const whole = wei / ETH;
  const frac = (wei % ETH).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}
