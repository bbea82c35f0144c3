// The rest of the JSON-RPC surface, used as a client would: chain identity, blocks (with their header
// hash and roots re-derived here), receipts, nonces and the pool, code and storage, eth_getProof checked
// against the state root, fees and estimates, filters, subscriptions over WebSocket, and
// debug_traceTransaction with the callTracer and the default struct logger.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import {
  AbiCoder,
  WebSocketProvider,
  Network,
  decodeRlp,
  getAddress,
  keccak256,
  parseEther,
  parseUnits,
  toQuantity,
  zeroPadValue,
} from "ethers";
import { makeProvider, startNode, testWallets, CHAIN_ID } from "../lib/node.mjs";
import { artifact, deploy } from "../lib/contracts.mjs";
import { describe as describeRpc, rpc, rpcError, waitBlock, waitReceipt } from "../lib/rpc.mjs";
import { headerHash, receiptsRoot, transactionsRoot } from "../lib/block.mjs";
import { EMPTY_TRIE_ROOT, verifyProof } from "../lib/trie.mjs";

const EMPTY_CODE_HASH = keccak256("0x");
const ZERO_HASH = `0x${"00".repeat(32)}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const num = (hex) => Number(BigInt(hex));

let node;
let provider;
let wallets;
let token; // TestToken held by wallets[0]
let relay; // Relay
let tokenAddr;
let relayAddr;

before(async () => {
  node = await startNode({ name: "rpc-methods" });
  provider = makeProvider(node.url);
  wallets = testWallets(provider);
  ({ contract: token } = await deploy(wallets[0], artifact("TestToken"), ["Method", "MTH", parseEther("1000000")]));
  ({ contract: relay } = await deploy(wallets[0], artifact("Relay")));
  tokenAddr = await token.getAddress();
  relayAddr = await relay.getAddress();
});

after(async () => {
  provider?.destroy();
  await node?.stop();
});

/** Signs and sends a plain transfer (EIP-1559) and returns its hash without waiting. */
async function sendTransfer(w, { nonce, to = "0x000000000000000000000000000000000000bEEF", value = 1n } = {}) {
  const n = nonce ?? num(await rpc(node.url, "eth_getTransactionCount", [w.address, "pending"]));
  const raw = await w.signTransaction({
    type: 2,
    chainId: CHAIN_ID,
    nonce: n,
    to,
    value,
    gasLimit: 21_000n,
    maxFeePerGas: parseUnits("10", "gwei"),
    maxPriorityFeePerGas: parseUnits("1", "gwei"),
  });
  return rpc(node.url, "eth_sendRawTransaction", [raw]);
}

async function mined(txPromise) {
  const tx = await txPromise;
  const r = await tx.wait(1, 30_000);
  assert.equal(r.status, 1);
  return r;
}

describe("chain identity", () => {
  test("eth_chainId, net_version, web3_clientVersion, eth_syncing, eth_accounts", async () => {
    assert.equal(await rpc(node.url, "eth_chainId"), "0x385");
    assert.equal(await rpc(node.url, "net_version"), "901");
    const version = await rpc(node.url, "web3_clientVersion");
    assert.equal(typeof version, "string");
    assert.ok(version.length > 0);
    assert.equal(await rpc(node.url, "eth_syncing"), false);
    const accounts = await rpc(node.url, "eth_accounts");
    assert.ok(Array.isArray(accounts), `eth_accounts gives a list: ${JSON.stringify(accounts)}`);
  });

  test("the ten accounts of the test mnemonic are funded with 10000 ETH at genesis", async () => {
    assert.equal(wallets[0].address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    assert.equal(wallets[9].address, "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
    // Accounts 6..9 are never used by this file before this point: still their genesis balance.
    for (const w of wallets.slice(6)) {
      assert.equal(BigInt(await rpc(node.url, "eth_getBalance", [w.address, "latest"])), parseEther("10000"), w.address);
      assert.equal(await rpc(node.url, "eth_getTransactionCount", [w.address, "latest"]), "0x0");
    }
    assert.equal(BigInt(await rpc(node.url, "eth_getBalance", ["0x000000000000000000000000000000000000dEaD", "latest"])), 0n);
  });
});

describe("blocks and receipts", () => {
  let busy; // blocks holding a burst of transactions from several senders

  before(async () => {
    const hashes = await Promise.all(wallets.slice(1, 6).flatMap((w) => [sendTransfer(w)]));
    const token1 = await token.transfer(wallets[1].address, parseEther("10"));
    hashes.push(token1.hash);
    const receipts = [];
    for (const h of hashes) receipts.push(await waitReceipt(node.url, h));
    busy = [...new Set(receipts.map((r) => num(r.blockNumber)))].sort((a, b) => a - b);
  });

  test("each block's hash, transactionsRoot and receiptsRoot re-derive from what the node serves", async () => {
    const head = num(await rpc(node.url, "eth_blockNumber"));
    const numbers = [...new Set([0, 1, ...busy, head])];
    for (const n of numbers) {
      const full = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(n), true]);
      assert.ok(full, `block ${n}`);
      assert.equal(num(full.number), n);
      assert.equal(headerHash(full), full.hash, `block ${n}: keccak256(rlp(header)) is its hash`);
      assert.equal(transactionsRoot(full), full.transactionsRoot, `block ${n}: transactionsRoot`);
      const rs = [];
      for (const t of full.transactions) rs.push(await rpc(node.url, "eth_getTransactionReceipt", [t.hash]));
      assert.equal(receiptsRoot(rs), full.receiptsRoot, `block ${n}: receiptsRoot`);
      if (full.transactions.length === 0) {
        assert.equal(full.transactionsRoot, EMPTY_TRIE_ROOT);
        assert.equal(full.receiptsRoot, EMPTY_TRIE_ROOT);
      }
      assert.ok(BigInt(full.gasUsed) <= BigInt(full.gasLimit));
      assert.equal(BigInt(full.gasUsed), rs.length ? BigInt(rs.at(-1).cumulativeGasUsed) : 0n, `block ${n}: gasUsed is the last cumulativeGasUsed`);
      assert.ok(full.baseFeePerGas !== undefined, "London header: baseFeePerGas");
      assert.equal(full.sha3Uncles, keccak256("0xc0"), "no ommers");
      assert.deepEqual(full.uncles, []);
      assert.equal(BigInt(full.difficulty), 0n);
    }
  });

  test("a block's transactions are ordered, indexed and bloom'd; by hash equals by number", async () => {
    for (const n of busy) {
      const full = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(n), true]);
      const hashes = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(n), false]);
      const byHash = await rpc(node.url, "eth_getBlockByHash", [full.hash, true]);
      assert.deepEqual(byHash, full);
      assert.deepEqual(hashes.transactions, full.transactions.map((t) => t.hash));
      assert.deepEqual({ ...hashes, transactions: null }, { ...full, transactions: null }, "the header is the same with or without full transactions");
      assert.equal(await rpc(node.url, "eth_getBlockTransactionCountByNumber", [toQuantity(n)]), toQuantity(full.transactions.length));
      assert.equal(await rpc(node.url, "eth_getBlockTransactionCountByHash", [full.hash]), toQuantity(full.transactions.length));
      full.transactions.forEach((t, i) => {
        assert.equal(t.blockHash, full.hash);
        assert.equal(num(t.blockNumber), n);
        assert.equal(num(t.transactionIndex), i);
      });
      for (const t of full.transactions) assert.deepEqual(await rpc(node.url, "eth_getTransactionByHash", [t.hash]), t);
    }
    // Parents link.
    const b = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(busy[0]), false]);
    const parent = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(busy[0] - 1), false]);
    assert.equal(b.parentHash, parent.hash);
    assert.ok(num(b.timestamp) >= num(parent.timestamp));
  });

  test("block tags and unknown blocks", async () => {
    const genesis = await rpc(node.url, "eth_getBlockByNumber", ["earliest", false]);
    assert.equal(num(genesis.number), 0);
    assert.equal(genesis.parentHash, ZERO_HASH);
    const latest = await rpc(node.url, "eth_getBlockByNumber", ["latest", false]);
    const head = num(await rpc(node.url, "eth_blockNumber"));
    assert.ok(Math.abs(num(latest.number) - head) <= 2, `latest ${num(latest.number)} vs eth_blockNumber ${head}`);
    assert.equal(await rpc(node.url, "eth_getBlockByNumber", [toQuantity(head + 100_000), false]), null);
    assert.equal(await rpc(node.url, "eth_getBlockByHash", [keccak256("0x01"), false]), null);
    assert.equal(await rpc(node.url, "eth_getTransactionByHash", [keccak256("0x02")]), null);
    assert.equal(await rpc(node.url, "eth_getTransactionReceipt", [keccak256("0x02")]), null);
    assert.equal(await rpc(node.url, "eth_getBlockTransactionCountByHash", [keccak256("0x01")]), null);
  });

  test("eth_getBlockReceipts gives every receipt of a block, in order", async () => {
    for (const n of [...busy, 0]) {
      const block = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(n), false]);
      const expected = [];
      for (const h of block.transactions) expected.push(await rpc(node.url, "eth_getTransactionReceipt", [h]));
      assert.deepEqual(await rpc(node.url, "eth_getBlockReceipts", [toQuantity(n)]), expected, `block ${n} by number`);
      assert.deepEqual(await rpc(node.url, "eth_getBlockReceipts", [block.hash]), expected, `block ${n} by hash`);
    }
    const latest = await rpc(node.url, "eth_getBlockReceipts", ["latest"]);
    assert.ok(Array.isArray(latest));
    const head = num(await rpc(node.url, "eth_blockNumber"));
    assert.equal(await rpc(node.url, "eth_getBlockReceipts", [toQuantity(head + 100_000)]), null);
  });
});

describe("nonces and the pool", () => {
  test("eth_getTransactionCount pending vs latest, a nonce gap, txpool_status", async () => {
    const w = wallets[6];
    const n = num(await rpc(node.url, "eth_getTransactionCount", [w.address, "latest"]));
    assert.equal(num(await rpc(node.url, "eth_getTransactionCount", [w.address, "pending"])), n);

    // n+1 before n: held back behind the gap, and not counted by "pending" (the next usable nonce is n).
    const gapped = await sendTransfer(w, { nonce: n + 1 });
    assert.equal(num(await rpc(node.url, "eth_getTransactionCount", [w.address, "pending"])), n, "pending skips nothing");
    const status = await rpc(node.url, "txpool_status");
    assert.ok(BigInt(status.queued) >= 1n, `the gapped tx is queued: ${JSON.stringify(status)}`);
    const inPool = await rpc(node.url, "eth_getTransactionByHash", [gapped]);
    assert.ok(inPool, "a pooled transaction is found by hash");
    assert.equal(inPool.blockHash, null);
    assert.equal(inPool.blockNumber, null);
    const head = num(await rpc(node.url, "eth_blockNumber"));
    await waitBlock(node.url, head + 3);
    assert.equal(await rpc(node.url, "eth_getTransactionReceipt", [gapped]), null, "a gapped tx is not mined");
    assert.equal(num(await rpc(node.url, "eth_getTransactionCount", [w.address, "latest"])), n);

    const filler = await sendTransfer(w, { nonce: n });
    await waitReceipt(node.url, filler);
    await waitReceipt(node.url, gapped);
    assert.equal(num(await rpc(node.url, "eth_getTransactionCount", [w.address, "latest"])), n + 2);

    // A burst: right after each send, "pending" already counts it; "latest" never runs ahead.
    const sent = [];
    for (let k = 0; k < 20; k++) {
      sent.push(await sendTransfer(w, { nonce: n + 2 + k }));
      const pending = num(await rpc(node.url, "eth_getTransactionCount", [w.address, "pending"]));
      const latest = num(await rpc(node.url, "eth_getTransactionCount", [w.address, "latest"]));
      assert.equal(pending, n + 3 + k, `pending after sending nonce ${n + 2 + k}`);
      assert.ok(latest <= pending);
    }
    for (const h of sent) await waitReceipt(node.url, h);
    assert.equal(num(await rpc(node.url, "eth_getTransactionCount", [w.address, "latest"])), n + 22);
    assert.equal(num(await rpc(node.url, "eth_getTransactionCount", [w.address, "pending"])), n + 22);
    const after = await rpc(node.url, "txpool_status");
    assert.equal(BigInt(after.pending), 0n, JSON.stringify(after));
    assert.equal(BigInt(after.queued), 0n, JSON.stringify(after));
  });
});

describe("state", () => {
  test("eth_getCode and eth_getStorageAt", async () => {
    assert.equal(await rpc(node.url, "eth_getCode", [tokenAddr, "latest"]), artifact("TestToken").deployedBytecode);
    assert.equal(await rpc(node.url, "eth_getCode", [relayAddr, "latest"]), artifact("Relay").deployedBytecode);
    assert.equal(await rpc(node.url, "eth_getCode", [wallets[0].address, "latest"]), "0x");
    // OpenZeppelin ERC20 layout: _balances at slot 0, _allowances 1, _totalSupply 2.
    const supply = await rpc(node.url, "eth_getStorageAt", [tokenAddr, "0x2", "latest"]);
    assert.equal(BigInt(supply), await token.totalSupply());
    assert.equal(supply.length, 66, "a storage word is 32 bytes");
    const slot = keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [wallets[0].address, 0]));
    assert.equal(BigInt(await rpc(node.url, "eth_getStorageAt", [tokenAddr, slot, "latest"])), await token.balanceOf(wallets[0].address));
    assert.equal(BigInt(await rpc(node.url, "eth_getStorageAt", [tokenAddr, keccak256("0x99"), "latest"])), 0n);
  });

  test("eth_getProof: account and storage proofs verify against a block's stateRoot", async () => {
    const holder = wallets[0].address;
    const slot = keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [holder, 0]));
    const absent = "0x00000000000000000000000000000000DeaDBeef";
    for (const [address, keys] of [[holder, []], [tokenAddr, [slot, zeroPadValue("0x02", 32), keccak256("0x99")]], [absent, []]]) {
      const from = num(await rpc(node.url, "eth_blockNumber"));
      const proof = await rpc(node.url, "eth_getProof", [address, keys, "latest"]);
      const to = num(await rpc(node.url, "eth_blockNumber"));
      // The proof is of the latest state: its root is the stateRoot of a block seen around the call.
      const roots = [];
      for (let n = from; n <= to; n++) roots.push((await rpc(node.url, "eth_getBlockByNumber", [toQuantity(n), false])).stateRoot);
      const root = roots.find((r) => r === keccak256(proof.accountProof[0]));
      assert.ok(root, `eth_getProof(${address}): accountProof[0] hashes to a stateRoot of blocks ${from}..${to}: ${JSON.stringify(proof).slice(0, 400)}`);
      const leaf = verifyProof(root, address, proof.accountProof);
      assert.equal(getAddress(proof.address), getAddress(address));
      assert.equal(BigInt(proof.balance), BigInt(await rpc(node.url, "eth_getBalance", [address, "latest"])));
      assert.equal(BigInt(proof.nonce), BigInt(await rpc(node.url, "eth_getTransactionCount", [address, "latest"])));
      if (address === absent) {
        assert.equal(leaf, null, "the proof shows the account does not exist");
        assert.equal(BigInt(proof.balance), 0n);
        continue;
      }
      assert.ok(leaf, `the proof reaches ${address}'s account`);
      const [nonce, balance, storageHash, codeHash] = decodeRlp(leaf);
      assert.equal(BigInt(nonce === "0x" ? 0 : nonce), BigInt(proof.nonce), "nonce in the leaf");
      assert.equal(BigInt(balance === "0x" ? 0 : balance), BigInt(proof.balance), "balance in the leaf");
      assert.equal(storageHash, proof.storageHash);
      assert.equal(codeHash, proof.codeHash);
      assert.equal(proof.codeHash, keccak256(await rpc(node.url, "eth_getCode", [address, "latest"])));
      if (address === holder) assert.equal(proof.storageHash, EMPTY_TRIE_ROOT, "an EOA has empty storage");
      assert.equal(proof.storageProof.length, keys.length);
      for (const [i, sp] of proof.storageProof.entries()) {
        const key = zeroPadValue(keys[i], 32);
        assert.equal(BigInt(sp.key), BigInt(keys[i]));
        const value = verifyProof(proof.storageHash, key, sp.proof);
        const stored = BigInt(await rpc(node.url, "eth_getStorageAt", [address, key, "latest"]));
        assert.equal(value === null ? 0n : BigInt(decodeRlp(value)), stored, `storage proof of ${key}`);
        assert.equal(BigInt(sp.value), stored);
      }
    }
    // The token-balance slot holds the holder's balance.
    const p = await rpc(node.url, "eth_getProof", [tokenAddr, [slot], "latest"]);
    assert.equal(BigInt(p.storageProof[0].value), await token.balanceOf(holder));
    assert.notEqual(p.codeHash, EMPTY_CODE_HASH);
  });

  test("state at an earlier block by number (block tag)", async () => {
    const w = wallets[8];
    const before = BigInt(await rpc(node.url, "eth_getBalance", [w.address, "latest"]));
    const h = await sendTransfer(w, { value: parseEther("1") });
    const r = await waitReceipt(node.url, h);
    const b = num(r.blockNumber);
    const fee = BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice) + BigInt(r.l1Fee ?? 0);
    assert.equal(BigInt(await rpc(node.url, "eth_getBalance", [w.address, toQuantity(b - 1)])), before);
    assert.equal(BigInt(await rpc(node.url, "eth_getBalance", [w.address, toQuantity(b)])), before - parseEther("1") - fee);
    assert.equal(num(await rpc(node.url, "eth_getTransactionCount", [w.address, toQuantity(b - 1)])), 0);
    assert.equal(num(await rpc(node.url, "eth_getTransactionCount", [w.address, toQuantity(b)])), 1);
    assert.equal(BigInt(await rpc(node.url, "eth_getBalance", [w.address, { blockHash: r.blockHash }])), before - parseEther("1") - fee, "EIP-1898 block hash parameter");
    const supplyAt = async (tag) => BigInt(await rpc(node.url, "eth_call", [{ to: tokenAddr, data: token.interface.encodeFunctionData("balanceOf", [wallets[9].address]) }, tag]));
    const tr = await mined(token.transfer(wallets[9].address, 5n));
    assert.equal(await supplyAt(toQuantity(tr.blockNumber - 1)), 0n);
    assert.equal(await supplyAt(toQuantity(tr.blockNumber)), 5n);
  });
});

describe("fees and estimates", () => {
  test("eth_gasPrice, eth_maxPriorityFeePerGas, eth_estimateGas", async () => {
    const gasPrice = BigInt(await rpc(node.url, "eth_gasPrice"));
    const tip = BigInt(await rpc(node.url, "eth_maxPriorityFeePerGas"));
    const fh = await rpc(node.url, "eth_feeHistory", ["0x1", "latest", []]);
    const nextBase = BigInt(fh.baseFeePerGas[1]);
    assert.ok(gasPrice >= nextBase, `eth_gasPrice ${gasPrice} covers the next base fee ${nextBase}`);
    assert.ok(tip >= 0n);
    // A legacy tx paying exactly eth_gasPrice gets in.
    const w = wallets[5];
    const n = num(await rpc(node.url, "eth_getTransactionCount", [w.address, "pending"]));
    const raw = await w.signTransaction({ type: 0, chainId: CHAIN_ID, nonce: n, to: wallets[4].address, value: 1n, gasLimit: 21_000n, gasPrice });
    const r = await waitReceipt(node.url, await rpc(node.url, "eth_sendRawTransaction", [raw]));
    assert.equal(r.status, "0x1");

    assert.equal(BigInt(await rpc(node.url, "eth_estimateGas", [{ from: w.address, to: wallets[4].address, value: "0x1" }])), 21_000n, "a plain transfer is 21000 gas");
    const data = token.interface.encodeFunctionData("transfer", [wallets[3].address, 7n]);
    const est = BigInt(await rpc(node.url, "eth_estimateGas", [{ from: wallets[0].address, to: tokenAddr, data }]));
    const tr = await mined(token.transfer(wallets[3].address, 7n));
    assert.ok(est >= tr.gasUsed && est <= (tr.gasUsed * 3n) / 2n, `estimate ${est} vs used ${tr.gasUsed}`);
  });

  test("eth_estimateGas and eth_call of a value the sender does not have: insufficient funds, as geth says", async () => {
    // geth checks the value against the balance even when no gas price is given (no fee to pay).
    const res = await rpcError(node.url, "eth_estimateGas", [{ from: wallets[4].address, to: wallets[3].address, value: toQuantity(parseEther("1000000")) }]);
    assert.match(res.error.message, /insufficient funds/, describeRpc(res));
    const res2 = await rpcError(node.url, "eth_call", [{ from: wallets[4].address, to: wallets[3].address, value: toQuantity(parseEther("1000000")) }, "latest"]);
    assert.match(res2.error.message, /insufficient funds/, describeRpc(res2));
  });
});

describe("filters", () => {
  test("eth_newBlockFilter + eth_getFilterChanges gives each new block hash once, in order", async () => {
    const id = await rpc(node.url, "eth_newBlockFilter");
    const start = num(await rpc(node.url, "eth_blockNumber"));
    await waitBlock(node.url, start + 3);
    const first = await rpc(node.url, "eth_getFilterChanges", [id]);
    assert.ok(first.length >= 2, `block hashes since the filter: ${JSON.stringify(first)}`);
    await waitBlock(node.url, start + 6);
    const second = await rpc(node.url, "eth_getFilterChanges", [id]);
    assert.ok(second.length >= 1);
    const all = [...first, ...second];
    assert.equal(new Set(all).size, all.length, "no hash twice");
    let prev = null;
    for (const h of all) {
      const b = await rpc(node.url, "eth_getBlockByHash", [h, false]);
      assert.ok(b, `filter gave unknown block ${h}`);
      if (prev !== null) assert.equal(num(b.number), prev + 1, "consecutive blocks");
      prev = num(b.number);
    }
    assert.equal(await rpc(node.url, "eth_uninstallFilter", [id]), true);
  });

  test("eth_newFilter for logs: changes, eth_getFilterLogs, eth_uninstallFilter", async () => {
    const transfer = token.interface.getEvent("Transfer").topicHash;
    const head = await rpc(node.url, "eth_blockNumber");
    const id = await rpc(node.url, "eth_newFilter", [{ address: tokenAddr, topics: [transfer], fromBlock: head }]);
    const fromGenesis = await rpc(node.url, "eth_newFilter", [{ address: tokenAddr, topics: [transfer, ZERO_HASH], fromBlock: "0x0" }]);
    const r1 = await mined(token.transfer(wallets[2].address, 11n));
    const r2 = await mined(token.transfer(wallets[3].address, 12n));
    const changes = await rpc(node.url, "eth_getFilterChanges", [id]);
    assert.deepEqual(changes.map((l) => l.transactionHash), [r1.hash, r2.hash]);
    assert.deepEqual(changes.map((l) => BigInt(l.data)), [11n, 12n]);
    assert.deepEqual(await rpc(node.url, "eth_getFilterChanges", [id]), [], "changes are given once");
    const logs = await rpc(node.url, "eth_getFilterLogs", [id]);
    assert.deepEqual(logs, changes);
    // The mint at deployment is the only Transfer from address 0.
    const mints = await rpc(node.url, "eth_getFilterLogs", [fromGenesis]);
    assert.equal(mints.length, 1);
    assert.equal(BigInt(mints[0].data), parseEther("1000000"));
    assert.equal(await rpc(node.url, "eth_uninstallFilter", [id]), true);
    assert.equal(await rpc(node.url, "eth_uninstallFilter", [id]), false);
    assert.equal(await rpc(node.url, "eth_uninstallFilter", [fromGenesis]), true);
    const res = await rpcError(node.url, "eth_getFilterChanges", [id]);
    assert.match(res.error.message, /filter not found/i, describeRpc(res));
  });
});

describe("subscriptions over WebSocket", () => {
  test("ethers WebSocketProvider: new blocks and logs (eth_subscribe newHeads / logs)", async () => {
    const network = Network.from(CHAIN_ID);
    const ws = new WebSocketProvider(node.wsUrl, network, { staticNetwork: network });
    try {
      assert.equal((await ws.getNetwork()).chainId, CHAIN_ID);
      const blocks = [];
      let onBlocks;
      const gotBlocks = new Promise((resolve) => (onBlocks = resolve));
      await ws.on("block", (n) => {
        blocks.push(n);
        if (blocks.length === 4) onBlocks();
      });
      const transfer = token.interface.getEvent("Transfer").topicHash;
      const logs = [];
      let onLog;
      const gotLog = new Promise((resolve) => (onLog = resolve));
      await ws.on({ address: tokenAddr, topics: [transfer] }, (log) => {
        logs.push(log);
        onLog();
      });
      await sleep(300); // let both subscriptions be set up on the node
      const r = await mined(token.transfer(wallets[4].address, 13n));
      await withTimeout(gotLog, 10_000, "a log notification");
      assert.equal(logs[0].transactionHash, r.hash);
      assert.equal(logs[0].address, tokenAddr);
      assert.equal(BigInt(logs[0].data), 13n);
      await withTimeout(gotBlocks, 10_000, "4 block notifications");
      for (let i = 1; i < blocks.length; i++) assert.equal(blocks[i], blocks[i - 1] + 1, `consecutive blocks: ${blocks}`);
    } finally {
      await ws.destroy();
    }
  });

  test("eth_subscribe returns a hex string subscription id, as geth does", async () => {
    const sock = await openWs(node.wsUrl);
    try {
      const sub = await sock.call("eth_subscribe", ["newHeads"]);
      assert.equal(typeof sub, "string", `subscription id ${JSON.stringify(sub)} is a ${typeof sub}`);
      assert.match(sub, /^0x[0-9a-f]+$/i);
      assert.equal(await sock.call("eth_unsubscribe", [sub]), true);
    } finally {
      sock.close();
    }
  });

  test("raw eth_subscribe newHeads: each head is a full header whose hash re-derives; eth_unsubscribe", async () => {
    const sock = await openWs(node.wsUrl);
    try {
      const sub = await sock.call("eth_subscribe", ["newHeads"]);
      const heads = await sock.notifications(sub, 3, 10_000);
      for (const h of heads) {
        assert.equal(headerHash(h), h.hash, `newHeads ${num(h.number)}: header hash`);
        const b = await rpc(node.url, "eth_getBlockByNumber", [h.number, false]);
        assert.equal(b.hash, h.hash);
      }
      assert.equal(num(heads[1].number), num(heads[0].number) + 1);
      assert.equal(heads[1].parentHash, heads[0].hash);
      assert.equal(await sock.call("eth_unsubscribe", [sub]), true);
      // Plain calls work over the same socket.
      assert.equal(await sock.call("eth_chainId", []), "0x385");

      const logSub = await sock.call("eth_subscribe", ["logs", { address: tokenAddr }]);
      const r = await mined(token.transfer(wallets[5].address, 14n));
      const [log] = await sock.notifications(logSub, 1, 10_000);
      assert.equal(log.transactionHash, r.hash);
      assert.equal(log.blockHash, r.blockHash);
      assert.equal(log.removed, false);
      assert.equal(await sock.call("eth_unsubscribe", [logSub]), true);
    } finally {
      sock.close();
    }
  });
});

describe("debug_traceTransaction", () => {
  let relayTx; // relay(token, transfer(wallets[7], 21)): a nested call that succeeds
  let failedTx; // relay(token, transfer(too much)): reverted, mined with status 0
  let tryTx; // tryRelay(token, transfer(too much)): the inner call fails, the tx succeeds

  before(async () => {
    await mined(token.transfer(relayAddr, 100n));
    const inner = token.interface.encodeFunctionData("transfer", [wallets[7].address, 21n]);
    relayTx = await mined(relay.relay(tokenAddr, inner));
    const tooMuch = token.interface.encodeFunctionData("transfer", [wallets[7].address, 10n ** 30n]);
    const tx = await relay.relay(tokenAddr, tooMuch, { gasLimit: 200_000n });
    failedTx = await waitReceipt(node.url, tx.hash);
    tryTx = await mined(relay.tryRelay(tokenAddr, tooMuch));
  });

  test("callTracer: nested frames, output, gasUsed of the transaction", async () => {
    const inner = token.interface.encodeFunctionData("transfer", [wallets[7].address, 21n]);
    const t = await rpc(node.url, "debug_traceTransaction", [relayTx.hash, { tracer: "callTracer" }]);
    assert.equal(t.type, "CALL");
    assert.equal(getAddress(t.from), wallets[0].address);
    assert.equal(getAddress(t.to), relayAddr);
    assert.equal(t.input, relay.interface.encodeFunctionData("relay", [tokenAddr, inner]));
    assert.equal(BigInt(t.gasUsed), relayTx.gasUsed, "the top frame's gasUsed is the transaction's");
    assert.equal(t.error, undefined);
    assert.equal(t.output, relay.interface.encodeFunctionResult("relay", [AbiCoder.defaultAbiCoder().encode(["bool"], [true])]));
    assert.equal(t.calls?.length, 1, JSON.stringify(t));
    const c = t.calls[0];
    assert.equal(c.type, "CALL");
    assert.equal(getAddress(c.from), relayAddr);
    assert.equal(getAddress(c.to), tokenAddr);
    assert.equal(c.input, inner);
    assert.equal(c.output, AbiCoder.defaultAbiCoder().encode(["bool"], [true]));
    assert.ok(BigInt(c.gasUsed) > 0n && BigInt(c.gasUsed) < BigInt(t.gasUsed));
    assert.ok(BigInt(c.gas) < BigInt(t.gas));
  });

  test("callTracer: a reverted transaction and a failed inner call", async () => {
    assert.equal(failedTx.status, "0x0", "relaying a failing transfer reverts the transaction");
    const tooMuch = token.interface.encodeFunctionData("transfer", [wallets[7].address, 10n ** 30n]);
    const revertData = token.interface.encodeErrorResult("ERC20InsufficientBalance", [relayAddr, 79n, 10n ** 30n]);
    const f = await rpc(node.url, "debug_traceTransaction", [failedTx.transactionHash, { tracer: "callTracer" }]);
    assert.match(f.error ?? "", /execution reverted/, JSON.stringify(f));
    assert.equal(f.output, revertData, "the top frame bubbles the inner revert data");
    assert.match(f.calls[0].error ?? "", /execution reverted/);
    assert.equal(f.calls[0].output, revertData);
    assert.equal(BigInt(f.gasUsed), BigInt(failedTx.gasUsed));

    const t = await rpc(node.url, "debug_traceTransaction", [tryTx.hash, { tracer: "callTracer" }]);
    assert.equal(t.error, undefined);
    assert.equal(t.calls.length, 1);
    assert.match(t.calls[0].error ?? "", /execution reverted/, JSON.stringify(t.calls[0]));
    assert.equal(t.calls[0].input, tooMuch);
    assert.equal(t.calls[0].output, revertData);
  });

  test("default struct logger: opcodes, depth, gas accounting, result", async () => {
    const t = await rpc(node.url, "debug_traceTransaction", [relayTx.hash, {}]);
    assert.equal(t.failed, false);
    assert.equal(BigInt(t.gas), relayTx.gasUsed, "gas is the transaction's gasUsed");
    assert.ok(t.structLogs.length > 100);
    const [first, second] = t.structLogs;
    assert.deepEqual([first.pc, first.op, first.depth], [0, "PUSH1", 1]);
    assert.equal(second.op, "PUSH1");
    assert.deepEqual(second.stack.map((x) => BigInt(`0x${x.replace(/^0x/, "")}`)), [0x80n], "the stack after PUSH1 0x80");
    const ops = new Set(t.structLogs.map((l) => l.op));
    for (const op of ["CALL", "SSTORE", "SLOAD", "LOG3", "LOG2", "RETURN"]) assert.ok(ops.has(op), `trace has ${op}`);
    assert.ok(t.structLogs.some((l) => l.depth === 2), "the inner call runs at depth 2");
    assert.equal(t.structLogs.at(-1).depth, 1);
    // Within a frame, each step's gas is the previous step's gas less its cost.
    const calls = new Set(["CALL", "CALLCODE", "DELEGATECALL", "STATICCALL", "CREATE", "CREATE2"]);
    let checked = 0;
    for (let i = 0; i + 1 < t.structLogs.length; i++) {
      const [a, b] = [t.structLogs[i], t.structLogs[i + 1]];
      if (a.depth !== b.depth || calls.has(a.op)) continue;
      assert.equal(b.gas, a.gas - a.gasCost, `step ${i} ${a.op} at pc ${a.pc}: gas ${a.gas} - cost ${a.gasCost} != next gas ${b.gas}`);
      checked++;
    }
    assert.ok(checked > 100);
    assert.ok(t.returnValue.replace(/^0x/, "").length > 0);

    const f = await rpc(node.url, "debug_traceTransaction", [failedTx.transactionHash, {}]);
    assert.equal(f.failed, true);
    assert.equal(f.structLogs.at(-1).op, "REVERT");
  });
});

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]).finally(() => clearTimeout(t));
}

/** A bare JSON-RPC WebSocket client: call() and the notifications of a subscription. */
function openWs(url) {
  return new Promise((resolve, reject) => {
    const sock = new WebSocket(url);
    const pending = new Map();
    const notes = new Map(); // subscription id -> results
    const waiters = [];
    let id = 1;
    sock.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== undefined && pending.has(msg.id)) {
        const { res, rej } = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) rej(new Error(`${JSON.stringify(msg.error)}`));
        else res(msg.result);
      } else if (msg.method === "eth_subscription") {
        const list = notes.get(msg.params.subscription) ?? [];
        list.push(msg.params.result);
        notes.set(msg.params.subscription, list);
        waiters.forEach((w) => w());
      }
    });
    sock.on("error", reject);
    sock.on("open", () =>
      resolve({
        call(method, params) {
          return new Promise((res, rej) => {
            const i = id++;
            pending.set(i, { res, rej });
            sock.send(JSON.stringify({ jsonrpc: "2.0", id: i, method, params }));
          });
        },
        notifications(sub, count, ms) {
          return withTimeout(
            new Promise((res) => {
              const check = () => {
                const list = notes.get(sub) ?? [];
                if (list.length >= count) res(list.slice(0, count));
              };
              waiters.push(check);
              check();
            }),
            ms,
            `${count} notifications of ${sub}`,
          );
        },
        close() {
          sock.close();
        },
      }),
    );
  });
}
