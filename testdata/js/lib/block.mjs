// Re-derives what a block commits to from the JSON the node serves: the header hash, the transactions
// root and the receipts root, so tests can check them against the node's own values.
import { Transaction, concat, encodeRlp, getBytes, keccak256, toBeArray } from "ethers";
import { orderedTrieRoot } from "./trie.mjs";

const int = (hex) => toBeArray(BigInt(hex));
const DEPOSIT_TYPE = 0x7e;

// Header fields in consensus order; the trailing ones exist from a fork on, and appear in the JSON
// only then (London: baseFee, Shanghai: withdrawalsRoot, Cancun: blob gas + beacon root, Prague: requestsHash).
const HEADER = [
  ["parentHash", "bytes"],
  ["sha3Uncles", "bytes"],
  ["miner", "bytes"],
  ["stateRoot", "bytes"],
  ["transactionsRoot", "bytes"],
  ["receiptsRoot", "bytes"],
  ["logsBloom", "bytes"],
  ["difficulty", "int"],
  ["number", "int"],
  ["gasLimit", "int"],
  ["gasUsed", "int"],
  ["timestamp", "int"],
  ["extraData", "bytes"],
  ["mixHash", "bytes"],
  ["nonce", "bytes"],
];
const OPTIONAL = [
  ["baseFeePerGas", "int"],
  ["withdrawalsRoot", "bytes"],
  ["blobGasUsed", "int"],
  ["excessBlobGas", "int"],
  ["parentBeaconBlockRoot", "bytes"],
  ["requestsHash", "bytes"],
];

/** rlp(header) from a block's (or newHeads') JSON. */
export function headerRlp(h) {
  const fields = [];
  for (const [name, kind] of HEADER) {
    if (h[name] === undefined) throw new Error(`header field ${name} missing`);
    fields.push(kind === "int" ? int(h[name]) : h[name]);
  }
  for (const [name, kind] of OPTIONAL) {
    if (h[name] === undefined || h[name] === null) break;
    fields.push(kind === "int" ? int(h[name]) : h[name]);
  }
  return encodeRlp(fields);
}

/** keccak256(rlp(header)) from a block's (or newHeads') JSON. */
export function headerHash(h) {
  return keccak256(headerRlp(h));
}

/** The EIP-2718 encoding of a transaction from its eth_getTransactionByHash JSON. */
export function encodeTx(tx) {
  const type = Number(BigInt(tx.type));
  if (type === DEPOSIT_TYPE) {
    return concat([
      "0x7e",
      encodeRlp([tx.sourceHash, tx.from, tx.to ?? "0x", int(tx.mint ?? "0x0"), int(tx.value), int(tx.gas), tx.isSystemTx ? "0x01" : "0x", tx.input]),
    ]);
  }
  const fields = {
    type,
    nonce: Number(BigInt(tx.nonce)),
    to: tx.to,
    value: tx.value,
    data: tx.input,
    gasLimit: tx.gas,
    signature: { r: tx.r, s: tx.s, v: tx.v, ...(tx.yParity !== undefined ? { yParity: Number(BigInt(tx.yParity)) } : {}) },
  };
  if (tx.chainId !== undefined && tx.chainId !== null) fields.chainId = tx.chainId;
  if (type === 0 || type === 1) fields.gasPrice = tx.gasPrice;
  if (type >= 1) fields.accessList = tx.accessList ?? [];
  if (type >= 2) {
    fields.maxFeePerGas = tx.maxFeePerGas;
    fields.maxPriorityFeePerGas = tx.maxPriorityFeePerGas;
  }
  if (type === 4) fields.authorizationList = tx.authorizationList;
  return Transaction.from(fields).serialized;
}

/** The consensus encoding of a receipt from its eth_getTransactionReceipt JSON. */
export function encodeReceipt(r) {
  const type = Number(BigInt(r.type ?? "0x0"));
  const fields = [
    BigInt(r.status) === 1n ? "0x01" : "0x",
    int(r.cumulativeGasUsed),
    r.logsBloom,
    r.logs.map((l) => [l.address, l.topics, l.data]),
  ];
  // OP-Stack deposit receipts (Canyon on) also commit to the deposit nonce and receipt version.
  if (type === DEPOSIT_TYPE && r.depositNonce !== undefined && r.depositNonce !== null) {
    fields.push(int(r.depositNonce));
    if (r.depositReceiptVersion !== undefined && r.depositReceiptVersion !== null) fields.push(int(r.depositReceiptVersion));
  }
  const body = getBytes(encodeRlp(fields));
  return type === 0 ? body : concat([new Uint8Array([type]), body]);
}

/** transactionsRoot of a block fetched with full transactions. */
export function transactionsRoot(block) {
  return orderedTrieRoot(block.transactions.map(encodeTx));
}

/** receiptsRoot from a block's receipts, in order. */
export function receiptsRoot(receipts) {
  return orderedTrieRoot(receipts.map(encodeReceipt));
}
