// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {P256} from "./P256.sol";

/// The L1 has less gas left than a precompile of the L2 costs it: the step cannot be decided in
/// this transaction (send it with more gas). Never an answer, so a submitter cannot make a
/// precompile fail by starving it.
error PrecompileGasShort(uint256 needed);

/// The L1 refuses an input of the precompile at `addr` that the L2 accepts. Unreachable on a
/// Prague or an Osaka L1 since the rollup bounds modexp to EIP-7823's 1024-byte operands
/// (SPEC.md §5.15 "Bounds"); kept so that an L1 that refuses more is never answered wrongly.
error PrecompileUnavailable(uint256 addr);

/// @title The L2's precompiled contracts, on a Prague L1 (fraud-vm/SPEC.md §5.15, §11;
/// Rust: step/precompile.rs, bn254.rs, kzg.rs, bls12_381.rs, p256.rs)
/// @notice `run` answers what a call to a precompile of the rollup's L2 (OP Stack Isthmus with
/// the rollup's bounds) does with an input and a gas limit: whether it succeeds, the gas it uses
/// and its output. The L2's gas and the rollup's bounds (128 pairs for 0x08, 0x0c, 0x0e, 0x0f;
/// modexp's 1024-byte operands and 4M gas at Osaka's price; blake2f's 4M rounds) are applied
/// here, so that every call costs the L1 at most about 4.4M gas; the computation of 0x01–0x11
/// is the L1's own precompile at the same address (Prague has them with the same semantics and
/// the same gas, SPEC.md §11), and P256VERIFY (0x0100, absent from Prague) is `P256` in Solidity.
/// @dev A deployed contract of its own, called by the call steps and the transaction start, so
/// that neither carries it within EIP-170. It relies on the L1's gas of 0x01–0x11 being the
/// L2's (equal on Prague; modexp is given the most a Prague or an Osaka L1 charges, EIP-7883):
/// it calls one with exactly that gas, after checking that this much is left, so that an L1
/// precompile fails only for its input, never for the gas its caller left it. An L1 that
/// refuses an input the L2 accepts would make the step revert `PrecompileUnavailable`:
/// undecidable there, never answered wrongly (the bounds leave no such modexp on Osaka).
contract L2Precompiles {
    /// The rollup's input limits, 128 pairs each (SPEC.md §5.15 "Bounds"; Rust:
    /// `fraud_vm::precompiles`), in place of Granite's and Isthmus's.
    uint256 internal constant BN254_PAIRING_MAX_INPUT = 128 * 192;
    uint256 internal constant G1_MSM_MAX_INPUT = 128 * 160;
    uint256 internal constant G2_MSM_MAX_INPUT = 128 * 288;
    uint256 internal constant BLS_PAIRING_MAX_INPUT = 128 * 384;
    /// modexp's bounds: each length at most 1024 bytes (EIP-7823) and the price on an Osaka L1
    /// (EIP-7883) at most 4M gas.
    uint256 internal constant MODEXP_MAX_LEN = 1024;
    uint256 internal constant MODEXP_MAX_L1_GAS = 4_000_000;
    /// blake2f's bound: at most 4M rounds (its gas).
    uint256 internal constant BLAKE2F_MAX_ROUNDS = 4_000_000;
    /// P256VERIFY's gas under the OP Stack (RIP-7212).
    uint256 internal constant P256_GAS = 3450;
    /// Gas the L1 needs besides a precompile's own to call it and copy its output.
    uint256 internal constant CALL_OVERHEAD = 10_000;

    /// EIP-2537 MSM discounts (per mille) for k = 1..128, two bytes each.
    bytes internal constant G1_MSM_DISCOUNT =
        hex"03e803b50350031d02fc02ee02e202d802cf02c802c102ba02b402af02aa02a502a1029d029902950292028e028b0288028502820280027d027b0278027602730271026f026d026b026902670265026302610260025e025c025b0259025702560254025302510250024f024d024c024a02490248024602450244024302410240023f023e023d023c023a0239023802370236023502340233023202310230022f022e022d022c022b022a02290228022702260225022402230223022202210220021f021e021d021c021c021b021a0219021802180217021602150214021402130212021102100210020f020e020d020d020c020b020a020a0209020802080207";
    bytes internal constant G2_MSM_DISCOUNT =
        hex"03e803e8039b037403570340032c031c030e030202f702ed02e402dc02d402cd02c702c002bb02b502b002ab02a702a2029e029a02970293028f028c0289028602830280027d027a0278027502730270026e026c026a0267026502630261025f025e025c025a025802560255025302510250024e024d024b024a0248024702460244024302420240023f023e023d023b023a023902380237023602350233023202310230022f022e022d022c022b022a022902280228022702260225022402230222022102210220021f021e021d021d021c021b021a021902190218021702170216021502140214021302120212021102100210020f020e020e020d020c020c";

    /// @notice The call of the precompile at `addr` with `input` and `limit` gas: `ok` false
    /// when it fails (it then consumes `limit`), else the gas it uses (at most `limit`) and its
    /// output. Reverts for an address that is not a precompile of the L2, and with
    /// `PrecompileGasShort` when this call has too little gas to run the L1's precompile.
    function run(uint256 addr, bytes calldata input, uint256 limit)
        external
        view
        returns (bool ok, uint256 used, bytes memory output)
    {
        uint256 len = input.length;
        uint256 words = (len + 31) / 32;
        bool valid = true;
        if (addr == 1) {
            used = 3000;
        } else if (addr == 2) {
            used = 60 + 12 * words;
        } else if (addr == 3) {
            used = 600 + 120 * words;
        } else if (addr == 4) {
            used = 15 + 3 * words;
            if (used > limit) return (false, 0, output);
            return (true, used, input);
        } else if (addr == 5) {
            if (limit < 200) return (false, 0, output);
            Modexp memory m = _modexp(input);
            if (!m.valid || m.gas > limit) return (false, 0, output);
            if (m.empty) return (true, m.gas, output);
            return _callModexp(input, m);
        } else if (addr == 6) {
            used = 150;
        } else if (addr == 7) {
            used = 6000;
        } else if (addr == 8) {
            used = 45_000 + 34_000 * (len / 192);
            valid = len <= BN254_PAIRING_MAX_INPUT && len % 192 == 0;
        } else if (addr == 9) {
            valid = len == 213 && uint8(input[212]) <= 1;
            if (valid) used = uint32(bytes4(input[0:4]));
            valid = valid && used <= BLAKE2F_MAX_ROUNDS;
        } else if (addr == 0x0a) {
            used = 50_000;
            valid = len == 192;
        } else if (addr == 0x0b) {
            used = 375;
            valid = len == 256;
        } else if (addr == 0x0c) {
            (valid, used) = _msm(len, 160, G1_MSM_MAX_INPUT, 12_000, G1_MSM_DISCOUNT);
        } else if (addr == 0x0d) {
            used = 600;
            valid = len == 512;
        } else if (addr == 0x0e) {
            (valid, used) = _msm(len, 288, G2_MSM_MAX_INPUT, 22_500, G2_MSM_DISCOUNT);
        } else if (addr == 0x0f) {
            valid = len != 0 && len % 384 == 0 && len <= BLS_PAIRING_MAX_INPUT;
            used = 37_700 + 32_600 * (len / 384);
        } else if (addr == 0x10) {
            used = 5500;
            valid = len == 64;
        } else if (addr == 0x11) {
            used = 23_800;
            valid = len == 128;
        } else if (addr == 0x100) {
            // Fails only for gas; the output is the word 1 for a valid signature, else empty.
            if (P256_GAS > limit) return (false, 0, output);
            if (P256.verify(input)) output = abi.encode(uint256(1));
            return (true, P256_GAS, output);
        } else {
            revert("not a precompile");
        }
        if (!valid || used > limit) return (false, 0, output);
        return _callL1(addr, input, used);
    }

    /// @notice Calls the L1's precompile at `addr` with `used` gas, its cost: a failing
    /// precompile consumes what it is given, so it is given no more.
    function _callL1(uint256 addr, bytes calldata input, uint256 used)
        private
        view
        returns (bool ok, uint256, bytes memory output)
    {
        // The callee gets at most 63/64 of what is left after the call's own cost; the input is
        // copied (and memory expanded) before the gas is measured.
        uint256 needed = used + used / 63 + CALL_OVERHEAD;
        bytes4 short = PrecompileGasShort.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, input.offset, input.length)
            if lt(gas(), needed) {
                mstore(0, short)
                mstore(4, needed)
                revert(0, 36)
            }
            ok := staticcall(used, addr, p, input.length, 0, 0)
            output := p
            let n := 0
            if ok { n := returndatasize() }
            mstore(output, n)
            returndatacopy(add(output, 32), 0, n)
            mstore(0x40, add(add(output, 32), and(add(n, 31), not(31))))
        }
        if (!ok) return (false, 0, output);
        return (true, used, output);
    }

    /// A modexp input's lengths and gas.
    struct Modexp {
        /// Within the rollup's bounds: every length at most 1024 bytes, the Osaka price at
        /// most `MODEXP_MAX_L1_GAS` (else the call fails).
        bool valid;
        /// Base and modulus both of length 0: the output is empty.
        bool empty;
        /// The L2's gas (EIP-2565, as Prague).
        uint256 gas;
        /// The most any L1 from Prague to Osaka (EIP-7883) charges for it.
        uint256 l1Gas;
    }

    /// @notice modexp (EIP-198) as revm computes its gas, within the rollup's bounds: the
    /// lengths (each at most 1024 bytes), the iteration count from the exponent's length and
    /// first 32 bytes, the L2's EIP-2565 gas, and Osaka's EIP-7883 gas (the L1's, if it is
    /// Osaka; never below Prague's), at most `MODEXP_MAX_L1_GAS`.
    function _modexp(bytes calldata input) private pure returns (Modexp memory m) {
        uint256 bLen = _word(input, 0);
        uint256 eLen = _word(input, 32);
        uint256 mLen = _word(input, 64);
        if (bLen > MODEXP_MAX_LEN || eLen > MODEXP_MAX_LEN || mLen > MODEXP_MAX_LEN) return m;
        m.empty = bLen == 0 && mLen == 0;
        // The first 32 bytes of the exponent (as a number of min(eLen, 32) bytes).
        uint256 headLen = eLen < 32 ? eLen : 32;
        uint256 head = headLen == 0 ? 0 : _word(input, 96 + bLen) >> (256 - 8 * headLen);
        uint256 headBits;
        for (uint256 v = head; v > 1; v >>= 1) headBits += 1;
        uint256 maxLen = bLen > mLen ? bLen : mLen;
        uint256 w = (maxLen + 7) / 8;
        uint256 iterations = eLen <= 32 ? headBits : 8 * (eLen - 32) + headBits;
        m.gas = (w * w * (iterations > 1 ? iterations : 1)) / 3;
        if (m.gas < 200) m.gas = 200;
        // EIP-7883: a complexity of 16 up to 32 bytes, else 2·w²; 16 per exponent byte past 32.
        uint256 osakaIterations = eLen <= 32 ? headBits : 16 * (eLen - 32) + headBits;
        m.l1Gas = (maxLen <= 32 ? 16 : 2 * w * w) * (osakaIterations > 1 ? osakaIterations : 1);
        if (m.l1Gas < 500) m.l1Gas = 500;
        if (m.l1Gas < m.gas) m.l1Gas = m.gas;
        m.valid = m.l1Gas <= MODEXP_MAX_L1_GAS;
    }

    /// @notice modexp on the L1, given the most any L1 from Prague to Osaka charges (at most
    /// `MODEXP_MAX_L1_GAS`). With that gas no such L1 fails an input of lengths at most 1024
    /// bytes (the operands are only zero-padded), the only ones the rollup allows; an L1 that
    /// still fails it cannot decide the step: it reverts rather than answer a failure.
    function _callModexp(bytes calldata input, Modexp memory m)
        private
        view
        returns (bool ok, uint256 used, bytes memory output)
    {
        (ok, used, output) = _callL1(5, input, m.l1Gas);
        if (!ok) revert PrecompileUnavailable(5);
        return (true, m.gas, output);
    }

    /// @notice An MSM of `len / pairLen` pairs: valid iff there is at least one, the length is
    /// a multiple of the pair and within the rollup's limit (128 pairs, the table's length);
    /// gas `k · mul · discount(k) / 1000`.
    function _msm(uint256 len, uint256 pairLen, uint256 maxInput, uint256 mul, bytes memory table)
        private
        pure
        returns (bool valid, uint256 gas)
    {
        uint256 k = len / pairLen;
        if (k == 0 || len % pairLen != 0 || len > maxInput) return (false, 0);
        uint256 i = k > 128 ? 127 : k - 1;
        uint256 discount = (uint256(uint8(table[2 * i])) << 8) | uint8(table[2 * i + 1]);
        return (true, (k * mul * discount) / 1000);
    }

    /// @notice The big-endian word at `offset` of `input`, zero past its end.
    function _word(bytes calldata input, uint256 offset) private pure returns (uint256 v) {
        if (offset >= input.length) return 0;
        assembly ("memory-safe") {
            v := calldataload(add(input.offset, offset))
        }
        uint256 avail = input.length - offset;
        if (avail < 32) v &= ~(type(uint256).max >> (8 * avail));
    }
}
