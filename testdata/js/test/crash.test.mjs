// Crash safety: while several accounts stream transactions and blocks are sealed every 100 ms, the node
// is killed with SIGKILL and restarted on the same data directory, a few times. Every block and receipt
// the RPC had reported before a kill must be served unchanged afterwards, and the chain must go on with
// nonces continuing where the chain (not the lost pool) left them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Interface, keccak256, parseUnits, toQuantity } from "ethers";
import { makeProvider, startNode, testWallets, CHAIN_ID } from "../lib/node.mjs";
import { artifact, deploy } from "../lib/contracts.mjs";
import { RpcError, rpc, waitBlock } from "../lib/rpc.mjs";

const KILLS = 4;
const ETH_SENDERS = 4; // accounts 0..3 send ETH; account 4 sends ERC-20 transfers
const SEND_GAP_MS = 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let node;
const wallets = testWallets(null);
const senders = wallets.slice(0, ETH_SENDERS + 1);
const tokenIface = new Interface(artifact("TestToken").abi);
let token;
let maxFee;

// What the RPC reported before any kill: block number -> hash, tx hash -> receipt (as JSON).
const blocks = new Map();
const receipts = new Map();
// Per sender: nonce -> hash of the transaction we sent with that nonce.
const sent = senders.map(() => new Map());
const txInfo = new Map(); // hash -> {sender, nonce}
const next = senders.map(() => 0);
// JSON-RPC errors from a live node during streaming (connection errors at a kill are expected).
const unexpected = [];
// Called (once each) when the watcher has recorded a new block.
let blockWaiters = [];

before(async () => {
  node = await startNode({ name: "crash" });
  const provider = makeProvider(node.url);
  const deployed = await deploy(testWallets(provider)[ETH_SENDERS], artifact("TestToken"), ["Crash", "CRSH", 10n ** 30n]);
  token = await deployed.contract.getAddress();
  provider.destroy();
  const base = BigInt((await rpc(node.url, "eth_feeHistory", ["0x1", "latest", []])).baseFeePerGas[1]);
  maxFee = base * 4n > parseUnits("5", "gwei") ? base * 4n : parseUnits("5", "gwei");
  for (let i = 0; i < senders.length; i++) next[i] = Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [senders[i].address, "pending"])));
});

after(async () => {
  await node?.stop();
});

function isConnectionError(e) {
  return !(e instanceof RpcError) || e.status !== 200;
}

async function sendLoop(i, control) {
  const w = senders[i];
  const isToken = i === ETH_SENDERS;
  let k = 0;
  while (!control.stop) {
    const nonce = next[i];
    const raw = await w.signTransaction({
      type: 2,
      chainId: CHAIN_ID,
      nonce,
      to: isToken ? token : `0x${(0x1000 + i * 1000 + (k % 100)).toString(16).padStart(40, "0")}`,
      value: isToken ? 0n : 1000n + BigInt(k),
      data: isToken ? tokenIface.encodeFunctionData("transfer", [`0x${(0x5000 + (k % 50)).toString(16).padStart(40, "0")}`, 1n + BigInt(k)]) : "0x",
      gasLimit: isToken ? 80_000n : 21_000n,
      maxFeePerGas: maxFee,
      maxPriorityFeePerGas: 1_000_000n,
    });
    const hash = keccak256(raw);
    sent[i].set(nonce, hash);
    txInfo.set(hash, { sender: i, nonce });
    try {
      const got = await rpc(node.url, "eth_sendRawTransaction", [raw]);
      if (got !== hash) unexpected.push(`eth_sendRawTransaction returned ${got}, the tx hash is ${hash}`);
      next[i] = nonce + 1;
      k++;
    } catch (e) {
      if (!isConnectionError(e)) unexpected.push(e.message);
      return;
    }
    await sleep(SEND_GAP_MS);
  }
}

async function watchLoop(control) {
  let seen = blocks.size ? Math.max(...blocks.keys()) : -1;
  while (!control.stop) {
    try {
      const head = Number(BigInt(await rpc(node.url, "eth_blockNumber")));
      for (let n = seen + 1; n <= head; n++) {
        const block = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(n), false]);
        if (!block) {
          unexpected.push(`eth_blockNumber said ${head} but block ${n} is null`);
          continue;
        }
        const rs = [];
        for (const h of block.transactions) {
          const r = await rpc(node.url, "eth_getTransactionReceipt", [h]);
          if (!r) unexpected.push(`tx ${h} of block ${n} has no receipt`);
          else rs.push(r);
        }
        // Only now is everything about block n known; remember it all together.
        blocks.set(n, block.hash);
        for (const r of rs) receipts.set(r.transactionHash, r);
        seen = n;
        const waiters = blockWaiters;
        blockWaiters = [];
        waiters.forEach((w) => w());
      }
    } catch (e) {
      if (!isConnectionError(e)) unexpected.push(e.message);
      return;
    }
    await sleep(30);
  }
}

/** Streams from every sender and watches blocks until control.stop is set or the node dies. */
function stream(control) {
  return Promise.all([...senders.map((_, i) => sendLoop(i, control)), watchLoop(control)]);
}

/** Every block and receipt remembered so far is served unchanged; nonces agree with what was mined. */
async function checkRemembered(label) {
  const head = Number(BigInt(await rpc(node.url, "eth_blockNumber")));
  const maxSeen = Math.max(...blocks.keys());
  assert.ok(head >= maxSeen, `${label}: head ${head} is behind the reported block ${maxSeen}`);
  for (const [n, hash] of blocks) {
    const b = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(n), false]);
    assert.ok(b, `${label}: reported block ${n} (${hash}) is missing`);
    assert.equal(b.hash, hash, `${label}: block ${n} changed hash`);
  }
  for (const [h, r] of receipts) {
    const now = await rpc(node.url, "eth_getTransactionReceipt", [h]);
    assert.deepEqual(now, r, `${label}: receipt of ${h} changed or vanished`);
    const tx = await rpc(node.url, "eth_getTransactionByHash", [h]);
    assert.ok(tx && tx.blockHash === r.blockHash, `${label}: eth_getTransactionByHash(${h}) lost its block`);
  }
  // Nonces: the chain's nonce covers every remembered receipt; every nonce below it is one of our
  // transactions, mined.
  for (let i = 0; i < senders.length; i++) {
    const latest = Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [senders[i].address, "latest"])));
    let maxMined = -1;
    for (const [h] of receipts) {
      const info = txInfo.get(h);
      if (info && info.sender === i) maxMined = Math.max(maxMined, info.nonce);
    }
    assert.ok(latest >= maxMined + 1, `${label}: sender ${i} nonce ${latest} is below a mined nonce ${maxMined}`);
    for (let k = 0; k < latest; k++) {
      const h = sent[i].get(k);
      if (!h) continue; // sent before the stream started (the token deployment)
      const r = await rpc(node.url, "eth_getTransactionReceipt", [h]);
      assert.ok(r, `${label}: sender ${i} nonce ${k} (${h}) is below the chain nonce ${latest} but has no receipt`);
      assert.equal(r.status, "0x1", `${label}: ${h} failed`);
    }
  }
  return head;
}

/** The chain from genesis to head is one chain: numbers and parent hashes link. */
async function checkChainLinks(label) {
  const head = Number(BigInt(await rpc(node.url, "eth_blockNumber")));
  let parent = null;
  for (let n = 0; n <= head; n++) {
    const b = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(n), false]);
    assert.ok(b, `${label}: block ${n} of ${head} missing`);
    assert.equal(Number(BigInt(b.number)), n);
    if (parent) assert.equal(b.parentHash, parent, `${label}: block ${n}'s parentHash does not link to block ${n - 1}`);
    parent = b.hash;
  }
  return head;
}

test("kill -9 while streaming transactions loses no reported block or receipt; the chain goes on", { timeout: 240_000 }, async () => {
  const started = Date.now();
  for (let round = 1; round <= KILLS; round++) {
    const blocksBefore = blocks.size;
    const control = { stop: false };
    const running = stream(control);
    // Kill at a different moment each round, well inside the stream; on even rounds the instant after
    // the RPC reported a new block (the window where a block is announced but maybe not yet durable).
    const killAfter = 1200 + round * 450;
    await sleep(killAfter);
    if (round % 2 === 0) await new Promise((r) => blockWaiters.push(r));
    await node.kill9();
    control.stop = true;
    await running;
    assert.deepEqual(unexpected, [], `round ${round}: errors from the live node while streaming`);
    assert.ok(blocks.size > blocksBefore && receipts.size > 0, `round ${round}: the watcher saw new blocks and receipts`);

    await node.restart();
    const head = await checkRemembered(`after kill ${round}`);
    // Blocks keep coming after the restart.
    await waitBlock(node.url, head + 3, 10_000);
    // Continue from the chain's nonces (the pool is allowed to be lost at a crash).
    for (let i = 0; i < senders.length; i++) {
      next[i] = Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [senders[i].address, "pending"])));
    }
    console.log(`# round ${round}: killed after ${killAfter} ms${round % 2 === 0 ? " right after a new block was reported" : ""}; ${blocks.size} blocks and ${receipts.size} receipts remembered; head after restart ${head}`);
  }

  // A last stream with no kill: every transaction accepted gets mined, nonces continuing.
  const control = { stop: false };
  const running = stream(control);
  await sleep(1500);
  control.stop = true;
  await running;
  assert.deepEqual(unexpected, []);
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < senders.length; i++) {
    for (;;) {
      const latest = Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [senders[i].address, "latest"])));
      if (latest === next[i]) break;
      assert.ok(Date.now() < deadline, `sender ${i}: chain nonce ${latest}, sent up to ${next[i] - 1}: accepted transactions were not mined`);
      await sleep(100);
    }
  }
  // Let the watcher catch up on the last blocks, then restart gracefully once more and check everything.
  const tail = { stop: false };
  const watching = watchLoop(tail);
  await sleep(500);
  tail.stop = true;
  await watching;
  await node.restart();
  await checkRemembered("after a graceful restart");
  await checkChainLinks("final");
  const tokenBalance = await rpc(node.url, "eth_call", [{ to: token, data: tokenIface.encodeFunctionData("balanceOf", [senders[ETH_SENDERS].address]) }, "latest"]);
  assert.ok(BigInt(tokenBalance) < 10n ** 30n, "the ERC-20 transfers took effect");
  console.log(`# crash test: ${blocks.size} blocks, ${receipts.size} receipts checked in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
