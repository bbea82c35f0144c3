// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

// The reader's errors carry the names the OP Stack portal ABI (and so viem's `portal2Abi`) knows,
// so a client decodes a malformed proof's revert by name.

/// @notice An item was empty where one was required.
error EmptyItem();
/// @notice A string was found where a list was expected.
error UnexpectedString();
/// @notice A list was found where a string was expected.
error UnexpectedList();
/// @notice A header is malformed or not canonical (a long form for a short payload, a leading
///         zero in a length, a single byte below 0x80 wrapped in a string header).
error InvalidHeader();
/// @notice A header announces more payload than the input holds.
error ContentLengthMismatch();
/// @notice An item is followed by bytes that belong to no item.
error InvalidDataRemainder();

/// @title RLPReader
/// @notice Decodes Recursive Length Prefix data (Ethereum Yellow Paper, appendix B) in place:
///         items are views (pointer, length) into memory that the caller keeps alive, so a
///         Merkle-Patricia proof is walked without copying its nodes.
/// @dev Every header is bounds-checked against the bytes that hold it, and non-canonical encodings
///      are refused, so one byte string decodes in exactly one way.
library RLPReader {
    /// @notice A whole encoded item (header and payload) in memory.
    struct Item {
        uint256 length;
        uint256 ptr;
    }

    /// @notice Views `data` as one item, which must span it exactly.
    function toItem(bytes memory data) internal pure returns (Item memory item) {
        if (data.length == 0) revert EmptyItem();
        uint256 ptr;
        assembly {
            ptr := add(data, 32)
        }
        item = Item(data.length, ptr);
        (uint256 offset, uint256 len,) = header(item);
        if (offset + len != data.length) revert InvalidDataRemainder();
    }

    /// @notice Whether `item` is a list.
    function isList(Item memory item) internal pure returns (bool list) {
        (,, list) = header(item);
    }

    /// @notice The items of a list.
    function readList(Item memory item) internal pure returns (Item[] memory items) {
        (uint256 offset, uint256 len, bool list) = header(item);
        if (!list) revert UnexpectedString();
        uint256 start = item.ptr + offset;
        uint256 end = start + len;
        // Two passes: count, then fill an array of exactly that size.
        uint256 count;
        for (uint256 ptr = start; ptr < end; count++) {
            ptr += _elementLength(ptr, end);
        }
        items = new Item[](count);
        uint256 at = start;
        for (uint256 i = 0; i < count; i++) {
            uint256 length = _elementLength(at, end);
            items[i] = Item(length, at);
            at += length;
        }
    }

    /// @notice A copy of the payload of a string item.
    function readBytes(Item memory item) internal pure returns (bytes memory out) {
        (uint256 offset, uint256 len, bool list) = header(item);
        if (list) revert UnexpectedList();
        out = _copy(item.ptr + offset, len);
    }

    /// @notice A copy of the whole encoding of `item`, header included.
    function readRawBytes(Item memory item) internal pure returns (bytes memory) {
        return _copy(item.ptr, item.length);
    }

    /// @notice keccak256 of the whole encoding of `item`.
    function hash(Item memory item) internal pure returns (bytes32 digest) {
        uint256 ptr = item.ptr;
        uint256 len = item.length;
        assembly {
            digest := keccak256(ptr, len)
        }
    }

    /// @notice Decodes the header of `item`: where its payload starts (relative to `item.ptr`), how
    ///         long it is, and whether it is a list. Reverts unless the payload fits in `item.length`.
    function header(Item memory item) internal pure returns (uint256 offset, uint256 len, bool list) {
        if (item.length == 0) revert EmptyItem();
        uint256 ptr = item.ptr;
        uint256 prefix;
        assembly {
            prefix := byte(0, mload(ptr))
        }
        if (prefix < 0x80) {
            // A single byte is its own encoding.
            return (0, 1, false);
        }
        if (prefix < 0xb8) {
            offset = 1;
            len = prefix - 0x80;
            if (len == 1) {
                if (item.length < 2) revert ContentLengthMismatch();
                uint256 only;
                assembly {
                    only := byte(0, mload(add(ptr, 1)))
                }
                if (only < 0x80) revert InvalidHeader();
            }
        } else if (prefix < 0xc0) {
            (offset, len) = _longLength(item, prefix - 0xb7);
        } else if (prefix < 0xf8) {
            offset = 1;
            len = prefix - 0xc0;
            list = true;
        } else {
            (offset, len) = _longLength(item, prefix - 0xf7);
            list = true;
        }
        // `len` is below 2**64, so the sum cannot overflow.
        if (offset + len > item.length) revert ContentLengthMismatch();
    }

    /// @dev The whole length of the element at `ptr`, which may use only the bytes before `end`.
    function _elementLength(uint256 ptr, uint256 end) private pure returns (uint256) {
        (uint256 offset, uint256 len,) = header(Item(end - ptr, ptr));
        return offset + len;
    }

    /// @dev The big-endian length of `lengthBytes` (1 to 8) bytes after the prefix of a long item.
    function _longLength(Item memory item, uint256 lengthBytes) private pure returns (uint256 offset, uint256 len) {
        if (item.length <= lengthBytes) revert ContentLengthMismatch();
        uint256 ptr = item.ptr;
        uint256 first;
        assembly {
            first := byte(0, mload(add(ptr, 1)))
            len := shr(sub(256, mul(8, lengthBytes)), mload(add(ptr, 1)))
        }
        if (first == 0) revert InvalidHeader();
        if (len < 56) revert InvalidHeader();
        offset = 1 + lengthBytes;
    }

    /// @dev A new `bytes` holding `len` bytes from memory at `src`.
    function _copy(uint256 src, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly {
            mcopy(add(out, 32), src, len)
        }
    }
}
