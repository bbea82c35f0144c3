// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title The Prague opcode table (fraud-vm/SPEC.md §5.2)
/// @notice Family, static gas and stack effect of every opcode, as the Rust
/// `fraud_vm::step::info` gives them (the differential test compares all 256 entries).
library OpcodeTable {
    uint8 internal constant UNDEFINED = 0;
    uint8 internal constant INVALID = 1;
    uint8 internal constant ARITHMETIC = 2;
    uint8 internal constant BITWISE = 3;
    uint8 internal constant KECCAK = 4;
    uint8 internal constant ENVIRONMENT = 5;
    uint8 internal constant STACK = 6;
    uint8 internal constant MEMORY = 7;
    uint8 internal constant CONTROL = 8;
    uint8 internal constant STORAGE = 9;
    uint8 internal constant ACCOUNT = 10;
    uint8 internal constant LOG = 11;
    uint8 internal constant SYSTEM = 12;
    uint8 internal constant CALL = 13;

    // 16 entries of 16 bits per word, opcode `base + i` at bits [16 i, 16 i + 16):
    // family (4 bits) ‖ index into GAS_COSTS (4) ‖ pops (4) ‖ pushes (4). PUSH1..32, DUP and SWAP
    // (0x60..0x9f) are computed instead. Generated from the Rust table.
    uint256 private constant T00 = 0x0000000000000000242126212531253124212421242124212321242123218000;
    uint256 private constant T10 = 0x0000000033213321332133213311332133213321331133213321332133213321;
    uint256 private constant T20 = 0x0000000000000000000000000000000000000000000000000000000000004721;
    uint256 private constant T30 = 0xa81153305201a840a811520153305201533052015311520152015201a8115201;
    uint256 private constant T40 = 0x00000000000000000000520153115201a401520152015201520152015201a911;
    uint256 private constant T50 = 0x6201733098209811810082017201820186208510902098117320732073116210;
    uint256 private constant TA0 = 0x00000000000000000000000000000000000000000000ba60ba50ba40ba30ba20;
    uint256 private constant TF0 = 0xcb101000d02000000000d8610000000000000000d041d861d020d871d871d031;
    /// Static gas values, 16 bits each: 0, 1, 2, 3, 5, 8, 10, 30, 100, 20, 375, 5000.
    uint256 private constant GAS_COSTS = 0x00000000000000001388017700140064001e000a000800050003000200010000;

    /// @notice The table entry of `op`.
    function info(uint256 op) internal pure returns (uint256 family, uint256 gas, uint256 pops, uint256 pushes) {
        if (op >= 0x60 && op < 0xa0) {
            if (op < 0x80) return (STACK, 3, 0, 1);
            if (op < 0x90) return (STACK, 3, op - 0x7f, op - 0x7e);
            return (STACK, 3, op - 0x8e, op - 0x8e);
        }
        uint256 row = op >> 4;
        uint256 t;
        if (row == 0x0) t = T00;
        else if (row == 0x1) t = T10;
        else if (row == 0x2) t = T20;
        else if (row == 0x3) t = T30;
        else if (row == 0x4) t = T40;
        else if (row == 0x5) t = T50;
        else if (row == 0xa) t = TA0;
        else if (row == 0xf) t = TF0;
        uint256 e = (t >> (16 * (op & 15))) & 0xffff;
        family = e >> 12;
        gas = (GAS_COSTS >> (16 * ((e >> 8) & 15))) & 0xffff;
        pops = (e >> 4) & 15;
        pushes = e & 15;
    }
}
