// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {BaseTrie} from "./BaseTrie.sol";
import {OpFees} from "./OpFees.sol";
import "./StepErrors.sol";

/// @title The transaction end step (fraud-vm/SPEC.md §5.9; Rust: step/transaction.rs)
/// @notice From the top frame's terminal state: a creation's code deposit, the refund (EIP-3529,
/// EIP-7702) and the calldata floor (EIP-7623), the world kept or restored by the transaction's
/// checkpoint, the fees (with the OP Stack vaults under Isthmus, none for a deposit), the
/// deletion of the accounts that self-destructed (EIP-6780), the receipt appended, and the Idle
/// state with the per-transaction parts of the world emptied.
library TransactionStep {
    /// Offsets in the transaction environment (SPEC.md §3.6).
    uint256 internal constant TX_ORIGIN = 1;
    uint256 internal constant TX_GAS_PRICE = 21;
    uint256 internal constant TX_GAS_LIMIT = 53;
    uint256 internal constant TX_FLOOR = 61;
    uint256 internal constant TX_CREATE = 69;
    uint256 internal constant TX_BLOCK_GAS_BEFORE = 70;
    uint256 internal constant TX_RECEIPTS_BEFORE = 78;
    uint256 internal constant TX_DEPOSIT = 110;
    uint256 internal constant TX_L1_FEE = 111;
    uint256 internal constant TX_OPERATOR_SCALAR = 143;
    uint256 internal constant TX_OPERATOR_CONSTANT = 151;
    uint256 internal constant TX_AUTH_REFUND = 159;
    /// Offsets in the block environment.
    uint256 internal constant BLOCK_COINBASE = 1;
    uint256 internal constant BLOCK_BASEFEE = 149;
    uint256 internal constant BLOCK_RULES = 349;
    uint256 internal constant MAX_CODE_SIZE = 24576;
    uint256 internal constant CODE_DEPOSIT = 200;
    /// Empty word-tree root `Z_32` (SPEC.md §9).
    bytes32 internal constant EMPTY_WORDS = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    /// What the end settles.
    struct End {
        uint256 env;
        uint256 blockEnv;
        bool success;
        uint256 gasLeft;
        uint256 used;
        bytes32 receipts;
        uint256 cumulative;
    }

    /// @notice The post-state commitment of the transaction end from `cx.pre`.
    function execute(Ctx memory cx) internal pure returns (bytes32) {
        if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
        uint256 pre = cx.pre;
        WorldAccess.world(cx);
        uint256 cp = cx.checkpoint;
        if (cp == 0) revert MissingWitness(WitnessList.CHECKPOINT);
        cx.checkpointUsed = true;
        // The transaction's own checkpoint, the only one left: its `prev` is empty.
        if (StepOps.hashCalldata(cp, 233) != cx.checkpointRoot || StateRecord.wordAt(cp + 1) != 0) {
            revert BadCheckpoint();
        }
        End memory e;
        e.env = StepOps.txEnv(cx);
        e.blockEnv = StepOps.blockEnv(cx);
        uint256 status = StateRecord.uintAt(pre + StateRecord.STATUS, 1);
        e.success = status == 1 || status == 2;
        e.gasLeft = StateRecord.uintAt(pre + StateRecord.GAS, 8);
        bytes32 deployed = _deposit(cx, e, status);
        _gasUsed(e, status, pre);
        if (e.success) {
            cx.checkpointRoot = 0;
        } else {
            _restore(cx, cp);
        }
        // The receipt commits to the logs of the world kept or restored.
        e.cumulative = StateRecord.uintAt(e.env + TX_BLOCK_GAS_BEFORE, 8) + e.used;
        if (e.cumulative > type(uint64).max) e.cumulative = type(uint64).max;
        e.receipts = keccak256(
            abi.encodePacked(
                bytes1(0x0c),
                StateRecord.wordAt(e.env + TX_RECEIPTS_BEFORE),
                e.success,
                uint64(e.cumulative),
                cx.logsRoot,
                uint64(cx.logsCount)
            )
        );
        uint256 self = StateRecord.addressAt(pre + StateRecord.ADDRESS);
        if (deployed != 0) {
            Account memory a = WorldAccess.account(cx, self);
            a.codeHash = deployed;
            WorldAccess.setAccount(cx, self, a);
        }
        if (StateRecord.uintAt(e.env + TX_DEPOSIT, 1) == 0) _payFees(cx, e);
        _deleteDestructed(cx);
        return _commitIdle(cx, e);
    }

    /// @notice A creation's code deposit (EIP-170, EIP-3541, 200 gas per byte), which the
    /// output's return data words witness: the code hash to write, or zero; a failed deposit
    /// fails the transaction as an exceptional halt.
    function _deposit(Ctx memory cx, End memory e, uint256 status) private pure returns (bytes32 codeHash) {
        if (StateRecord.uintAt(e.env + TX_CREATE, 1) == 0 || !e.success) return 0;
        uint256 size = status == 2 ? StateRecord.uintAt(cx.pre + StateRecord.RETURNDATA_SIZE, 8) : 0;
        uint256 output = StepOps.readReturndata(cx, 0, size);
        uint256 first;
        assembly ("memory-safe") {
            first := byte(0, mload(output))
        }
        uint256 cost = CODE_DEPOSIT * size;
        if (size <= MAX_CODE_SIZE && (size == 0 || first != 0xef) && cost <= e.gasLeft) {
            e.gasLeft -= cost;
            assembly ("memory-safe") {
                codeHash := keccak256(output, size)
            }
        } else {
            e.success = false;
            e.gasLeft = 0;
        }
    }

    /// @notice The gas the transaction uses: the refund capped at a fifth of the gas spent
    /// (EIP-3529; the authorizations' refund counts whatever the outcome, EIP-7702), the calldata
    /// floor (EIP-7623), and the whole gas limit for a deposit that fails other than by
    /// reverting (op-revm's failed deposit).
    function _gasUsed(End memory e, uint256 status, uint256 pre) private pure {
        uint256 gasLimit = StateRecord.uintAt(e.env + TX_GAS_LIMIT, 8);
        if (e.gasLeft > gasLimit) revert UnsupportedStep("more gas left than the gas limit");
        uint256 spent = gasLimit - e.gasLeft;
        uint256 refund = 0;
        if (e.success) {
            int256 frame = int256(int64(uint64(StateRecord.uintAt(pre + 42, 8))));
            if (frame > 0) refund = uint256(frame);
        }
        refund += StateRecord.uintAt(e.env + TX_AUTH_REFUND, 8);
        if (refund > spent / 5) refund = spent / 5;
        bool deposit = StateRecord.uintAt(e.env + TX_DEPOSIT, 1) == 1;
        if (deposit && !e.success && status != 3) {
            e.used = gasLimit;
        } else {
            uint256 floor = StateRecord.uintAt(e.env + TX_FLOOR, 8);
            e.used = spent - refund > floor ? spent - refund : floor;
        }
    }

    /// @notice The world as the transaction's checkpoint holds it (SPEC.md §3.7.6): a failed
    /// transaction keeps only what its start did before the checkpoint.
    function _restore(Ctx memory cx, uint256 cp) private pure {
        cx.accountsRoot = StateRecord.wordAt(cp + 33);
        cx.transientRoot = StateRecord.wordAt(cp + 65);
        cx.accessedRoot = StateRecord.wordAt(cp + 97);
        cx.createdRoot = StateRecord.wordAt(cp + 129);
        cx.destructsRoot = StateRecord.wordAt(cp + 161);
        cx.logsRoot = StateRecord.wordAt(cp + 193);
        cx.logsCount = StateRecord.uintAt(cp + 225, 8);
        cx.checkpointRoot = 0;
    }

    /// @notice The fees of a non-deposit transaction that used `e.used` gas (SPEC.md §5.9 step
    /// 3): the unused gas (and under Isthmus the unused operator fee) back to the origin, the
    /// priority fee to the coinbase, and under Isthmus the L1 data fee, the base fee and the
    /// operator fee to their vaults (under Prague the base fee is burnt). Amounts wrap as the
    /// reference's 256-bit arithmetic does.
    function _payFees(Ctx memory cx, End memory e) private pure {
        uint256 env = e.env;
        uint256 gasLimit = StateRecord.uintAt(env + TX_GAS_LIMIT, 8);
        uint256 price = uint256(StateRecord.wordAt(env + TX_GAS_PRICE));
        uint256 basefee = uint256(StateRecord.wordAt(e.blockEnv + BLOCK_BASEFEE));
        bool op = StateRecord.uintAt(e.blockEnv + BLOCK_RULES, 1) == OpFees.ISTHMUS;
        uint256 owed;
        uint256 back;
        unchecked {
            back = (gasLimit > e.used ? gasLimit - e.used : 0) * price;
            if (op) {
                uint256 scalar = StateRecord.uintAt(env + TX_OPERATOR_SCALAR, 8);
                uint256 constant_ = StateRecord.uintAt(env + TX_OPERATOR_CONSTANT, 8);
                uint256 charged = OpFees.operatorFee(gasLimit, scalar, constant_);
                owed = OpFees.operatorFee(e.used, scalar, constant_);
                back += charged > owed ? charged - owed : 0;
            }
        }
        _credit(cx, StateRecord.addressAt(env + TX_ORIGIN), back);
        unchecked {
            _credit(cx, StateRecord.addressAt(e.blockEnv + BLOCK_COINBASE), (price > basefee ? price - basefee : 0) * e.used);
        }
        if (op) {
            _credit(cx, OpFees.L1_FEE_VAULT, uint256(StateRecord.wordAt(env + TX_L1_FEE)));
            unchecked {
                _credit(cx, OpFees.BASE_FEE_VAULT, basefee * e.used);
            }
            _credit(cx, OpFees.OPERATOR_FEE_VAULT, owed);
        }
    }

    /// @notice Adds `amount` to the balance of `addr` (saturating; nothing for zero).
    function _credit(Ctx memory cx, uint256 addr, uint256 amount) private pure {
        if (amount == 0) return;
        Account memory a = WorldAccess.account(cx, addr);
        a.balance = OpFees.saturatingAdd(a.balance, amount);
        WorldAccess.setAccount(cx, addr, a);
    }

    /// @notice EIP-6780: the listed accounts, which must fold to the world's self-destruct
    /// chain, are deleted in list order: an empty record with the next incarnation, so that
    /// their storage is gone.
    function _deleteDestructed(Ctx memory cx) private pure {
        if (!cx.hasDestructs) revert MissingWitness(WitnessList.DESTRUCTS);
        cx.destructsUsed = true;
        uint256 list = cx.destructs;
        uint256 count = cx.destructsCount;
        bytes32 chain;
        for (uint256 i = 0; i < count; ++i) {
            chain = keccak256(abi.encodePacked(bytes1(0x0b), chain, bytes20(uint160(StateRecord.addressAt(list + 20 * i)))));
        }
        if (chain != cx.destructsRoot) revert BadDestructs();
        for (uint256 i = 0; i < count; ++i) {
            uint256 addr = StateRecord.addressAt(list + 20 * i);
            Account memory a = WorldAccess.account(cx, addr);
            Account memory deleted;
            deleted.codeHash = WorldAccess.KECCAK_EMPTY;
            deleted.storageRoot = BaseTrie.EMPTY_ROOT;
            deleted.incarnation = a.incarnation < type(uint64).max ? a.incarnation + 1 : a.incarnation;
            WorldAccess.setAccount(cx, addr, deleted);
        }
    }

    /// @notice The Idle state after the transaction (SPEC.md §5.9 step 6): the next index, the
    /// block's gas and receipt chain so far, and the world with its per-transaction parts reset
    /// (`original_root = accounts_root`, the sets, chains and count empty).
    function _commitIdle(Ctx memory cx, End memory e) private pure returns (bytes32 h) {
        uint256 pre = cx.pre;
        uint256 index = StateRecord.uintAt(pre + 9, 8);
        if (index == type(uint64).max) revert UnsupportedStep("transaction index at its maximum");
        index += 1;
        bytes32 world = keccak256(
            abi.encodePacked(
                bytes1(0x05),
                StateRecord.wordAt(cx.world + WorldAccess.BASE_ROOT),
                cx.accountsRoot,
                cx.accountsRoot,
                bytes32(0),
                bytes32(0),
                bytes32(0),
                bytes32(0),
                bytes32(0),
                uint64(0),
                bytes32(0)
            )
        );
        uint256 cumulative = e.cumulative;
        bytes32 receipts = e.receipts;
        assembly ("memory-safe") {
            function put(at, x, len) {
                let keep := shr(shl(3, len), not(0))
                mstore(at, or(and(mload(at), keep), shl(sub(256, shl(3, len)), x)))
            }
            let p := mload(0x40)
            // 443 bytes of zeros, then the fields that are not.
            calldatacopy(p, calldatasize(), 448)
            mstore8(p, 0x01)
            calldatacopy(add(p, 1), add(pre, 1), 8)
            put(add(p, 9), index, 8)
            mstore8(add(p, 33), 5)
            put(add(p, 34), cumulative, 8)
            mstore(add(p, 227), EMPTY_WORDS)
            mstore(add(p, 267), EMPTY_WORDS)
            mstore(add(p, 307), receipts)
            put(add(p, 339), index, 8)
            mstore(add(p, 379), calldataload(add(pre, 379)))
            mstore(add(p, 411), world)
            h := keccak256(p, 443)
        }
    }
}
