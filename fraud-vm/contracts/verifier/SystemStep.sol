// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";

/// @title SELFDESTRUCT under EIP-6780 (fraud-vm/SPEC.md §5.13; Rust: step/system.rs)
library SystemStep {
    /// COLD_ACCOUNT_ACCESS_COST of the beneficiary.
    uint256 internal constant COLD_BENEFICIARY = 2600;
    /// G_newaccount.
    uint256 internal constant NEW_ACCOUNT = 25000;

    /// @notice SELFDESTRUCT `b` (the caller has halted it in a static frame): touch `b`, move the
    /// balance (or burn it when a contract created in this transaction names itself), and list
    /// the account for deletion if it was created in this transaction. The frame stops.
    function execute(Ctx memory cx) internal pure returns (Flow) {
        uint256 b = uint256(uint160(StepOps.item(cx, 0)));
        if (WorldAccess.touchAccount(cx, b) && !StepOps.charge(cx, COLD_BENEFICIARY)) return Flow.Halt;
        uint256 self = StateRecord.addressAt(cx.pre + StateRecord.ADDRESS);
        Account memory me = WorldAccess.account(cx, self);
        uint256 balance = me.balance;
        bool created = WorldAccess.isCreated(cx, self);
        if (b != self) {
            Account memory target = WorldAccess.account(cx, b);
            bool empty = target.nonce == 0 && target.balance == 0 && target.codeHash == WorldAccess.KECCAK_EMPTY;
            if (balance != 0 && empty && !StepOps.charge(cx, NEW_ACCOUNT)) return Flow.Halt;
            if (balance != 0) {
                me.balance = 0;
                unchecked {
                    uint256 sum = target.balance + balance;
                    target.balance = sum < balance ? type(uint256).max : sum;
                }
                WorldAccess.setAccount(cx, self, me);
                WorldAccess.setAccount(cx, b, target);
            }
        } else if (created && balance != 0) {
            me.balance = 0;
            WorldAccess.setAccount(cx, self, me);
        }
        if (created) {
            cx.destructsRoot = keccak256(abi.encodePacked(bytes1(0x0b), cx.destructsRoot, bytes20(uint160(self))));
            cx.worldChanged = true;
        }
        return Flow.Stop;
    }
}
