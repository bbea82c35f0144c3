// The 2048-bit logs bloom of the Yellow Paper (section 4.4.1), to check receipts' and blocks' logsBloom.
import { getBytes, hexlify, keccak256 } from "ethers";

function add(bloom, data) {
  const h = getBytes(keccak256(data));
  for (let i = 0; i < 6; i += 2) {
    const bit = ((h[i] << 8) | h[i + 1]) & 2047;
    bloom[255 - (bit >> 3)] |= 1 << (bit & 7);
  }
}

/** logsBloom (0x + 512 hex) of a list of logs ({address, topics}). */
export function logsBloom(logs) {
  const bloom = new Uint8Array(256);
  for (const log of logs) {
    add(bloom, log.address);
    for (const t of log.topics) add(bloom, t);
  }
  return hexlify(bloom);
}

/** Whether every bit of `inner` is set in `outer` (both 0x-hex blooms). */
export function bloomContains(outer, inner) {
  const a = getBytes(outer);
  const b = getBytes(inner);
  return b.every((byte, i) => (a[i] & byte) === byte);
}
