// Signing many transactions fast and sending them in JSON-RPC batches, for load and fault tests.
// ethers' Wallet.signTransaction does the same, one promise at a time; here a SigningKey signs the
// unsigned hash directly, which is several times faster for thousands of transactions.
//
//   const keys = extraKeys(100);                         // test-mnemonic accounts 100..199
//   const raw = signTx(keys[0], { nonce: 0, to, value: 1n, maxFeePerGas, maxPriorityFeePerGas });
//   const answers = await sendRawBatch(url, [raw, ...]);  // [{hash} | {error}] in order
import { HDNodeWallet, SigningKey, Transaction, computeAddress } from "ethers";
import { CHAIN_ID, MNEMONIC } from "./node.mjs";
import { post } from "./rpc.mjs";

/** `count` private keys m/44'/60'/0'/0/i for i = first..first+count-1 (unfunded beyond index 13). */
export function extraKeys(count, first = 100) {
  const root = HDNodeWallet.fromPhrase(MNEMONIC, "", "m/44'/60'/0'/0");
  return Array.from({ length: count }, (_, i) => {
    const pk = root.deriveChild(first + i).privateKey;
    return { privateKey: pk, key: new SigningKey(pk), address: computeAddress(pk) };
  });
}

/** A signed EIP-1559 transfer (or call, with `data`), as raw hex; `hash` is set on the key object. */
export function signTx(k, { nonce, to, value = 0n, data = "0x", gasLimit = 21_000n, maxFeePerGas, maxPriorityFeePerGas }) {
  const tx = Transaction.from({
    type: 2,
    chainId: CHAIN_ID,
    nonce,
    to,
    value,
    data,
    gasLimit,
    maxFeePerGas,
    maxPriorityFeePerGas,
  });
  tx.signature = k.key.sign(tx.unsignedHash);
  return { raw: tx.serialized, hash: tx.hash };
}

/** Sends raw transactions as JSON-RPC batches of `per` calls; resolves to one {result}|{error} per tx, in order. */
export async function sendRawBatch(url, raws, per = 500) {
  const out = [];
  for (let i = 0; i < raws.length; i += per) {
    const chunk = raws.slice(i, i + per);
    const body = chunk.map((raw, j) => ({ jsonrpc: "2.0", id: j, method: "eth_sendRawTransaction", params: [raw] }));
    const { status, json } = await post(url, body, { timeoutMs: 60_000 });
    if (!Array.isArray(json)) throw new Error(`batch of ${chunk.length} eth_sendRawTransaction: HTTP ${status} ${JSON.stringify(json)?.slice(0, 500)}`);
    const byId = new Map(json.map((a) => [a.id, a]));
    for (let j = 0; j < chunk.length; j++) {
      const a = byId.get(j);
      out.push(a?.error ? { error: a.error } : { result: a?.result });
    }
  }
  return out;
}
