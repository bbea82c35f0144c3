// Acceptance of issue 4: a second, independent node rebuilds the exact L2 chain from L1 data alone.
//   - `op-node devnet` (sequencer, batcher, embedded L1) under mixed traffic: ETH transfers, ERC-20
//     transfers, Uniswap V2 swaps (the npm bytecode, unchanged), deposits and withdrawals (viem);
//   - `op-node verifier --l1-rpc --rollup-config --datadir --rpc-port` beside it, killed with SIGKILL and
//     restarted mid-sync, and a second verifier started later from an empty data directory;
//   - every safe height: the same block hash and state root on the sequencer and the verifiers.
// Then the faults derivation must survive: an L1 reorg (the embedded L1's anvil_reorg) under the blocks
// derivation used, and a sequencer that censors a deposit until, its sequencing window passed, a user
// forces the epoch on the batch inbox (BATCHES.md §4.4).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MaxUint256, parseEther as ethersParse } from "ethers";
import { parseEther } from "viem";
import { getL2TransactionHashes, getWithdrawals } from "viem/op-stack";
import { makeProvider, sleep, startNode, startVerifier, testWallets } from "../lib/node.mjs";
import { artifact, deploy, npmBuild } from "../lib/contracts.mjs";
import { rpc, rpcError } from "../lib/rpc.mjs";
import { assertSameChain, safeOf, until as waitUntil } from "../lib/chain-check.mjs";
import { loadRollup, stringify } from "../lib/rollup.mjs";
import { batchInbox } from "../lib/inbox.mjs";

const TRAFFIC_MS = Number(process.env.VERIFIER_TRAFFIC_MS ?? 45_000);
const WAIT_MS = 90_000;

const until = (what, fn, limitMs = WAIT_MS, everyMs = 250) => waitUntil(what, fn, limitMs, everyMs);

/** Mixed traffic until `stop.at`: transfers, ERC-20, Uniswap swaps, deposits and withdrawals. */
async function traffic(seq, r, stop) {
  const provider = makeProvider(seq.url);
  const wallets = testWallets(provider);
  const [deployer, erc, swapper, payer] = [wallets[1], wallets[2], wallets[3], wallets[4]];
  const counts = { transfers: 0, erc20: 0, swaps: 0, deposits: 0, withdrawals: 0, failed: 0 };
  try {
    const token = (await deploy(erc, artifact("TestToken"), ["Token", "TK", ethersParse("1000000")])).contract;
    const weth = (await deploy(deployer, npmBuild("@uniswap/v2-periphery", "WETH9"))).contract;
    const factory = (await deploy(deployer, npmBuild("@uniswap/v2-core", "UniswapV2Factory"), [deployer.address])).contract;
    const router = (await deploy(deployer, npmBuild("@uniswap/v2-periphery", "UniswapV2Router02"), [await factory.getAddress(), await weth.getAddress()])).contract;
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
    await (await token.approve(await router.getAddress(), MaxUint256)).wait();
    const liquidity = await router.connect(erc).addLiquidityETH(await token.getAddress(), ethersParse("10000"), 0, 0, erc.address, deadline, { value: ethersParse("10") });
    await liquidity.wait();
    const path = [await weth.getAddress(), await token.getAddress()];

    const deposits = (async () => {
      const w = r.wallet(5);
      while (Date.now() < stop.at) {
        const args = await r.l2.buildDepositTransaction({ account: w.account, mint: parseEther("0.01"), to: w.address });
        const hash = await w.l1.depositTransaction(args);
        const receipt = await r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
        await r.l2.waitForTransactionReceipt({ hash: getL2TransactionHashes(receipt)[0], timeout: 30_000 });
        counts.deposits += 1;
      }
    })();
    const withdrawals = (async () => {
      const w = r.wallet(6);
      while (Date.now() < stop.at) {
        const args = await r.l1.buildInitiateWithdrawal({ account: w.account, to: w.address, value: parseEther("0.001") });
        const hash = await w.l2.initiateWithdrawal(args);
        const receipt = await r.l2.waitForTransactionReceipt({ hash, timeout: 30_000 });
        assert.equal(getWithdrawals(receipt).length, 1);
        counts.withdrawals += 1;
      }
    })();
    while (Date.now() < stop.at) {
      const sent = [];
      for (let i = 0; i < 10; i++) {
        sent.push(await payer.sendTransaction({ to: `0x${(0x1000 + counts.transfers + i).toString(16).padStart(40, "0")}`, value: 1n + BigInt(i) }));
      }
      counts.transfers += sent.length;
      for (let i = 0; i < 5; i++) sent.push(await token.transfer(`0x${(0x2000 + counts.erc20 + i).toString(16).padStart(40, "0")}`, 1000n + BigInt(i)));
      counts.erc20 += 5;
      // A fixed gas limit: an estimate made within the second of the last swap skips the pair's price
      // accumulator writes that the mined swap, a second later, may pay for (see uniswap.test.mjs).
      sent.push(await router.connect(swapper).swapExactETHForTokens(0, path, swapper.address, deadline, { value: ethersParse("0.01"), gasLimit: 300_000 }));
      counts.swaps += 1;
      // Failing transactions between the valid ones: a transfer of more tokens than the sender
      // holds (reverts) and one with too little gas (out of gas). Each must leave nothing behind
      // but its nonce and fee, on the sequencer and on every verifier that derives the block.
      const failing = [
        await token.transfer(`0x${(0x3000 + counts.failed).toString(16).padStart(40, "0")}`, ethersParse("1000000000"), { gasLimit: 100_000 }),
        await token.transfer(`0x${(0x3000 + counts.failed + 1).toString(16).padStart(40, "0")}`, 1n, { gasLimit: 23_000 }),
      ];
      counts.failed += failing.length;
      sent.push(await payer.sendTransaction({ to: `0x${(0x4000 + counts.failed).toString(16).padStart(40, "0")}`, value: 1n }));
      counts.transfers += 1;
      const receipts = await Promise.all(sent.map((t) => t.wait(1, 30_000)));
      for (const receipt of receipts) assert.equal(receipt.status, 1);
      for (const t of failing) {
        const receipt = await provider.waitForTransaction(t.hash, 1, 30_000);
        assert.equal(receipt.status, 0, `failing transaction ${t.hash} failed`);
      }
    }
    await Promise.all([deposits, withdrawals]);
  } finally {
    provider.destroy();
  }
  return counts;
}

describe("verifier: the L2 chain from L1 data alone", () => {
  let seq;
  let r;
  const verifiers = [];
  before(async () => {
    seq = await startNode({ name: "verifier-seq", args: ["--proposal-interval", "50"] });
    r = loadRollup(seq.datadir, seq.url);
  });
  after(async () => {
    for (const v of verifiers) await v.stop();
    await seq?.stop();
  });

  test("a verifier killed and restarted mid-sync, and one started from empty, match the sequencer at every safe height", async () => {
    const a = await startVerifier(seq, { name: "verifier-a" });
    verifiers.push(a);
    const stop = { at: Date.now() + TRAFFIC_MS };
    const load = traffic(seq, r, stop);
    // Kill -9 the verifier mid-sync, then start it again on the same data directory.
    await sleep(TRAFFIC_MS / 3);
    const before = await safeOf(a.url);
    await a.kill9();
    await sleep(2000);
    await a.restart();
    const counts = await load;
    assert.ok(counts.transfers > 0 && counts.erc20 > 0 && counts.swaps > 0 && counts.deposits > 0 && counts.withdrawals > 0 && counts.failed > 0, `traffic of every kind: ${stringify(counts)}`);

    // The verifier comes up to the sequencer's safe head of now.
    const target = await safeOf(seq.url);
    assert.ok(target > 0, "the sequencer's own blocks become safe as their batches land on L1");
    await until(`verifier safe head reaching ${target}`, async () => (await safeOf(a.url)) >= target);
    assert.ok((await safeOf(a.url)) > before, "the restarted verifier continued");
    const txs = await assertSameChain(seq.url, a.url, target, "restarted verifier");
    assert.ok(txs > counts.transfers, `the compared blocks hold the traffic (${txs} transactions)`);

    // "safe" and "finalized" tags answer the derived heads; a verifier takes no transactions.
    const safeBlock = await rpc(a.url, "eth_getBlockByNumber", ["safe", false]);
    assert.ok(Number(safeBlock.number) >= target);
    const finalized = await rpc(a.url, "eth_getBlockByNumber", ["finalized", false]);
    assert.ok(BigInt(finalized.number) <= BigInt(safeBlock.number));
    const refused = await rpcError(a.url, "eth_sendRawTransaction", ["0x02"]);
    assert.match(refused.error.message, /verifier/);

    // A verifier from an empty data directory catches up with all of it.
    const started = Date.now();
    const b = await startVerifier(seq, { name: "verifier-b" });
    verifiers.push(b);
    await until(`fresh verifier reaching ${target}`, async () => (await safeOf(b.url)) >= target);
    const seconds = (Date.now() - started) / 1000;
    await assertSameChain(seq.url, b.url, target, "fresh verifier");
    console.log(`# verifier sync from empty: ${target} L2 blocks, ${txs} transactions in ${seconds.toFixed(1)} s (${(target / seconds).toFixed(0)} blocks/s) — traffic ${stringify(counts)}`);
  });

  test("an L1 reorg under derived blocks: both nodes rewind, re-derive, and agree; the reorged deposit is derived again once", async () => {
    const v = verifiers[0];
    const w = r.wallet(7);
    const amount = parseEther("0.5");
    const balance0 = await r.l2.getBalance({ address: w.address });
    const args = await r.l2.buildDepositTransaction({ account: w.account, mint: amount, to: w.address });
    const hash = await w.l1.depositTransaction(args);
    const receipt = await r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    const [l2Hash] = getL2TransactionHashes(receipt);
    const l2Receipt = await r.l2.waitForTransactionReceipt({ hash: l2Hash, timeout: 30_000 });
    // Wait until the deposit's block is safe on both nodes, so the reorg really undoes derived blocks.
    const depositBlock = Number(l2Receipt.blockNumber);
    await until("the deposit's L2 block safe on both", async () => (await safeOf(seq.url)) >= depositBlock && (await safeOf(v.url)) >= depositBlock);
    const l1Head = await r.l1.getBlockNumber();
    const depth = Number(l1Head - receipt.blockNumber) + 1;
    const newHead = await rpc(r.addresses.l1RpcUrl, "anvil_reorg", [depth]);
    assert.equal(BigInt(newHead), receipt.blockNumber - 1n, "anvil_reorg answers the new L1 head");

    // The deposit transaction goes back to the L1 pool and lands in a new L1 block; its L2 deposit is
    // derived again from that block (a new source hash, so a new L2 transaction hash).
    const newL1Receipt = await until("the deposit re-included on L1", async () => {
      const re = await r.l1.getTransactionReceipt({ hash }).catch(() => null);
      return re && re.blockHash !== receipt.blockHash ? re : null;
    });
    const [newL2Hash] = getL2TransactionHashes(newL1Receipt);
    assert.notEqual(newL2Hash, l2Hash);
    for (const node of [seq, v]) {
      await until(`the re-derived deposit on ${node.name}`, async () => (await rpc(node.url, "eth_getTransactionReceipt", [newL2Hash])) !== null);
      assert.equal(await rpc(node.url, "eth_getTransactionByHash", [l2Hash]), null, `${node.name}: the reorged-out deposit is gone`);
    }
    assert.equal(await r.l2.getBalance({ address: w.address }), balance0 + amount, "minted once");
    const target = await safeOf(seq.url);
    await until("verifier past the reorg", async () => (await safeOf(v.url)) >= target);
    await assertSameChain(seq.url, v.url, target, "after the L1 reorg");
    assert.match(v.logTail(100000), /L1 reorganised below derived blocks/);
  });
});

describe("verifier: a censoring sequencer", () => {
  let seq;
  let v;
  const WINDOW = 10;
  before(async () => {
    seq = await startNode({ name: "censor-seq", args: ["--fault-censor-deposits", "--seq-window", String(WINDOW)] });
    v = await startVerifier(seq, { name: "censor-verifier" });
  });
  after(async () => {
    await v?.stop();
    await seq?.stop();
  });

  test("a deposit the sequencer leaves out lands once the window passes and anyone forces the epoch, on both nodes", async () => {
    const r = loadRollup(seq.datadir, seq.url);
    const inbox = batchInbox(r);
    const w = r.wallet(8);
    const amount = parseEther("0.25");
    const args = await r.l2.buildDepositTransaction({ account: w.account, mint: amount, to: w.address });
    const hash = await w.l1.depositTransaction(args);
    const receipt = await r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    const [l2Hash] = getL2TransactionHashes(receipt);
    const started = Date.now();
    // Well inside the window the sequencer has not included it, and nobody may force yet.
    await sleep(4000);
    assert.equal(await rpc(seq.url, "eth_getTransactionReceipt", [l2Hash]), null, "censored at first");
    assert.ok((await r.l1.getBlockNumber()) + 1n < (await inbox.forcibleFrom()), "the window is still open");
    await assert.rejects(inbox.forceNextEpoch(r.wallet(9)), /WindowOpen/);
    // A user (not the sequencer, whose batcher does not force) forces each epoch whose window
    // passed until the deposit's epoch is recorded; its first block carries the deposit, and the
    // sequencer's own blocks are replaced by the recorded ones.
    const forced = await inbox.forceUntil(r.wallet(9), () => rpc(seq.url, "eth_getTransactionReceipt", [l2Hash]));
    const landed = await rpc(seq.url, "eth_getTransactionReceipt", [l2Hash]);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(forced >= 1, "the user forced an epoch");
    assert.equal(landed.status, "0x1");
    await until("the censored deposit on the verifier", () => rpc(v.url, "eth_getTransactionReceipt", [l2Hash]), 60_000);
    const block = Number(BigInt(landed.blockNumber));
    await until("the block safe on both", async () => (await safeOf(seq.url)) >= block && (await safeOf(v.url)) >= block);
    await assertSameChain(seq.url, v.url, block, "after forced inclusion");
    assert.match(seq.logTail(100000), /an epoch was forced after its sequencing window/);
    const l2Block = await rpc(seq.url, "eth_getBlockByNumber", [landed.blockNumber, true]);
    assert.ok(l2Block.transactions.every((t) => BigInt(t.type) === 0x7en), "a deposits-only block");
    console.log(`# censored deposit forced in after ${seconds.toFixed(1)} s by ${forced} forced epoch(s) (window ${WINDOW} L1 blocks of 1 s)`);
  });
});
