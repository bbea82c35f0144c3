// A batcher backlog never stops block production (issue 9): the L1 makes a block only every 6 s, so
// the batcher's transactions wait in its pool and the safe head falls behind, while the sequencer goes
// on sealing 100 ms blocks with the transactions sent to it; once L1 blocks come, the safe head
// catches up with every block sealed meanwhile, unchanged. The same with full L1 blocks: gas burners
// outbid the batcher for every L1 block's gas for a while.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ethers } from "ethers";
import { MNEMONIC, makeProvider, sleep, startNode, testWallets } from "../lib/node.mjs";
import { headers, headOf, safeOf, until } from "../lib/chain-check.mjs";

const L1_BLOCK_S = 6;

let node;
let full;
before(async () => {
  // Deploy the bridge with 1 s L1 blocks, then run on the same data directory with slow ones.
  const first = await startNode({ name: "backlog" });
  await until("a first safe block", async () => (await safeOf(first.url)) > 0, 60_000);
  await first.terminate();
  node = await startNode({ name: "backlog", datadir: first.datadir, args: ["--l1-block-time", `${L1_BLOCK_S}s`] });
});
after(async () => {
  await node?.stop();
  await full?.stop();
});

test("with slow L1 blocks the sequencer keeps its block time, and the safe head catches up with every block", { timeout: 120_000 }, async () => {
  const provider = makeProvider(node.url);
  const [, sender] = testWallets(provider);
  try {
    const start = await headOf(node.url);
    const startedAt = Date.now();
    let maxLag = 0;
    const sent = [];
    while (Date.now() - startedAt < 2 * L1_BLOCK_S * 1000) {
      sent.push(await sender.sendTransaction({ to: "0x000000000000000000000000000000000000b10c", value: 1n }));
      maxLag = Math.max(maxLag, (await headOf(node.url)) - (await safeOf(node.url)));
      await sleep(200);
    }
    const receipts = await Promise.all(sent.map((t) => t.wait(1, 30_000)));
    for (const r of receipts) assert.equal(r.status, 1);
    const end = await headOf(node.url);
    const seconds = (Date.now() - startedAt) / 1000;
    // 100 ms blocks: at least half the nominal rate, whatever L1 does.
    assert.ok(end - start >= (seconds * 10) / 2, `only ${end - start} blocks in ${seconds.toFixed(1)} s`);
    assert.ok(maxLag >= 30, `the safe head never fell behind (max lag ${maxLag} blocks): the L1 was not slow enough to test anything`);
    // Once L1 blocks come, derivation confirms every block sealed meanwhile, unchanged.
    const before = await headers(node.url, start, end);
    await until(`safe head reaching ${end}`, async () => (await safeOf(node.url)) >= end, 60_000);
    const after = await headers(node.url, start, end);
    assert.deepEqual(after.map((h) => h.hash), before.map((h) => h.hash), "the blocks sealed during the backlog became safe unchanged");
    console.log(`# ${end - start} blocks in ${seconds.toFixed(1)} s with ${L1_BLOCK_S} s L1 blocks; safe head lagged up to ${maxLag} blocks`);
  } finally {
    provider.destroy();
  }
});

test("with full L1 blocks the sequencer keeps its block time, and the safe head catches up once they pass", { timeout: 180_000 }, async () => {
  await node.stop();
  node = undefined;
  const SPAM_S = 15;
  full = await startNode({ name: "backlog-full" });
  await until("a first safe block", async () => (await safeOf(full.url)) > 0, 60_000);
  const { l1RpcUrl } = JSON.parse(fs.readFileSync(path.join(full.datadir, "addresses.json"), "utf8"));
  const l1 = new ethers.JsonRpcProvider(l1RpcUrl, undefined, { polling: true, pollingInterval: 200 });
  const gasLimit = Number((await l1.getBlock("latest")).gasLimit);
  // Three gas burners (creations whose init code loops until it runs out of gas), a third of the
  // L1 block's gas each, at a tip far above the batcher's (under the 1 ETH fee cap of
  // eth_sendRawTransaction): every L1 block is full of them.
  const burners = [7, 8, 9].map((i) => ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).connect(l1));
  const burn = { data: "0x5b600056", gasLimit: BigInt(Math.floor(gasLimit / 3)), maxPriorityFeePerGas: ethers.parseUnits("60", "gwei"), maxFeePerGas: ethers.parseUnits("95", "gwei") };
  const nonces = await Promise.all(burners.map((w) => l1.getTransactionCount(w.address, "latest")));
  const provider = makeProvider(full.url);
  try {
    const start = await headOf(full.url);
    const safeAtStart = await safeOf(full.url);
    const l1Start = await l1.getBlockNumber();
    const startedAt = Date.now();
    let maxLag = 0;
    while (Date.now() - startedAt < SPAM_S * 1000) {
      // Keep three burns per burner waiting in the L1 pool.
      await Promise.all(burners.map(async (w, i) => {
        const mined = await l1.getTransactionCount(w.address, "latest");
        while (nonces[i] < mined + 3) await w.sendTransaction({ ...burn, nonce: nonces[i]++ });
      }));
      maxLag = Math.max(maxLag, (await headOf(full.url)) - (await safeOf(full.url)));
      await sleep(250);
    }
    const end = await headOf(full.url);
    const l1End = await l1.getBlockNumber();
    const seconds = (Date.now() - startedAt) / 1000;
    assert.ok(end - start >= (seconds * 10) / 2, `only ${end - start} L2 blocks in ${seconds.toFixed(1)} s of full L1 blocks`);
    // The L1 blocks after the first second were full: nothing else got in.
    let fullBlocks = 0;
    for (let n = l1Start + 2; n <= l1End; n++) {
      const b = await l1.getBlock(n);
      if (Number(b.gasUsed) > gasLimit - 1_000_000) fullBlocks++;
    }
    assert.ok(fullBlocks >= (l1End - l1Start - 1) * 0.8, `only ${fullBlocks} of ${l1End - l1Start - 1} L1 blocks were full`);
    assert.ok((await safeOf(full.url)) - safeAtStart <= 20, "the safe head stood nearly still while L1 blocks were full");
    assert.ok(maxLag >= 50, `the safe head never fell behind (max lag ${maxLag})`);
    // The burners stop; the batcher's transactions land and derivation confirms every block.
    const before = await headers(full.url, start, end);
    await until(`safe head reaching ${end}`, async () => (await safeOf(full.url)) >= end, 120_000);
    const after = await headers(full.url, start, end);
    assert.deepEqual(after.map((h) => h.hash), before.map((h) => h.hash), "the blocks sealed while L1 was full became safe unchanged");
    console.log(`# ${end - start} L2 blocks in ${seconds.toFixed(1)} s while ${fullBlocks} L1 blocks were full; safe head lagged up to ${maxLag} blocks, caught up after the burners stopped`);
  } finally {
    provider.destroy();
    l1.destroy();
  }
});
