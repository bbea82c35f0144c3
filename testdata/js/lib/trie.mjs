// Just enough of the Merkle-Patricia trie (Yellow Paper appendix D) to check what the node commits to:
// the root of an ordered list (transactionsRoot, receiptsRoot) and eth_getProof's account and storage
// proofs against a state root.
import { decodeRlp, encodeRlp, getBytes, hexlify, keccak256, toBeArray } from "ethers";

export const EMPTY_TRIE_ROOT = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";

function nibbles(bytes) {
  const out = [];
  for (const b of getBytes(bytes)) out.push(b >> 4, b & 15);
  return out;
}

// Hex-prefix encoding of a nibble path, with the leaf flag.
function hexPrefix(path, leaf) {
  const flag = (leaf ? 2 : 0) + (path.length % 2);
  const all = path.length % 2 ? [flag, ...path] : [flag, 0, ...path];
  const out = new Uint8Array(all.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (all[2 * i] << 4) | all[2 * i + 1];
  return out;
}

function decodeHexPrefix(hex) {
  const n = nibbles(hex);
  const leaf = n[0] >= 2;
  return { leaf, path: n[0] % 2 ? n.slice(1) : n.slice(2) };
}

// A node as an RLP structure; children shorter than 32 bytes encoded are inlined, others hashed.
function reference(node) {
  const enc = encodeRlp(node);
  return getBytes(enc).length < 32 ? node : keccak256(enc);
}

function build(items, depth) {
  if (items.length === 1) return [hexPrefix(items[0].key.slice(depth), true), items[0].value];
  let common = 0;
  for (;;) {
    const k0 = items[0].key;
    if (depth + common >= k0.length || !items.every((it) => it.key.length > depth + common && it.key[depth + common] === k0[depth + common])) break;
    common++;
  }
  if (common > 0) return [hexPrefix(items[0].key.slice(depth, depth + common), false), reference(build(items, depth + common))];
  const branch = new Array(17).fill("0x");
  for (let nib = 0; nib < 16; nib++) {
    const sub = items.filter((it) => it.key.length > depth && it.key[depth] === nib);
    if (sub.length) branch[nib] = reference(build(sub, depth + 1));
  }
  const here = items.find((it) => it.key.length === depth);
  if (here) branch[16] = here.value;
  return branch;
}

/** Root of the trie that maps rlp(index) to values[index] (transactions, receipts). */
export function orderedTrieRoot(values) {
  if (values.length === 0) return EMPTY_TRIE_ROOT;
  const items = values.map((v, i) => ({ key: nibbles(encodeRlp(i === 0 ? "0x" : toBeArray(i))), value: hexlify(v) }));
  return keccak256(encodeRlp(build(items, 0)));
}

/**
 * Walks a Merkle proof (list of RLP nodes, root first) for `key` (bytes, hashed here) from `root`.
 * Returns the value (hex) stored at the key, or null when the proof shows the key is absent. Throws
 * when the proof does not hash up to `root` or is malformed.
 */
export function verifyProof(root, key, proof) {
  const path = nibbles(keccak256(key));
  let pos = 0;
  let expect = root.toLowerCase();
  if (expect === EMPTY_TRIE_ROOT && proof.length === 0) return null;
  for (let i = 0; i < proof.length; i++) {
    const got = keccak256(proof[i]);
    if (got !== expect) throw new Error(`proof node ${i} hashes to ${got}, its parent references ${expect}`);
    let node = decodeRlp(proof[i]);
    if (!Array.isArray(node)) {
      if (node === "0x") return null; // the empty trie: rlp("")
      throw new Error(`proof node ${i} is not a list`);
    }
    for (;;) {
      let child;
      if (node.length === 17) {
        if (pos === path.length) return node[16] === "0x" ? null : node[16];
        child = node[path[pos]];
        pos += 1;
      } else if (node.length === 2) {
        const { leaf, path: p } = decodeHexPrefix(node[0]);
        const rest = path.slice(pos, pos + p.length);
        const match = rest.length === p.length && rest.every((x, j) => x === p[j]);
        if (leaf) return match && pos + p.length === path.length ? node[1] : null;
        if (!match) return null;
        pos += p.length;
        child = node[1];
      } else {
        throw new Error(`proof node ${i} has ${node.length} items`);
      }
      if (child === "0x") return null;
      if (Array.isArray(child)) {
        node = child; // inlined child: keep walking inside this proof element
        continue;
      }
      expect = child.toLowerCase();
      break;
    }
  }
  throw new Error("proof ended before reaching a leaf or an absence");
}

