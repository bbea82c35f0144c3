// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {WordTree} from "./WordTree.sol";
import {BaseTrie} from "./BaseTrie.sol";
import {CreateStep} from "./CreateStep.sol";
import {PrecompileCall} from "./PrecompileCall.sol";
import {OpFees, L1Params} from "./OpFees.sol";
import {Authorizations} from "./Authorizations.sol";
import {EntriesStep} from "./EntriesStep.sol";
import {TxFields} from "./TxRecord.sol";
import {TxDecoder} from "./TxDecoder.sol";
import "./StepErrors.sol";

/// @title The transaction start step (fraud-vm/SPEC.md §5.9; Rust: step/start.rs)
/// @notice From an Idle state before the block's last transaction (the block constants' count):
/// the transaction's EIP-2718 encoding at its index in the block's list, decoded and its sender
/// recovered by `TxDecoder`, the validity
/// checks (fees, intrinsic gas, nonce, EIP-3607, blobs, balance; the L1-info deposit first under
/// Isthmus), the gas purchase with the L1 data fee and the operator fee or a deposit's mint, the
/// warm sender, recipient and coinbase, then [v0.15] for a transaction with access-list entries
/// or authorizations a Starting state holding them (`EntriesStep` applies them in sub-steps),
/// else the transaction's checkpoint, the transaction environment, and the top frame's first
/// state (or its terminal state: a recipient without code, a precompile, a collision, a deposit
/// that fails at its start). A failed check
/// is `InvalidTransaction` (the block is invalid), except [v0.6] for a transaction of the
/// recorded section under Isthmus rules, which is skipped: the post-state is the Idle state at
/// the next index, nothing else changed.
library StartStep {
    /// Offsets in the block environment (SPEC.md §3.6).
    uint256 internal constant BLOCK_COINBASE = 1;
    uint256 internal constant BLOCK_GAS_LIMIT = 117;
    uint256 internal constant BLOCK_BASEFEE = 149;
    uint256 internal constant BLOCK_BLOB_BASEFEE = 181;
    uint256 internal constant BLOCK_CHAIN_ID = 213;
    uint256 internal constant BLOCK_RULES = 349;
    /// Offset of `tx_count` in the block constants (SPEC.md §3.6).
    uint256 internal constant TX_COUNT = 97;
    /// Domain tag of a receipt opening (SPEC.md §5.9).
    uint8 internal constant TAG_RECEIPT_OPEN = 0x18;
    /// EIP-4844 gas per blob.
    uint256 internal constant BLOB_GAS = 131_072;
    uint256 internal constant MAX_NONCE = type(uint64).max;
    /// Empty word-tree root `Z_32` (SPEC.md §9).
    bytes32 internal constant EMPTY_WORDS = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    /// What the purchase (or a deposit's mint) settled, and the first state it leads to.
    struct Start {
        uint256 blockEnv;
        /// The `TxDecoder`, which also computes the L1 data fee of the encoding.
        address decoder;
        bool op;
        uint256 price;
        uint256 intrinsic;
        uint256 floor;
        /// The sender's nonce before the transaction (a creation's address derives from it).
        uint256 nonce;
        uint256 l1Fee;
        uint256 operatorFeeScalar;
        uint256 operatorFeeConstant;
        /// A deposit that fails: it keeps only its mint and nonce.
        bool failed;
        /// The sender's record as written.
        Account sender;
        uint256 to;
        // The first state's fields the start decides.
        uint256 status;
        uint256 gas;
        bytes32 codeHash;
        bytes32 calldataRoot;
        uint256 calldataSize;
        bytes32 returndataRoot;
        uint256 returndataSize;
        // [v0.15] A Starting state's: the authorizations left, the entries' stack, whether
        // the head's run of a precompile failed.
        uint256 pc;
        bytes32 stackRoot;
        uint256 stackLen;
        uint256 isStatic;
    }

    /// @notice The post-state commitment of the step from the Idle state `cx.pre`: the
    /// transaction start, decoding with the `TxDecoder` at `decoder` and running a top-level
    /// precompile call with the `L2Precompiles` at `precompiles`.
    function execute(Ctx memory cx, address precompiles, address decoder) internal view returns (bytes32) {
        if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
        Start memory s;
        s.blockEnv = StepOps.blockEnv(cx);
        s.decoder = decoder;
        uint256 txCount = StateRecord.uintAt(StepOps.constants(cx, s.blockEnv) + TX_COUNT, 8);
        uint256 txIndex = StateRecord.uintAt(cx.pre + 9, 8);
        if (txIndex == txCount) revert UnsupportedStep("block end");
        if (txIndex > txCount) revert InvalidTransaction("an Idle state past the block's last transaction");
        s.op = StateRecord.uintAt(s.blockEnv + BLOCK_RULES, 1) == OpFees.ISTHMUS;
        // [v0.6] Only a recorded transaction under Isthmus rules is skipped when it cannot start;
        // never transaction 0, which must be the L1-info deposit.
        bool skippable = s.op && txIndex != 0 && !StepOps.isDepositSlot(txIndex, s.blockEnv);
        (bool decoded, TxFields memory t) = _transaction(cx, s.blockEnv, decoder, skippable);
        if (!decoded) return _skip(cx);
        WorldAccess.world(cx);
        if (t.deposit && !s.op) revert InvalidTransaction("deposit outside OP rules");
        // A deposit comes from L1's deposit events, never from the recorded list (SPEC.md §3.6).
        if (StepOps.isDepositSlot(txIndex, s.blockEnv)) {
            if (!t.deposit) revert InvalidTransaction("a non-deposit in the deposits section");
        } else if (t.deposit) {
            return _refuse(cx, skippable, "a deposit in the recorded section");
        }
        if (s.op && txIndex == 0 && !_isL1Info(t)) {
            revert InvalidTransaction("the first transaction is not the L1-info deposit");
        }
        // The block's gas limit bounds every transaction's, deposits included (Regolith).
        uint256 blockLimit = uint256(StateRecord.wordAt(s.blockEnv + BLOCK_GAS_LIMIT));
        uint256 blockUsed = StateRecord.uintAt(cx.pre + StateRecord.GAS, 8);
        if (t.gasLimit > (blockLimit > blockUsed ? blockLimit - blockUsed : 0)) {
            return _refuse(cx, skippable, "gas limit above the block's gas left");
        }
        if (t.deposit) {
            _mint(cx, t, s);
        } else {
            // Nothing is written before a check fails: the world is the pre-state's.
            if (!_buy(cx, t, s)) return _refuse(cx, skippable, "the transaction cannot start");
        }
        return _started(cx, t, s, precompiles);
    }

    /// @notice After the purchase (or the mint): the warm accounts, then [v0.15] a Starting
    /// state if the transaction has entries (access list, authorizations with an authority),
    /// else the checkpoint and the top frame's first state.
    function _started(Ctx memory cx, TxFields memory t, Start memory s, address precompiles)
        private
        view
        returns (bytes32)
    {
        s.to = t.create ? CreateStep.createAddress(t.sender, s.nonce) : t.to;
        WorldAccess.touchAccount(cx, t.sender);
        WorldAccess.touchAccount(cx, s.to);
        WorldAccess.touchAccount(cx, StateRecord.addressAt(s.blockEnv + BLOCK_COINBASE));
        s.gas = t.gasLimit > s.intrinsic ? t.gasLimit - s.intrinsic : 0;
        s.codeHash = WorldAccess.KECCAK_EMPTY;
        (s.calldataRoot, s.returndataRoot) = (EMPTY_WORDS, EMPTY_WORDS);
        if (_entries(t, s)) {
            if (s.failed) revert UnsupportedStep("a failing deposit with entries");
            s.status = EntriesStep.STARTING;
            if (t.create) {
                s.codeHash = t.dataHash;
            } else {
                s.codeHash = 0;
                _callFrame(t, s, precompiles);
                if (PrecompileCall.isPrecompile(t.to) && s.status == 4) s.isStatic = 1;
                s.status = EntriesStep.STARTING;
            }
            return _commit(cx, t, s);
        }
        WorldAccess.pushCheckpoint(cx);
        if (s.failed) {
            // A failing deposit runs nothing: its terminal state is an exceptional halt, and the
            // transaction end restores the checkpoint (mint and nonce stay).
            s.status = 4;
            s.gas = 0;
        } else if (t.create) {
            s.codeHash = t.dataHash;
            if (!EntriesStep.createFrame(cx, t.sender, s.sender, true, s.to, t.value)) (s.status, s.gas) = (4, 0);
        } else {
            s.codeHash = EntriesStep.enterCall(cx, t.sender, t.to, t.value);
            _callFrame(t, s, precompiles);
        }
        return _commit(cx, t, s);
    }

    /// @notice [v0.15] The entries of `t` on a Starting state's stack (SPEC.md §5.9), as
    /// `TxDecoder` stacked them (`TxRecord.stackEntries`): sets `s.stackRoot`, `s.stackLen` and
    /// `s.pc` (the authorizations); whether there is any.
    function _entries(TxFields memory t, Start memory s) private pure returns (bool) {
        (s.stackRoot, s.stackLen, s.pc) = (t.entriesRoot, t.entryWords, t.authEntries);
        return t.entryWords != 0;
    }

    /// @notice The transaction at the Idle state's index: its EIP-2718 encoding with its word
    /// proof in the block's transaction list (else `BadTransaction`), decoded under the block's
    /// rules and chain id. An encoding the decoder refuses (`InvalidTransaction`, nothing else:
    /// a decoder starved of gas is no answer) gives `decoded = false` when `skippable`, else its
    /// error (`TxDecoder.tryDecode`).
    function _transaction(Ctx memory cx, uint256 blockEnv, address decoder, bool skippable)
        private
        view
        returns (bool decoded, TxFields memory t)
    {
        if (!cx.hasTransaction) revert MissingWitness(WitnessList.TRANSACTION);
        cx.transactionUsed = true;
        uint256 at = cx.txEncoding;
        (bool ok, bytes32 word) = StepOps.transactionWord(cx.txPosition, StateRecord.uintAt(cx.pre + 9, 8), blockEnv);
        // [v0.11] In the L1 form (SPEC.md §3.4.1) the decoder checks the word against the
        // oracle's hash of the encoding and reads the data's facts; only an encoding that
        // decodes takes this form.
        address oracle = cx.txLong ? StepOps.rangeOracleOf(cx) : address(0);
        if (!ok || (oracle == address(0) && word != StepOps.hashCalldata(at, cx.txEncodingLen))) revert BadTransaction();
        (decoded, t) = TxDecoder(decoder).tryDecode(
            msg.data[at:at + cx.txEncodingLen],
            StateRecord.uintAt(blockEnv + BLOCK_RULES, 1),
            uint256(StateRecord.wordAt(blockEnv + BLOCK_CHAIN_ID)),
            skippable,
            word,
            oracle
        );
        if (!decoded) return (false, t);
        // The decoder's offsets are within the encoding.
        t.data += at;
        t.encoded = at;
    }

    /// @notice A transaction that fails a check of its start: skipped if `skippable` (the
    /// commitment of the next Idle state), else `InvalidTransaction(what)`.
    function _refuse(Ctx memory cx, bool skippable, string memory what) private pure returns (bytes32) {
        if (!skippable) revert InvalidTransaction(what);
        return _skip(cx);
    }

    /// @notice [v0.6] The Idle state `cx.pre` with `tx_index` and `returndata_size` one more,
    /// nothing else changed: the skip of a recorded transaction (SPEC.md §5.9).
    function _skip(Ctx memory cx) private pure returns (bytes32 h) {
        uint256 pre = cx.pre;
        uint256 next = StateRecord.uintAt(pre + 9, 8) + 1;
        assembly ("memory-safe") {
            function put(at, x, len) {
                let keep := shr(shl(3, len), not(0))
                mstore(at, or(and(mload(at), keep), shl(sub(256, shl(3, len)), x)))
            }
            let p := mload(0x40)
            calldatacopy(p, pre, 443)
            put(add(p, 9), next, 8)
            put(add(p, 339), next, 8)
            h := keccak256(p, 443)
        }
    }

    /// @notice Whether `t` is the L1-info deposit: a deposit from the depositor account to the
    /// L1Block predeploy.
    function _isL1Info(TxFields memory t) private pure returns (bool) {
        return t.deposit && t.sender == OpFees.DEPOSITOR && !t.create && t.to == OpFees.L1_BLOCK;
    }

    /// @notice A non-deposit transaction (SPEC.md §5.9 steps 1-4): fee checks, intrinsic gas,
    /// nonce, EIP-3607, blobs, the balance check and the purchase (with the L1 data fee and the
    /// operator fee under Isthmus rules). Returns whether every check passed (a check fails
    /// before anything is written; the Rust reference names which).
    function _buy(Ctx memory cx, TxFields memory t, Start memory s) private view returns (bool) {
        uint256 basefee = uint256(StateRecord.wordAt(s.blockEnv + BLOCK_BASEFEE));
        if (t.maxFee < basefee || t.maxPriorityFee > t.maxFee) return false; // fee below the base fee
        unchecked {
            // 256-bit wrapping, as the reference's.
            uint256 tip = basefee + t.maxPriorityFee;
            s.price = t.maxFee < tip ? t.maxFee : tip;
        }
        (s.intrinsic, s.floor) = (t.intrinsic, t.floor);
        if (t.create && t.dataLen > CreateStep.MAX_INITCODE) return false; // initcode beyond EIP-3860
        // Gas limit below the intrinsic gas; authorizations on a creation or a blob transaction.
        if (t.gasLimit < (s.intrinsic > s.floor ? s.intrinsic : s.floor)) return false;
        if (t.authCount != 0 && (t.create || t.blobHashes.length != 0)) return false;
        Account memory sender = WorldAccess.account(cx, t.sender);
        if (sender.nonce != t.nonce || sender.nonce == MAX_NONCE) return false; // nonce
        // EIP-3607: a sender with code must be an EIP-7702 delegated account.
        if (sender.codeHash != WorldAccess.KECCAK_EMPTY) {
            (uint256 code, uint256 len) = WorldAccess.codeOf(cx, sender.codeHash);
            if (!Authorizations.isDelegation(code, len)) return false; // sender has code
        }
        uint256 blobGas = BLOB_GAS * t.blobHashes.length;
        uint256 blobBasefee = uint256(StateRecord.wordAt(s.blockEnv + BLOCK_BLOB_BASEFEE));
        if (t.blobHashes.length != 0) {
            bool bad = t.create || t.maxFeePerBlobGas < blobBasefee;
            for (uint256 i = 0; i < t.blobHashes.length; ++i) {
                if (uint8(t.blobHashes[i][0]) != 1) bad = true;
            }
            if (bad) return false; // blob transaction
        }
        uint256 additional;
        if (s.op) {
            L1Params memory params = OpFees.readParams(cx);
            // [v0.11] In the L1 form the encoding is not in calldata: its FLZ fact stands for it.
            s.l1Fee = TxDecoder(s.decoder).l1Fee(
                params,
                msg.data[t.encoded:t.encoded + (t.encodingRoot != 0 ? 0 : t.encodedLen)],
                t.encodingRoot,
                t.encodedLen,
                t.oracle
            );
            s.operatorFeeScalar = params.operatorFeeScalar;
            s.operatorFeeConstant = params.operatorFeeConstant;
            additional = OpFees.saturatingAdd(
                s.l1Fee, OpFees.operatorFee(t.gasLimit, s.operatorFeeScalar, s.operatorFeeConstant)
            );
        }
        if (!_covers(sender.balance, t, blobGas, additional)) return false; // balance below the maximum cost
        unchecked {
            sender.balance -= t.gasLimit * s.price + blobGas * blobBasefee + additional;
        }
        s.nonce = sender.nonce;
        sender.nonce += 1;
        WorldAccess.setAccount(cx, t.sender, sender);
        s.sender = sender;
        return true;
    }

    /// @notice Whether `balance` covers `gas_limit · max_fee + value + blob_gas ·
    /// max_fee_per_blob_gas + additional`, any overflow not.
    function _covers(uint256 balance, TxFields memory t, uint256 blobGas, uint256 additional)
        private
        pure
        returns (bool)
    {
        unchecked {
            uint256 cost = t.gasLimit * t.maxFee;
            if (t.maxFee != 0 && cost / t.maxFee != t.gasLimit) return false;
            uint256 blobCost = blobGas * t.maxFeePerBlobGas;
            if (blobGas != 0 && blobCost / blobGas != t.maxFeePerBlobGas) return false;
            for (uint256 i = 0; i < 3; ++i) {
                uint256 add = i == 0 ? t.value : i == 1 ? blobCost : additional;
                uint256 sum = cost + add;
                if (sum < cost) return false;
                cost = sum;
            }
            return balance >= cost;
        }
    }

    /// @notice A deposit (type 0x7E, as op-revm runs it under Isthmus): no fee, nonce or balance
    /// checks; the mint is credited and the nonce bumped; it fails (keeping both) if it is a
    /// system deposit, its gas limit is below the intrinsic gas or the floor, or the sender
    /// cannot pay the value.
    function _mint(Ctx memory cx, TxFields memory t, Start memory s) private pure {
        (s.intrinsic, s.floor) = (t.intrinsic, t.floor);
        Account memory sender = WorldAccess.account(cx, t.sender);
        s.nonce = sender.nonce;
        sender.balance = OpFees.saturatingAdd(sender.balance, t.mint);
        if (sender.nonce < MAX_NONCE) sender.nonce += 1;
        WorldAccess.setAccount(cx, t.sender, sender);
        s.failed = t.isSystem || t.gasLimit < (s.intrinsic > s.floor ? s.intrinsic : s.floor) || sender.balance < t.value;
        s.sender = sender;
    }

    /// @notice A call's top frame after its entry (`s.codeHash` set): calldata = the data
    /// (its tree from `TxDecoder`; [v0.11] in the L1 form the oracle's fact, a transaction to a
    /// precompile, which reads the data whole, then refused there), and for a precompile its
    /// run with the frame's gas, else Stopped for a recipient without code.
    function _callFrame(TxFields memory t, Start memory s, address precompiles) private view {
        s.calldataSize = t.dataLen;
        s.calldataRoot = t.dataRoot;
        if (PrecompileCall.isPrecompile(t.to)) {
            uint256 data = _copy(t.data, t.dataLen);
            (bool ok, uint256 used, uint256 output, uint256 outLen) =
                PrecompileCall.run(precompiles, t.to, data, t.dataLen, s.gas);
            if (ok) {
                s.status = 2;
                s.gas -= used;
                s.returndataRoot = WordTree.rootOf(output, outLen);
                s.returndataSize = outLen;
            } else {
                s.status = 4;
                s.gas = 0;
            }
        } else if (s.codeHash == WorldAccess.KECCAK_EMPTY) {
            s.status = 1;
        }
    }

    /// @notice The `len` calldata bytes at `at`, copied to memory.
    function _copy(uint256 at, uint256 len) private pure returns (uint256 data) {
        data = StepOps.alloc(len);
        assembly ("memory-safe") {
            calldatacopy(data, at, len)
        }
    }

    /// @notice The Idle state's receipt chain with this transaction's receipt opened:
    /// `keccak256(0x18 ‖ chain ‖ deposit(u8) ‖ deposit_nonce(u64) ‖ tx_index(u64))`, a deposit's
    /// sender nonce before it, else `0 ‖ 0`, and the transaction's list index (SPEC.md §3.6,
    /// §5.9; v0.6).
    function _receiptOpen(Ctx memory cx, TxFields memory t, Start memory s) private pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                TAG_RECEIPT_OPEN,
                StateRecord.wordAt(cx.pre + StateRecord.RETURNDATA_ROOT),
                t.deposit,
                uint64(t.deposit ? s.nonce : 0),
                uint64(StateRecord.uintAt(cx.pre + 9, 8))
            )
        );
    }

    /// @notice The commitment of the top frame's first state with the transaction environment
    /// the start built (SPEC.md §3.6, §5.9 step 7).
    function _commit(Ctx memory cx, TxFields memory t, Start memory s) private pure returns (bytes32 h) {
        bytes32 envHash = keccak256(
            abi.encodePacked(
                abi.encodePacked(
                    bytes1(0x03),
                    uint160(t.sender),
                    s.price,
                    uint64(t.gasLimit),
                    uint64(s.floor),
                    t.create,
                    uint64(StateRecord.uintAt(cx.pre + StateRecord.GAS, 8)),
                    _receiptOpen(cx, t, s)
                ),
                t.deposit,
                s.l1Fee,
                uint64(s.operatorFeeScalar),
                uint64(s.operatorFeeConstant),
                uint64(0),
                uint64(t.blobHashes.length),
                t.blobHashes
            )
        );
        bytes32 world = WorldAccess.commitment(cx);
        uint256 pre = cx.pre;
        uint256[7] memory v = [s.status, s.gas, s.to, t.sender, t.value, s.calldataSize, s.returndataSize];
        bytes32[4] memory roots = [s.codeHash, s.calldataRoot, s.returndataRoot, envHash];
        uint256[4] memory starting = [s.pc, s.isStatic, uint256(s.stackRoot), s.stackLen];
        assembly ("memory-safe") {
            function put(at, x, len) {
                let keep := shr(shl(3, len), not(0))
                mstore(at, or(and(mload(at), keep), shl(sub(256, shl(3, len)), x)))
            }
            let p := mload(0x40)
            // 443 bytes of zeros, then the position, the frame and the environments.
            calldatacopy(p, calldatasize(), 448)
            mstore8(p, 0x01)
            calldatacopy(add(p, 1), add(pre, 1), 16)
            mstore8(add(p, 33), mload(v))
            put(add(p, 34), mload(add(v, 32)), 8)
            put(add(p, 82), mload(add(v, 64)), 20)
            put(add(p, 102), mload(add(v, 96)), 20)
            mstore(add(p, 122), mload(add(v, 128)))
            mstore(add(p, 155), mload(roots))
            mstore(add(p, 227), EMPTY_WORDS)
            mstore(add(p, 267), mload(add(roots, 32)))
            put(add(p, 299), mload(add(v, 160)), 8)
            mstore(add(p, 307), mload(add(roots, 64)))
            put(add(p, 339), mload(add(v, 192)), 8)
            mstore(add(p, 347), mload(add(roots, 96)))
            mstore(add(p, 379), calldataload(add(pre, 379)))
            mstore(add(p, 411), world)
            // [v0.15] A Starting state's cursor (zeros otherwise).
            put(add(p, 25), mload(starting), 8)
            mstore8(add(p, 154), mload(add(starting, 32)))
            mstore(add(p, 187), mload(add(starting, 64)))
            put(add(p, 219), mload(add(starting, 96)), 8)
            h := keccak256(p, 443)
        }
    }
}
