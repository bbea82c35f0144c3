// debug_executionWitness and the raw-block debug methods on a running devnet, asked through ethers:
// the witness's last header is the parent's (hashes to the block's parentHash), its nodes hold the
// parent's state root node and every node of the parent-state account proofs of the accounts the
// block touched; the raw block, header, transactions and receipts hash to what the JSON says
// (deposit transaction and receipt included). Bad inputs get clear errors and the node keeps serving.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { decodeRlp, encodeRlp, keccak256, parseEther, toQuantity } from "ethers";
import { makeProvider, startNode, testWallets } from "../lib/node.mjs";
import { describe as describeRpc, rpc, rpcError } from "../lib/rpc.mjs";
import { orderedTrieRoot } from "../lib/trie.mjs";

const FRESH = "0x00000000000000000000000000000000000c0ffe";

let node;
let provider;
let block; // the block holding the test's transfer
let transfer;

before(async () => {
  node = await startNode({ name: "execution-witness" });
  provider = makeProvider(node.url);
  const [wallet] = testWallets(provider);
  const tx = await wallet.sendTransaction({ to: FRESH, value: parseEther("1") });
  transfer = await tx.wait();
  block = await provider.send("eth_getBlockByNumber", [toQuantity(transfer.blockNumber), false]);
});

after(async () => {
  provider?.destroy();
  await node?.stop();
});

const lower = (xs) => xs.map((x) => x.toLowerCase());
// An RLP integer field: zero is the empty string.
const rlpInt = (hex) => (hex === "0x" ? 0n : BigInt(hex));

test("debug_executionWitness: the parent's header, its state root node and the touched accounts' proofs", async () => {
  const n = Number(BigInt(block.number));
  const witness = await provider.send("debug_executionWitness", [toQuantity(n)]);
  for (const field of ["state", "codes", "keys", "headers"]) {
    assert.ok(Array.isArray(witness[field]), `${field} is an array`);
    for (const item of witness[field]) assert.match(item, /^0x([0-9a-f]{2})*$/, `${field} holds hex bytes`);
  }
  assert.ok(witness.headers.length >= 1, "at least the parent's header");
  const parentHeader = witness.headers.at(-1);
  assert.equal(keccak256(parentHeader), block.parentHash, "the last header hashes to the block's parentHash");
  const fields = decodeRlp(parentHeader);
  assert.equal(rlpInt(fields[8]), BigInt(n - 1), "the last header is block n-1");
  const parent = await provider.send("eth_getBlockByNumber", [toQuantity(n - 1), false]);
  assert.equal(fields[3], parent.stateRoot, "the header's state root");

  const nodes = new Set(witness.state.map((s) => keccak256(s)));
  assert.equal(nodes.size, witness.state.length, "each node once");
  assert.ok(nodes.has(parent.stateRoot), "the witness holds the parent's state root node");

  // The sender and the fresh recipient are read by the block: their parent-state account proofs
  // (presence for the sender, absence for the recipient) are made of witness nodes.
  const keys = new Set(lower(witness.keys));
  for (const address of [transfer.from, FRESH]) {
    assert.ok(keys.has(address.toLowerCase()), `keys hold ${address}`);
    const proof = await provider.send("eth_getProof", [address, [], toQuantity(n - 1)]);
    for (const p of proof.accountProof) {
      assert.ok(nodes.has(keccak256(p)), `the witness holds the node ${keccak256(p)} of ${address}'s proof`);
    }
  }
  for (const k of witness.keys) assert.ok(k.length === 42 || k.length === 66, `key ${k} is an address or a slot`);

  // Tags resolve like numbers.
  const latest = await provider.send("eth_getBlockByNumber", ["latest", false]);
  const atLatest = await rpc(node.url, "debug_executionWitness", ["latest"]);
  assert.ok(atLatest.headers.length >= 1);
  assert.ok(Number(rlpInt(decodeRlp(atLatest.headers.at(-1))[8])) >= Number(BigInt(latest.number)) - 1);
});

test("debug_getRawBlock, debug_getRawHeader, debug_getRawTransaction, debug_getRawReceipts", async () => {
  const n = toQuantity(BigInt(block.number));
  const full = await provider.send("eth_getBlockByNumber", [n, true]);
  const raw = await provider.send("debug_getRawBlock", [n]);
  const [header, txs, ommers, withdrawals] = decodeRlp(raw);
  assert.equal(keccak256(encodeRlp(header)), block.hash, "the raw block's header hashes to the block hash");
  assert.deepEqual(ommers, [], "no ommers");
  assert.deepEqual(withdrawals, [], "the empty withdrawals list");
  assert.equal(txs.length, full.transactions.length, "every transaction");
  assert.ok(txs.length >= 2, "the L1-info deposit and the transfer");
  assert.ok(txs[0].startsWith("0x7e"), "the first transaction is a deposit (EIP-2718 type 0x7e)");
  txs.forEach((t, i) => assert.equal(keccak256(t), full.transactions[i].hash, `transaction ${i} hashes to its hash`));

  const rawHeader = await provider.send("debug_getRawHeader", [n]);
  assert.equal(keccak256(rawHeader), block.hash, "the raw header hashes to the block hash");
  assert.equal(keccak256(await provider.send("debug_getRawHeader", [block.hash])), block.hash, "by hash too");

  for (const tx of full.transactions) {
    const rawTx = await provider.send("debug_getRawTransaction", [tx.hash]);
    assert.equal(keccak256(rawTx), tx.hash, `raw transaction ${tx.hash}`);
  }
  assert.equal(await provider.send("debug_getRawTransaction", ["0x" + "ab".repeat(32)]), null, "unknown transaction: null");

  const receipts = await provider.send("debug_getRawReceipts", [n]);
  assert.equal(receipts.length, txs.length, "one receipt per transaction");
  assert.ok(receipts[0].startsWith("0x7e"), "the deposit's receipt is typed 0x7e");
  assert.equal(orderedTrieRoot(receipts), full.receiptsRoot, "the raw receipts give the receipts root");
});

test("bad inputs get clear errors and the node keeps serving", async () => {
  const head = Number(await provider.getBlockNumber());
  const cases = [
    ["debug_executionWitness", ["0x0"], -32000, "genesis"],
    ["debug_executionWitness", [toQuantity(head + 1000)], -32000, "not found"],
    ["debug_executionWitness", ["0xffffffffffffffff"], -32000, "not found"],
    ["debug_executionWitness", ["0x1ffffffffffffffffffff"], -32602, ""],
    ["debug_executionWitness", ["nope"], -32602, ""],
    ["debug_executionWitness", [], -32602, ""],
    ["debug_executionWitness", ["pending"], -32602, "pending"],
    ["debug_getRawBlock", [toQuantity(head + 1000)], -32000, "not found"],
    ["debug_getRawBlock", ["0x" + "12".repeat(32)], -32000, "not found"],
    ["debug_getRawHeader", [{}], -32602, ""],
    ["debug_getRawReceipts", [toQuantity(head + 1000)], -32000, "not found"],
    ["debug_getRawTransaction", ["0x1234"], -32602, ""],
  ];
  for (const [method, params, code, substring] of cases) {
    const res = await rpcError(node.url, method, params);
    const ctx = describeRpc(res);
    assert.equal(res.error.code, code, `${method} ${JSON.stringify(params)}: code\n${ctx}`);
    assert.ok(res.error.message.toLowerCase().includes(substring), `${method}: message has "${substring}"\n${ctx}`);
  }
  assert.ok((await provider.getBlockNumber()) >= head, "still serving");
});
