// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title A chunk of the LOGS range job (fraud-vm/SPEC.md §3.4.1 and §5.19, v0.15; Rust:
/// `range_fact::logs`)
/// @notice Folds logs, given by their canonical RLP encodings `rlp([address, [topic…], data])`,
/// into the job's state `logs_root ‖ u256 count ‖ bloom` (320 bytes in memory): the log chain
/// `keccak256(0x0a ‖ root ‖ keccak256(rlp(log)))` (§3.7.5), the count and the 2048-bit bloom of
/// the address and topics. Anything else is refused (`BadLog`): a header that is not canonical
/// (a long form under 56 bytes, a length with a leading zero or in more than 4 bytes, a one-byte
/// string under 0x80 with a header), an address that is not 20 bytes, more than four topics or a
/// topic that is not 32 bytes, a log whose items do not end where its list does.
library LogsChunk {
    /// Bytes of the state: the log chain, the count, the bloom.
    uint256 internal constant STATE_LEN = 320;

    /// The bytes at this offset of the chunk are not a log, or a log passes the chunk's end.
    error BadLog(uint256 at);

    /// @notice Folds the whole logs that are exactly the `n` bytes at `data` into the state at
    /// `st`.
    function addAll(uint256 st, uint256 data, uint256 n) internal pure {
        uint256 limit = data + n;
        uint256 at = data;
        while (at < limit) {
            (uint256 end, uint256 addr, uint256 topics, uint256 k) = _head(at, limit, data);
            if (end > limit) revert BadLog(at - data);
            bytes32 h;
            assembly ("memory-safe") {
                h := keccak256(at, sub(end, at))
            }
            _add(st, h, addr, topics, k);
            at = end;
        }
    }

    /// @notice Folds into the state at `st` the log of `n` bytes whose first `headLen` bytes are
    /// at `data` and whose encoding hashes to `logHash`.
    function addLong(uint256 st, uint256 data, uint256 headLen, uint256 n, bytes32 logHash) internal pure {
        (uint256 end, uint256 addr, uint256 topics, uint256 k) = _head(data, data + headLen, data);
        if (end - data != n) revert BadLog(0);
        _add(st, logHash, addr, topics, k);
    }

    /// @notice The log at `at` (its bytes before `limit` readable): the offset after its encoding
    /// (which may pass `limit`), its address, where its topics' words are and how many.
    function _head(uint256 at, uint256 limit, uint256 base)
        private
        pure
        returns (uint256 end, uint256 addr, uint256 topics, uint256 k)
    {
        bool ok = true;
        assembly ("memory-safe") {
            // The payload offset and length of the canonical RLP header at `a`; `ok` false if
            // it is none.
            function hdr(a, lim, list) -> p, len, good {
                if iszero(lt(a, lim)) { leave }
                let h := byte(0, mload(a))
                let b := 0x80
                if list { b := 0xc0 }
                if lt(h, b) { leave }
                if and(iszero(list), iszero(lt(h, 0xc0))) { leave }
                let short := sub(h, b)
                if lt(short, 56) {
                    p := add(a, 1)
                    len := short
                    good := 1
                    leave
                }
                let nb := sub(short, 55)
                if gt(nb, 4) { leave }
                if iszero(lt(add(a, nb), lim)) { leave }
                let w := mload(add(a, 1))
                if iszero(byte(0, w)) { leave }
                len := shr(sub(256, mul(8, nb)), w)
                if lt(len, 56) { leave }
                p := add(add(a, 1), nb)
                good := 1
            }
            for {} 1 {} {
                let p, plen, g := hdr(at, limit, 1)
                if iszero(g) {
                    ok := 0
                    break
                }
                end := add(p, plen)
                if or(iszero(lt(p, limit)), gt(add(p, 21), limit)) {
                    ok := 0
                    break
                }
                if iszero(eq(byte(0, mload(p)), 0x94)) {
                    ok := 0
                    break
                }
                addr := shr(96, mload(add(p, 1)))
                let tp, tlen, g2 := hdr(add(p, 21), limit, 1)
                if or(iszero(g2), or(mod(tlen, 33), gt(tlen, 132))) {
                    ok := 0
                    break
                }
                k := div(tlen, 33)
                topics := tp
                for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                    let q := add(tp, mul(33, i))
                    if or(gt(add(q, 33), limit), iszero(eq(byte(0, mload(q)), 0xa0))) { ok := 0 }
                }
                if iszero(ok) { break }
                let d := add(tp, tlen)
                if iszero(lt(d, limit)) {
                    ok := 0
                    break
                }
                let dataEnd := add(d, 1)
                if iszero(lt(byte(0, mload(d)), 0x80)) {
                    let dp, dlen, g3 := hdr(d, limit, 0)
                    if iszero(g3) {
                        ok := 0
                        break
                    }
                    if eq(dlen, 1) {
                        if or(iszero(lt(dp, limit)), lt(byte(0, mload(dp)), 0x80)) {
                            ok := 0
                            break
                        }
                    }
                    dataEnd := add(dp, dlen)
                }
                if iszero(eq(dataEnd, end)) { ok := 0 }
                break
            }
        }
        if (!ok) revert BadLog(at - base);
    }

    /// @notice Folds the log with hash `h`, address `addr` and `k` topics (each after a 0xa0
    /// byte, from `topics`) into the state at `st`.
    function _add(uint256 st, bytes32 h, uint256 addr, uint256 topics, uint256 k) private pure {
        assembly ("memory-safe") {
            function accrue(s, hash) {
                for { let i := 0 } lt(i, 3) { i := add(i, 1) } {
                    let bit := and(shr(sub(240, mul(16, i)), hash), 2047)
                    let w := add(add(s, 64), mul(sub(7, shr(8, bit)), 32))
                    mstore(w, or(mload(w), shl(and(bit, 255), 1)))
                }
            }
            let m := mload(0x40)
            mstore8(m, 0x0a)
            mstore(add(m, 1), mload(st))
            mstore(add(m, 33), h)
            mstore(st, keccak256(m, 65))
            mstore(add(st, 32), add(mload(add(st, 32)), 1))
            mstore(m, shl(96, addr))
            accrue(st, keccak256(m, 20))
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                accrue(st, keccak256(add(add(topics, mul(33, i)), 1), 32))
            }
        }
    }
}
