// Bad input gets a clear JSON-RPC error and the node keeps serving: every txpool rejection (each a real
// transaction signed by ethers), malformed JSON, an unknown method, an oversized body, an oversized
// batch and a huge eth_getLogs range.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import {
  Transaction,
  Wallet,
  concat,
  decodeRlp,
  encodeRlp,
  getBytes,
  hexlify,
  keccak256,
  parseEther,
  parseUnits,
  toBeArray,
  toQuantity,
  zeroPadValue,
} from "ethers";
import { startNode, testWallets, CHAIN_ID } from "../lib/node.mjs";
import { describe as describeRpc, post, rpc, rpcError, waitBlock, waitReceipt } from "../lib/rpc.mjs";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const RECIPIENT = "0x000000000000000000000000000000000000dEaD";

let node;
let wallets;
// Hashes of transactions that were rejected: none of them may ever be found on the node.
const rejected = [];

before(async () => {
  node = await startNode({ name: "rpc-errors" });
  wallets = testWallets(null);
});

after(async () => {
  await node?.stop();
});

async function nonceOf(address, tag = "pending") {
  return Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [address, tag])));
}

/** Base fee of the block the node will seal next (eth_feeHistory's last entry). */
async function nextBaseFee() {
  const fh = await rpc(node.url, "eth_feeHistory", ["0x1", "latest", []]);
  return BigInt(fh.baseFeePerGas[1]);
}

/** A well-formed, well-paid EIP-1559 transfer from `wallet`; `fields` override any field. */
async function txFields(wallet, fields = {}) {
  const base = await nextBaseFee();
  return {
    type: 2,
    chainId: CHAIN_ID,
    nonce: await nonceOf(wallet.address),
    to: RECIPIENT,
    value: 1n,
    data: "0x",
    gasLimit: 21_000n,
    maxPriorityFeePerGas: parseUnits("1", "gwei"),
    maxFeePerGas: base * 2n + parseUnits("1", "gwei"),
    ...fields,
  };
}

/** Sends `raw` and expects a -32000 error whose message contains `substring`. */
async function expectRejected(raw, substring, { code = -32000 } = {}) {
  const res = await rpcError(node.url, "eth_sendRawTransaction", [raw]);
  const ctx = describeRpc(res);
  assert.equal(res.error.code, code, `error code\n${ctx}`);
  assert.ok(res.error.message.includes(substring), `message should contain "${substring}"\n${ctx}`);
  try {
    rejected.push(keccak256(raw));
  } catch {}
  return res.error;
}

/** Replaces fields of a signed typed (EIP-2718) transaction's RLP list, keeping its type byte. */
function tamperTyped(raw, edit) {
  const bytes = getBytes(raw);
  const fields = decodeRlp(bytes.slice(1));
  edit(fields);
  return concat([bytes.slice(0, 1), encodeRlp(fields)]);
}

function rlpInt(n) {
  return toBeArray(BigInt(n));
}

describe("txpool rejections through eth_sendRawTransaction", () => {
  test("undecodable bytes -> decode error", async () => {
    await expectRejected("0xdeadbeef", "decode");
    // A typed envelope whose payload is truncated.
    const good = await wallets[0].signTransaction(await txFields(wallets[0]));
    await expectRejected(good.slice(0, good.length - 10), "decode");
  });

  test("signed for chain 902 -> invalid chain id", async () => {
    await expectRejected(await wallets[0].signTransaction(await txFields(wallets[0], { chainId: 902n })), "invalid chain id");
    // A legacy EIP-155 transaction for chain 902 too.
    const legacy = await txFields(wallets[0], { type: 0, chainId: 902n, gasPrice: (await nextBaseFee()) * 2n + 1n });
    delete legacy.maxFeePerGas;
    delete legacy.maxPriorityFeePerGas;
    await expectRejected(await wallets[0].signTransaction(legacy), "invalid chain id");
  });

  test("bad signature -> invalid sender", async () => {
    const good = await wallets[0].signTransaction(await txFields(wallets[0]));
    // Type-2 fields: [chainId, nonce, tip, feeCap, gas, to, value, data, accessList, yParity, r, s].
    const zeroR = tamperTyped(good, (f) => {
      f[10] = "0x";
    });
    await expectRejected(zeroR, "invalid sender");
    const zeroS = tamperTyped(good, (f) => {
      f[11] = "0x";
    });
    await expectRejected(zeroS, "invalid sender");
  });

  test("a high-s signature (EIP-2) -> invalid sender", async () => {
    const good = await wallets[0].signTransaction(await txFields(wallets[0]));
    // s above n/2 is the malleable twin of a valid signature: invalid since EIP-2.
    const highS = tamperTyped(good, (f) => {
      f[11] = rlpInt(SECP256K1_N - BigInt(f[11]));
    });
    await expectRejected(highS, "invalid sender");
  });

  test("nonce too low", async () => {
    const w = wallets[2];
    const first = await w.signTransaction(await txFields(w));
    await rpc(node.url, "eth_sendRawTransaction", [first]);
    await waitReceipt(node.url, keccak256(first));
    assert.equal(await nonceOf(w.address, "latest"), 1);
    await expectRejected(await w.signTransaction(await txFields(w, { nonce: 0, value: 2n })), "nonce too low");
  });

  test("cannot pay value + gas -> insufficient funds for gas * price + value", async () => {
    const w = wallets[0];
    await expectRejected(await w.signTransaction(await txFields(w, { value: parseEther("20000") })), "insufficient funds for gas * price + value");
    // A key nobody funded.
    const empty = new Wallet(keccak256("0x01"));
    await expectRejected(await empty.signTransaction(await txFields(empty)), "insufficient funds for gas * price + value");
  });

  test("gas below the intrinsic cost -> intrinsic gas too low", async () => {
    const w = wallets[0];
    await expectRejected(await w.signTransaction(await txFields(w, { gasLimit: 20_999n })), "intrinsic gas too low");
    // Calldata costs gas too: 21000 is not enough with 100 non-zero bytes.
    await expectRejected(await w.signTransaction(await txFields(w, { data: hexlify(new Uint8Array(100).fill(1)) })), "intrinsic gas too low");
  });

  test("gas limit above the block gas limit -> exceeds block gas limit", async () => {
    const w = wallets[0];
    const block = await rpc(node.url, "eth_getBlockByNumber", ["latest", false]);
    assert.equal(BigInt(block.gasLimit), 30_000_000n, "the devnet's block gas limit is 30M");
    await expectRejected(await w.signTransaction(await txFields(w, { gasLimit: 30_000_001n })), "exceeds block gas limit");
  });

  test("a transaction over 128 KiB -> oversized data", async () => {
    const w = wallets[0];
    const data = hexlify(new Uint8Array(129 * 1024).fill(1));
    await expectRejected(await w.signTransaction(await txFields(w, { data, gasLimit: 25_000_000n })), "oversized data");
  });

  test("max fee per gas below the base fee -> max fee per gas less than block base fee", async () => {
    const w = wallets[0];
    const base = await nextBaseFee();
    assert.ok(base > 1n, `the next base fee (${base}) must be above 1 wei for this check`);
    await expectRejected(await w.signTransaction(await txFields(w, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n })), "max fee per gas less than block base fee");
  });

  test("fee above the 1 ETH cap -> exceeds the configured cap", async () => {
    const w = wallets[0];
    // 21000 gas at 100,000 gwei = 2.1 ETH (the account could pay it: the cap, not the balance, refuses).
    const tx = await txFields(w, { maxFeePerGas: parseUnits("100000", "gwei"), maxPriorityFeePerGas: parseUnits("1", "gwei") });
    await expectRejected(await w.signTransaction(tx), "exceeds the configured cap");
    const legacy = await txFields(w, { type: 0, gasPrice: parseUnits("100000", "gwei") });
    delete legacy.maxFeePerGas;
    delete legacy.maxPriorityFeePerGas;
    await expectRejected(await w.signTransaction(legacy), "exceeds the configured cap");
  });

  test("same sender and nonce with less than a 10% fee bump -> replacement transaction underpriced", async () => {
    const w = wallets[1];
    const n = await nonceOf(w.address, "latest");
    // Nonce n+1 is held back behind the gap at n, so it stays in the pool while we try to replace it.
    const base = await nextBaseFee();
    const fee = base * 4n + parseUnits("2", "gwei");
    const tip = parseUnits("1", "gwei");
    const original = await w.signTransaction(await txFields(w, { nonce: n + 1, maxFeePerGas: fee, maxPriorityFeePerGas: tip, value: 1n }));
    const originalHash = await rpc(node.url, "eth_sendRawTransaction", [original]);
    assert.equal(originalHash, keccak256(original));
    const bump5 = await w.signTransaction(await txFields(w, { nonce: n + 1, maxFeePerGas: (fee * 105n) / 100n, maxPriorityFeePerGas: (tip * 105n) / 100n, value: 2n }));
    await expectRejected(bump5, "replacement transaction underpriced");
    const same = await w.signTransaction(await txFields(w, { nonce: n + 1, maxFeePerGas: fee, maxPriorityFeePerGas: tip, value: 3n }));
    await expectRejected(same, "replacement transaction underpriced");
    // A 10% bump of both fee fields replaces it.
    const bump10 = await w.signTransaction(await txFields(w, { nonce: n + 1, maxFeePerGas: (fee * 110n) / 100n, maxPriorityFeePerGas: (tip * 110n) / 100n, value: 4n }));
    await rpc(node.url, "eth_sendRawTransaction", [bump10]);
    // Fill the gap: both get mined, and the replacement is what nonce n+1 became.
    const gap = await w.signTransaction(await txFields(w, { nonce: n, maxFeePerGas: fee, maxPriorityFeePerGas: tip }));
    await rpc(node.url, "eth_sendRawTransaction", [gap]);
    const r0 = await waitReceipt(node.url, keccak256(gap));
    const r1 = await waitReceipt(node.url, keccak256(bump10));
    assert.equal(r0.status, "0x1");
    assert.equal(r1.status, "0x1");
    assert.equal(await rpc(node.url, "eth_getTransactionByHash", [originalHash]), null, "the replaced tx is gone");
    assert.equal(await nonceOf(w.address, "latest"), n + 2);
  });

  test("a deposit transaction (type 0x7e) is refused over RPC", async () => {
    const from = wallets[0].address;
    // [sourceHash, from, to, mint, value, gas, isSystemTransaction, data]
    const deposit = concat([
      "0x7e",
      encodeRlp([keccak256("0x1234"), from, RECIPIENT, rlpInt(parseEther("1000")), rlpInt(parseEther("1000")), rlpInt(100_000), "0x", "0x"]),
    ]);
    await expectRejected(deposit, "deposit");
  });
});

describe("malformed requests and limits", () => {
  test("malformed JSON -> -32700", async () => {
    const res = await post(node.url, '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[');
    assert.ok(res.json?.error, `a JSON-RPC error object, got HTTP ${res.status} ${res.text}`);
    assert.equal(res.json.error.code, -32700, res.text);
  });

  test("unknown method -> -32601", async () => {
    const res = await rpcError(node.url, "eth_noSuchMethod", []);
    assert.equal(res.error.code, -32601, describeRpc(res));
  });

  test("a 6 MiB body -> HTTP 413; a 4 MiB one is read", async () => {
    const big = `{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x${"00".repeat(3 * 1024 * 1024)}"]}`;
    assert.ok(big.length > 6 * 1024 * 1024);
    const res = await rawHttpPost(node.url, big);
    assert.equal(res.status, 413, `HTTP status for a ${big.length}-byte body: ${res.status} ${res.body.slice(0, 300)}`);
    const ok = `{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x${"00".repeat(2 * 1024 * 1024)}"]}`;
    const res2 = await post(node.url, ok);
    assert.equal(res2.status, 200, `HTTP status for a ${ok.length}-byte body: ${res2.status} ${res2.text.slice(0, 300)}`);
    assert.ok(res2.json?.error, "the 4 MiB transaction itself is refused with a JSON-RPC error");
  });

  test("a batch of 1001 calls -> an error; 1000 are answered", async () => {
    const batch = (n) => Array.from({ length: n }, (_, i) => ({ jsonrpc: "2.0", id: i + 1, method: "eth_chainId", params: [] }));
    const ok = await post(node.url, batch(1000));
    assert.ok(Array.isArray(ok.json), `a batch of 1000 gets an array: HTTP ${ok.status} ${ok.text.slice(0, 300)}`);
    assert.equal(ok.json.length, 1000);
    assert.ok(ok.json.every((r) => BigInt(r.result) === CHAIN_ID));
    const tooMany = await post(node.url, batch(1001));
    const err = Array.isArray(tooMany.json) ? tooMany.json : [tooMany.json];
    assert.ok(
      err.length > 0 && err.every((r) => r && r.error && typeof r.error.message === "string"),
      `a batch of 1001 gets an error: HTTP ${tooMany.status} ${tooMany.text.slice(0, 300)}`,
    );
    assert.ok(!err.some((r) => r.result !== undefined), "no call of an oversized batch is answered");
  });

  test("a batch mixing raw transactions with other calls answers each call as it would alone", async () => {
    // The node takes runs of eth_sendRawTransaction in a batch together (senders recovered in
    // parallel); each call must still get its own answer, in order, as if sent alone.
    const w = wallets[5];
    const first = await txFields(w);
    const good1 = await w.signTransaction(first);
    const good2 = await w.signTransaction({ ...first, nonce: first.nonce + 1 });
    const wrongChain = await w.signTransaction({ ...first, nonce: first.nonce + 2, chainId: 902n });
    rejected.push(keccak256(wrongChain));
    const call = (id, method, params) => ({ jsonrpc: "2.0", id, method, params });
    const batch = [
      call(1, "eth_sendRawTransaction", [good1]),
      call("two", "eth_sendRawTransaction", ["0xzz"]),
      call(3, "eth_sendRawTransaction", []),
      call(4, "eth_chainId", []),
      call(5, "eth_sendRawTransaction", [good1]),
      { jsonrpc: "2.0", method: "eth_chainId", params: [] },
      call(6, "eth_sendRawTransaction", [wrongChain]),
      call(7, "eth_sendRawTransaction", [good2]),
      { jsonrpc: "2.0", id: 8, method: 42 },
      call(9, "eth_sendRawTransaction", [good2]),
    ];
    const res = await post(node.url, batch);
    assert.ok(Array.isArray(res.json), `a batch gets an array: HTTP ${res.status} ${res.text.slice(0, 500)}`);
    assert.deepEqual(
      res.json.map((r) => r.id),
      [1, "two", 3, 4, 5, 6, 7, 8, 9],
      `one answer per call, in order, none for the notification: ${res.text.slice(0, 1500)}`,
    );
    const [r1, r2, r3, r4, r5, r6, r7, r8, r9] = res.json;
    assert.equal(r1.result, keccak256(good1), res.text);
    assert.equal(r7.result, keccak256(good2), res.text);
    assert.equal(BigInt(r4.result), CHAIN_ID, res.text);
    assert.equal(r8.error?.code, -32600, res.text);
    // The rejected calls get exactly the error the same call gets alone (those whose answer
    // cannot change once the batch's transactions are mined).
    for (const [answer, params] of [
      [r2, ["0xzz"]],
      [r3, []],
      [r6, [wrongChain]],
    ]) {
      const alone = await rpcError(node.url, "eth_sendRawTransaction", params);
      assert.deepEqual(answer.error, alone.error, `batched ${JSON.stringify(answer)} against alone ${describeRpc(alone)}`);
    }
    // Sent twice: still pooled, or (if a block sealed in between) already mined.
    assert.match(r5.error?.message ?? "accepted", /^already known$|^nonce too low/, res.text);
    assert.match(r9.error?.message ?? "accepted", /^already known$|^nonce too low/, res.text);
    assert.ok(r6.error.message.includes("invalid chain id"), res.text);
    const receipt = await waitReceipt(node.url, r7.result);
    assert.equal(receipt.status, "0x1");
  });

  test("eth_getLogs over more blocks than the cap -> block range error", async () => {
    // Asked for 1,000,001 blocks: refused as asked, however short the chain is yet.
    const res = await rpcError(node.url, "eth_getLogs", [{ fromBlock: "0x0", toBlock: toQuantity(1_000_000) }]);
    assert.ok(res.error.message.includes("block range"), describeRpc(res));
    // The cap is 10,000 blocks: from 0 to 10,000 is 10,001 blocks.
    const res2 = await rpcError(node.url, "eth_getLogs", [{ fromBlock: "0x0", toBlock: toQuantity(10_000), address: RECIPIENT }]);
    assert.ok(res2.error.message.includes("block range"), describeRpc(res2));
  });

  test("eth_getLogs cap within the chain (a node started with --rpc.max-logs-range 10)", async () => {
    const small = await startNode({ name: "rpc-errors-logs-range", args: ["--rpc.max-logs-range", "10"] });
    try {
      await waitBlock(small.url, 12);
      assert.deepEqual(await rpc(small.url, "eth_getLogs", [{ fromBlock: "0x0", toBlock: "0x9" }]), [], "10 blocks are within the cap");
      const res = await rpcError(small.url, "eth_getLogs", [{ fromBlock: "0x0", toBlock: "0xb" }]);
      assert.ok(res.error.message.includes("block range"), describeRpc(res));
      const res2 = await rpcError(small.url, "eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }]);
      assert.ok(res2.error.message.includes("block range"), describeRpc(res2));
      assert.ok(BigInt(await rpc(small.url, "eth_blockNumber")) >= 12n, "still serving");
    } finally {
      await small.stop();
    }
  });

  test("bad params of a known method get -32602, not a crash", async () => {
    const res = await rpcError(node.url, "eth_getBalance", ["0x1234", "latest"]);
    assert.equal(res.error.code, -32602, describeRpc(res));
    const res2 = await rpcError(node.url, "eth_getBlockByNumber", ["not-a-block", false]);
    assert.equal(res2.error.code, -32602, describeRpc(res2));
  });
});

describe("after all of that", () => {
  test("the node still serves and mines legacy, EIP-2930 and EIP-1559 transactions", async () => {
    const before = BigInt(await rpc(node.url, "eth_blockNumber"));
    const w = wallets[3];
    const base = await nextBaseFee();
    const n = await nonceOf(w.address);
    const legacy = await w.signTransaction({ type: 0, chainId: CHAIN_ID, nonce: n, to: RECIPIENT, value: 1n, gasLimit: 21_000n, gasPrice: base * 2n + 1n });
    const al = await w.signTransaction({
      type: 1,
      chainId: CHAIN_ID,
      nonce: n + 1,
      to: RECIPIENT,
      value: 1n,
      gasLimit: 30_000n,
      gasPrice: base * 2n + 1n,
      accessList: [{ address: RECIPIENT, storageKeys: [zeroPadValue("0x01", 32)] }],
    });
    const eip1559 = await w.signTransaction(await txFields(w, { nonce: n + 2 }));
    // A pre-sent check of the EIP-155 v value ethers produced.
    assert.equal(Transaction.from(legacy).chainId, CHAIN_ID);
    const hashes = [];
    for (const raw of [legacy, al, eip1559]) hashes.push(await rpc(node.url, "eth_sendRawTransaction", [raw]));
    const receipts = [];
    for (const h of hashes) receipts.push(await waitReceipt(node.url, h));
    assert.deepEqual(receipts.map((r) => r.status), ["0x1", "0x1", "0x1"]);
    assert.deepEqual(receipts.map((r) => r.type), ["0x0", "0x1", "0x2"]);
    assert.equal(await nonceOf(w.address, "latest"), n + 3);
    assert.ok(BigInt(await rpc(node.url, "eth_blockNumber")) > before, "blocks go on");
  });

  test("no rejected transaction was ever accepted", async () => {
    assert.ok(rejected.length >= 15, `${rejected.length} rejections recorded`);
    for (const h of rejected) {
      assert.equal(await rpc(node.url, "eth_getTransactionByHash", [h]), null, `rejected tx ${h} is unknown to the node`);
    }
    // Account 0 sent only rejected transactions: its nonce never moved.
    assert.equal(await nonceOf(wallets[0].address, "latest"), 0);
    assert.equal(await nonceOf(wallets[0].address, "pending"), 0);
    const status = await rpc(node.url, "txpool_status");
    assert.equal(BigInt(status.pending), 0n, `txpool_status ${JSON.stringify(status)}`);
    assert.equal(BigInt(status.queued), 0n, `txpool_status ${JSON.stringify(status)}`);
  });
});

/**
 * POSTs `body` over a bare socket and gives {status, body}. Like curl (Expect: 100-continue), it sends
 * the headers, gives the server a moment to refuse from Content-Length alone, and stops sending as soon
 * as the server answers: a server that refuses a big body early (413) is then seen answering, where
 * fetch, still writing, may only see the connection reset.
 */
function rawHttpPost(url, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const sock = net.connect(Number(u.port), u.hostname);
    let received = "";
    sock.setEncoding("utf8");
    sock.setTimeout(30_000, () => sock.destroy(new Error("timeout")));
    sock.on("data", (d) => (received += d));
    sock.on("error", () => {}); // EPIPE / ECONNRESET once the server has answered and closed
    sock.on("close", () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      if (!m) return reject(new Error(`no HTTP response: ${received.slice(0, 200)}`));
      resolve({ status: Number(m[1]), body: received.slice(received.indexOf("\r\n\r\n") + 4) });
    });
    sock.on("connect", async () => {
      const bytes = Buffer.from(body);
      sock.write(`POST / HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
      for (let waited = 0; waited < 1000 && received === ""; waited += 10) await new Promise((res) => setTimeout(res, 10));
      if (/^HTTP\/1\.[01] 100/.test(received)) received = received.slice(received.indexOf("\r\n\r\n") + 4);
      for (let off = 0; off < bytes.length && received === "" && !sock.destroyed; off += 64 * 1024) {
        await new Promise((res) => sock.write(bytes.subarray(off, off + 64 * 1024), () => res()));
      }
      if (!sock.destroyed) sock.end();
    });
  });
}
