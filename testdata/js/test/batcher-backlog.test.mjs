// A batcher backlog never stops block production (issue 9): the L1 makes a block only every 6 s, so
// the batcher's transactions wait in its pool and the safe head falls behind, while the sequencer goes
// on sealing 100 ms blocks with the transactions sent to it; once L1 blocks come, the safe head
// catches up with every block sealed meanwhile, unchanged.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { makeProvider, sleep, startNode, testWallets } from "../lib/node.mjs";
import { headers, headOf, safeOf, until } from "../lib/chain-check.mjs";

const L1_BLOCK_S = 6;

let node;
before(async () => {
  // Deploy the bridge with 1 s L1 blocks, then run on the same data directory with slow ones.
  const first = await startNode({ name: "backlog" });
  await until("a first safe block", async () => (await safeOf(first.url)) > 0, 60_000);
  await first.terminate();
  node = await startNode({ name: "backlog", datadir: first.datadir, args: ["--l1-block-time", `${L1_BLOCK_S}s`] });
});
after(async () => {
  await node?.stop();
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
