// The step verifier's `L2Precompiles` (fraud-vm/contracts/verifier) on a hardhat node as the L1:
// it runs the L2's precompiles with the L1's own 0x01–0x11 and P256VERIFY in Solidity, so the
// L1 must have every one of them with the L2's semantics. Hardhat 2.29 runs Osaka, which reprices
// modexp (EIP-7883, given its gas here) and refuses modexp lengths above 1024 bytes (EIP-7823);
// the rollup's bounds (fraud-vm/SPEC.md §5.15) fail such a call on the L2 too, and keep every
// allowed modexp within 4M gas at Osaka's price, so each is decided here.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ethers } from "ethers";
import { startHardhat } from "../lib/hardhat.mjs";
import { MNEMONIC, REPO_ROOT } from "../lib/node.mjs";

const nodes = [];
after(async () => {
  for (const n of nodes) await n.stop();
});

const hex = (s) => Buffer.from(s.replace(/^0x/, ""), "hex");
const word = (v) => ethers.zeroPadValue(ethers.toBeHex(v), 32);
const zeros = (n) => new Uint8Array(n);

function modexpInput(base, exp, mod) {
  return ethers.concat([word(base.length), word(exp.length), word(mod.length), base, exp, mod]);
}

test("hardhat has every L1 precompile L2Precompiles runs, with the L2's answers", async () => {
  const hh = await startHardhat({ name: "l1-precompiles" });
  nodes.push(hh);
  const provider = new ethers.JsonRpcProvider(hh.url, undefined, { polling: true, pollingInterval: 100 });
  const wallet = ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/0").connect(provider);
  const artifact = JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, "fraud-vm/artifacts/L2Precompiles.json"), "utf8"),
  );
  const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, wallet);
  const set = await factory.deploy();
  await set.waitForDeployment();
  const run = async (addr, input, limit) => {
    const [ok, used, output] = await set.run(addr, input, limit, { gasLimit: 10_000_000 });
    return { ok, used: Number(used), output };
  };

  // ecrecover of a real signature.
  const digest = ethers.keccak256(ethers.toUtf8Bytes("l1 precompiles"));
  const sig = wallet.signingKey.sign(digest);
  const recovered = await run(1, ethers.concat([digest, word(sig.v), sig.r, sig.s]), 3000);
  assert.deepEqual(recovered, { ok: true, used: 3000, output: word(wallet.address).toLowerCase() });

  const sha = crypto.createHash("sha256").update("abc").digest("hex");
  assert.deepEqual(await run(2, ethers.toUtf8Bytes("abc"), 100), { ok: true, used: 72, output: `0x${sha}` });
  assert.equal((await run(3, ethers.toUtf8Bytes("abc"), 1000)).output.length, 66);
  assert.deepEqual(await run(4, "0x0102", 18), { ok: true, used: 18, output: "0x0102" });
  assert.equal((await run(4, "0x0102", 17)).ok, false);

  // modexp: 3^5 mod 7; a 64-byte modulus with a 32-byte exponent, priced by Prague for the L2
  // (5440) though Osaka charges 32640; lengths beyond EIP-7823 fail (the rollup's bound), and
  // the heaviest modexp the bounds allow (704-byte operands, a 32-byte exponent: 658,240 on the
  // L2, 3,949,440 at Osaka's price) is decided on Osaka.
  assert.deepEqual(await run(5, modexpInput(hex("03"), hex("05"), hex("07")), 200), {
    ok: true,
    used: 200,
    output: "0x05",
  });
  const base = new Uint8Array(64).fill(3);
  const mod = new Uint8Array(64).fill(0x7f);
  const exp = new Uint8Array(32).fill(0xff);
  const big = await run(5, modexpInput(base, exp, mod), 6000);
  const b = BigInt(ethers.hexlify(base));
  const m = BigInt(ethers.hexlify(mod));
  let e = BigInt(ethers.hexlify(exp));
  let want = 1n;
  for (let x = b % m; e > 0n; e >>= 1n, x = (x * x) % m) if (e & 1n) want = (want * x) % m;
  assert.deepEqual(big, { ok: true, used: 5440, output: ethers.zeroPadValue(ethers.toBeHex(want), 64) });
  assert.equal((await run(5, modexpInput(new Uint8Array(1025).fill(1), hex("03"), hex("07")), 5_000_000)).ok, false);
  const base704 = new Uint8Array(704).fill(3);
  const mod704 = new Uint8Array(704).fill(0x7f);
  const heaviest = await run(5, modexpInput(base704, exp, mod704), 658_240);
  const b704 = BigInt(ethers.hexlify(base704));
  const m704 = BigInt(ethers.hexlify(mod704));
  e = BigInt(ethers.hexlify(exp));
  want = 1n;
  for (let x = b704 % m704; e > 0n; e >>= 1n, x = (x * x) % m704) if (e & 1n) want = (want * x) % m704;
  assert.deepEqual(heaviest, { ok: true, used: 658_240, output: ethers.zeroPadValue(ethers.toBeHex(want), 704) });
  assert.equal((await run(5, modexpInput(new Uint8Array(712).fill(3), exp, new Uint8Array(712).fill(0x7f)), 700_000)).ok, false);

  // alt_bn128: 2·(1, 2); the empty pairing is one.
  const g = ethers.concat([word(1), word(2)]);
  const twice = await run(6, ethers.concat([g, g]), 150);
  assert.deepEqual(twice, {
    ok: true,
    used: 150,
    output:
      "0x030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd315ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4",
  });
  assert.deepEqual(await run(7, ethers.concat([g, word(2)]), 6000), { ok: true, used: 6000, output: twice.output });
  assert.deepEqual(await run(8, "0x", 45_000), { ok: true, used: 45_000, output: word(1) });

  // blake2f: EIP-152 vector 5 (BLAKE2b-512 of "abc", 12 rounds).
  const iv = [
    0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n,
    0x510e527fade682d1n, 0x9b05688c2b3e6c1fn, 0x1f83d9abfb41bd6bn, 0x5be0cd19137e2179n,
  ];
  const f = Buffer.alloc(213);
  f.writeUInt32BE(12, 0);
  iv.forEach((h, i) => f.writeBigUInt64LE(i === 0 ? h ^ 0x01010040n : h, 4 + 8 * i));
  f.write("abc", 68, "latin1");
  f.writeBigUInt64LE(3n, 196);
  f[212] = 1;
  assert.deepEqual(await run(9, f, 12), {
    ok: true,
    used: 12,
    output:
      "0xba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
  });
  // More than the rollup's 4M rounds fails, with gas for them.
  const many = Buffer.from(f);
  many.writeUInt32BE(4_000_001, 0);
  assert.equal((await run(9, many, 5_000_000)).ok, false);

  // KZG point evaluation: c-kzg-4844's verify_kzg_proof_case_correct_proof_4_4.
  const commitment = hex(
    "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7",
  );
  const versioned = crypto.createHash("sha256").update(commitment).digest();
  versioned[0] = 1;
  const kzg = ethers.concat([
    versioned,
    "0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000",
    "0x1522a4a7f34e1ea350ae07c29c96c7e79655aa926122e95fe69fcbd932ca49e9",
    commitment,
    "0xa62ad71d14c5719385c0686f1871430475bf3a00f0aa3f7b8dd99a9abc2160744faf0070725e00b60ad9a026a15b1a8c",
  ]);
  assert.deepEqual(await run(0x0a, kzg, 50_000), {
    ok: true,
    used: 50_000,
    output: ethers.concat([word(4096), "0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"]),
  });

  // EIP-2537 on points at infinity: each precompile present, with the L2's gas.
  const bls = [
    [0x0b, 256, 375, ethers.hexlify(zeros(128))],
    [0x0c, 160, 12_000, ethers.hexlify(zeros(128))],
    [0x0d, 512, 600, ethers.hexlify(zeros(256))],
    [0x0e, 288, 22_500, ethers.hexlify(zeros(256))],
    [0x0f, 384, 70_300, word(1)],
  ];
  for (const [addr, len, gas, output] of bls) {
    assert.deepEqual(await run(addr, zeros(len), gas), { ok: true, used: gas, output }, `0x${addr.toString(16)}`);
  }
  for (const [addr, len, gas, outLen] of [[0x10, 64, 5_500, 128], [0x11, 128, 23_800, 256]]) {
    const mapped = await run(addr, zeros(len), gas);
    assert.equal(mapped.ok && mapped.used === gas && mapped.output.length === 2 + 2 * outLen, true);
  }

  // P256VERIFY, computed in Solidity: daimo-eth/p256-verifier's valid vector, then one bit off.
  const p256 = hex(
    "4cee90eb86eaa050036147a12d49004b6b9c72bd725d39d4785011fe190f0b4da73bd4903f0ce3b639bbbf6e8e80d16931ff4bcf5993d58468e8fb19086e8cac36dbcd03009df8c59286b162af3bd7fcc0450c9aa81be5d10d312af6c66b1d604aebd3099c618202fcfe16ae7770b0c49ab5eadf74b754204a3bb6060e44eff37618b065f9832de4ca6ca971a7a1adc826d0f7c00181a5fb2ddf79ae00b4e10e",
  );
  assert.deepEqual(await run(0x100, p256, 3450), { ok: true, used: 3450, output: word(1) });
  p256[0] ^= 1;
  assert.deepEqual(await run(0x100, p256, 3450), { ok: true, used: 3450, output: "0x" });
});
