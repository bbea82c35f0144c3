// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Why a one-step proof is rejected (fraud-vm/SPEC.md §6.1, §6.3). The names follow the Rust
// reference verifier's `VerifyError` and `DecodeError` (fraud-vm/src/proof.rs, codec.rs), so a
// revert here and an error there can be read side by side.

/// The proof bytes end inside a field.
error Truncated();
/// Bytes remain after the last field of the proof.
error TrailingBytes();
/// The proof does not start with version byte 4.
error UnknownVersion(uint8 version);
/// A record does not start with its domain tag (SPEC.md §2).
error BadTag(uint8 expected, uint8 found);
/// A status byte outside 0..=8.
error BadStatus(uint8 status);
/// A boolean or presence flag other than 0 or 1.
error BadFlag(uint8 flag);
/// The block constants' extra-data length is above 32, or the bytes after it are not zero.
error BadPadding();
/// `keccak256(pre)` differs from the claimed pre-commitment.
error PreStateMismatch();
/// `keccak256(code)` differs from `pre.code_hash`.
error CodeHashMismatch();
/// The popped items and the rest root do not rebuild `pre.stack_root`.
error BadStackProof();
/// A memory range multiproof (from word `index`) does not match the current memory root or
/// the range the step accesses.
error BadMemoryProof(uint256 index);
/// A calldata range multiproof does not match the calldata root or the range read.
error BadCalldataProof(uint256 index);
/// A return data range multiproof does not match the return data root or the range read.
error BadReturndataProof(uint256 index);
/// A long range's fact (SPEC.md §3.4.1) is not complete in the range oracle: the job `id` was
/// never run to its end, or its parameters are not those of the step.
error RangeFactMissing(bytes32 id);
/// A range multiproof with no words or a range beyond the word tree (SPEC.md §6.3).
error BadRange(uint256 start, uint256 count);
/// The transaction environment does not match `pre.tx_env_hash`.
error TxEnvMismatch();
/// The block environment does not match `pre.block_env_hash`.
error BlockEnvMismatch();
/// The block constants do not match the block environment's `constants_hash`.
error ConstantsMismatch();
/// The world record does not match `pre.world_root`.
error WorldMismatch();
/// A sparse-tree path does not match the tree's current root.
error BadTreeProof();
/// An account record does not hash to its overlay leaf.
error BadAccountRecord();
/// A storage value does not hash to its overlay leaf.
error BadSlotValue();
/// A base-state account or storage proof does not verify.
error BadBaseProof();
/// A code witness does not hash to the account's code hash.
error BadCode();
/// A sparse-tree path marks a sibling as present but gives zero.
error ZeroSibling();
/// The frame link does not match `pre.frames_root`, or its caller cannot take the exit.
error BadFrameLink();
/// The checkpoint does not match the world's checkpoint chain (or, at a transaction end, is not
/// the transaction's own).
error BadCheckpoint();
/// The self-destruct list does not fold to the world's self-destruct chain.
error BadDestructs();
/// The transaction's encoding is not the one at the Idle state's index in the block's
/// transaction list.
error BadTransaction();
/// The transaction cannot start (`what` says why): the block holding it is invalid.
error InvalidTransaction(string what);
/// The step needs a witness the proof lacks (`what` names the list, see `Witness`).
error MissingWitness(uint8 what);
/// The proof carries a witness the step does not touch (`what` names the list, see `Witness`).
error UnusedWitness(uint8 what);
/// An opcode step routed to a contract of the verifier that does not execute its family (only
/// reachable by calling that contract directly). It never answers such a step with a post-state.
error UnsupportedOpcode(uint8 opcode);
/// A step this verifier does not execute ("embedded trie node", a step routed to a contract
/// that does not own it), or a state outside this version ("gas above 2^32", SPEC.md §4.3, "more
/// gas left than the gas limit"). It never answers such a step with a post-state.
error UnsupportedStep(string kind);

/// WitnessList list identifiers carried by `MissingWitness` and `UnusedWitness`.
library WitnessList {
    uint8 internal constant STACK_ITEM = 0;
    uint8 internal constant STACK_REST = 1;
    uint8 internal constant MEMORY_RANGE = 2;
    uint8 internal constant CALLDATA_RANGE = 3;
    uint8 internal constant RETURNDATA_RANGE = 4;
    uint8 internal constant TX_ENV = 5;
    uint8 internal constant BLOCK_ENV = 6;
    uint8 internal constant WORLD = 7;
    uint8 internal constant TREE_PATH = 8;
    // 9 was v0.3's block hash list.
    uint8 internal constant ACCOUNT_RECORD = 10;
    uint8 internal constant STORAGE_VALUE = 11;
    uint8 internal constant BASE_ACCOUNT = 12;
    uint8 internal constant BASE_SLOT = 13;
    uint8 internal constant CODE = 14;
    uint8 internal constant FRAME = 15;
    uint8 internal constant CHECKPOINT = 16;
    uint8 internal constant DESTRUCTS = 17;
    uint8 internal constant TRANSACTION = 18;
    uint8 internal constant CONSTANTS = 19;
    uint8 internal constant SEALING = 20;
    uint8 internal constant FOLD_KEY = 21;
    uint8 internal constant TRIE_WRITE = 22;
    uint8 internal constant RECEIPT = 23;
}
