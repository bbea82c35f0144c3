// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow} from "./StepContext.sol";
import {StepMachine, OpcodeMachine} from "./StepMachine.sol";
import {OpcodeTable} from "./OpcodeTable.sol";
import {StorageStep} from "./StorageStep.sol";
import {AccountStep} from "./AccountStep.sol";
import {LogStep} from "./LogStep.sol";
import {SystemStep} from "./SystemStep.sol";
import {ExitStep} from "./ExitStep.sol";
import {CallEntryStep} from "./CallEntryStep.sol";
import {CreateStep} from "./CreateStep.sol";
import {TransactionStep} from "./TransactionStep.sol";
import {StartStep} from "./StartStep.sol";
import {EntriesStep} from "./EntriesStep.sol";
import {TxDecoder} from "./TxDecoder.sol";
import "./StepErrors.sol";
import {IStepVerifier} from "../game/IStepVerifier.sol";

/// @notice The `step` of a contract that `OneStepVerifier` forwards steps to (unchanged), for
/// the step kinds it executes; every other kind reverts (`StepMachine`'s defaults).
abstract contract ForwardedSteps is StepMachine, IStepVerifier {
    /// @notice As `OneStepVerifier.step`, for the steps this contract executes.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof in its canonical encoding or [v0.13] with a code window (SPEC.md §6.3).
    /// @return The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external view returns (bytes32) {
        return _verify(preCommitment, proof);
    }
}

/// @notice An opcode contract that `OneStepVerifier` forwards to routes nothing further.
abstract contract ForwardedOpcodes is OpcodeMachine, ForwardedSteps {
    function _route(uint256, uint256) internal pure override {}

    function _opcode(Ctx memory cx) internal view override(StepMachine, OpcodeMachine) returns (bytes32) {
        return OpcodeMachine._opcode(cx);
    }
}

/// @title The world-state steps of the one-step verifier
/// @notice SLOAD, SSTORE, TLOAD, TSTORE, BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH,
/// SELFBALANCE, BLOCKHASH and SELFDESTRUCT, with the same `step` as `OneStepVerifier` (which
/// forwards these steps here); a separate contract so that each stays within EIP-170. Its
/// constructor deploys `ExitStepVerifier` (the frame exits, here until v0.13).
contract WorldStepVerifier is ForwardedOpcodes {
    /// @notice The contract that executes the frame exits, deployed by this contract's
    /// constructor (`OneStepVerifier` reads it from here).
    address public immutable exitSteps;

    constructor() {
        exitSteps = address(new ExitStepVerifier());
    }


    function _execute(Ctx memory cx, uint256 family, uint256 op) internal view override returns (Flow) {
        if (family == OpcodeTable.STORAGE) return StorageStep.execute(cx, op);
        if (family == OpcodeTable.ACCOUNT) return AccountStep.execute(cx, op);
        if (family == OpcodeTable.SYSTEM) return SystemStep.execute(cx);
        // The other families are executed by OneStepVerifier, CallStepVerifier and
        // CreateStepVerifier.
        revert UnsupportedOpcode(uint8(op));
    }
}

/// @title The frame exits of the one-step verifier
/// @notice The exit of a call or create frame (SPEC.md §5.16), with the same `step` as
/// `OneStepVerifier` (which forwards these steps here); split out of `WorldStepVerifier` in
/// v0.13 so that each stays within EIP-170 with room to spare. It carries no opcode machine.
contract ExitStepVerifier is ForwardedSteps {
    function _exit(Ctx memory cx) internal view override returns (bytes32 post) {
        post = ExitStep.execute(cx);
        _checkAllUsed(cx);
    }
}

/// @title The call steps of the one-step verifier
/// @notice CALL, CALLCODE, DELEGATECALL and STATICCALL (their entry, or their completion within
/// the step), with the same `step` as `OneStepVerifier` (which forwards these steps here); a
/// separate contract so that each stays within EIP-170. Its constructor deploys
/// `CreateStepVerifier` (CREATE, CREATE2 and the logs, here until v0.13).
contract CallStepVerifier is ForwardedOpcodes {
    /// @notice The contract that runs the L2's precompiles on this L1.
    address public immutable precompiles;
    /// @notice The contract that executes CREATE, CREATE2 and the logs, deployed by this
    /// contract's constructor (`OneStepVerifier` reads it from here).
    address public immutable createSteps;

    /// @param precompiles_ The deployed `L2Precompiles`.
    constructor(address precompiles_) {
        precompiles = precompiles_;
        createSteps = address(new CreateStepVerifier());
    }


    function _execute(Ctx memory cx, uint256, uint256 op) internal view override returns (Flow) {
        if (_isCall(op)) return CallEntryStep.execute(cx, op, precompiles);
        // The other families are executed by OneStepVerifier, WorldStepVerifier and
        // CreateStepVerifier.
        revert UnsupportedOpcode(uint8(op));
    }
}

/// @title The create and log steps of the one-step verifier
/// @notice CREATE and CREATE2 (their entry into the initcode, or their failure within the step)
/// and LOG0..LOG4, with the same `step` as `OneStepVerifier` (which forwards these steps here);
/// split out of `CallStepVerifier` in v0.13 so that each stays within EIP-170 with room to
/// spare.
contract CreateStepVerifier is ForwardedOpcodes {
    function _execute(Ctx memory cx, uint256, uint256 op) internal view override returns (Flow) {
        if (_isCreate(op)) return CreateStep.execute(cx, op);
        if (op >= 0xa0 && op <= 0xa4) return LogStep.execute(cx, op);
        // The other families are executed by OneStepVerifier, WorldStepVerifier and
        // CallStepVerifier.
        revert UnsupportedOpcode(uint8(op));
    }
}

/// @title The transaction start step of the one-step verifier
/// @notice With the same `step` as `OneStepVerifier` (which forwards these steps here); a
/// separate contract so that each stays within EIP-170. It carries no opcode machine.
contract TxStartVerifier is ForwardedSteps {
    /// @notice The contract that runs the L2's precompiles on this L1 (a transaction to a
    /// precompile, and ecrecover for EIP-7702 authorities).
    address public immutable precompiles;
    /// @notice The EIP-2718 decoder and sender recovery (SPEC.md §3.9), deployed by this
    /// contract's constructor: a contract of its own so that each stays within EIP-170.
    address public immutable txDecoder;

    /// @param precompiles_ The deployed `L2Precompiles`.
    constructor(address precompiles_) {
        precompiles = precompiles_;
        txDecoder = address(new TxDecoder());
    }



    function _txStart(Ctx memory cx) internal view override returns (bytes32 post) {
        post = StartStep.execute(cx, precompiles, txDecoder);
        _checkAllUsed(cx);
    }
}

/// @title The transaction end step of the one-step verifier
/// @notice With the same `step` as `OneStepVerifier` (which forwards these steps here); a
/// separate contract so that each stays within EIP-170. It carries no opcode machine. Its
/// constructor deploys `TxEntriesVerifier` [v0.15] (not `TxStartVerifier`'s, whose initcode
/// already carries `TxDecoder`'s and would pass EIP-3860's 49,152 bytes).
contract TxEndVerifier is ForwardedSteps {
    /// @notice The contract that executes the transaction start's sub-steps, deployed by this
    /// contract's constructor (`OneStepVerifier` reads it from here).
    address public immutable entriesSteps;

    constructor() {
        entriesSteps = address(new TxEntriesVerifier());
    }

    function _txEnd(Ctx memory cx) internal pure override returns (bytes32 post) {
        post = TransactionStep.execute(cx);
        _checkAllUsed(cx);
    }
}

/// @title The transaction start's sub-steps of the one-step verifier [v0.15]
/// @notice From a Starting state (SPEC.md §5.9): a group of access-list entries or EIP-7702
/// authorizations, or the top frame's entry once none is left, with the same `step` as
/// `OneStepVerifier` (which forwards these steps here). It carries no opcode machine.
contract TxEntriesVerifier is ForwardedSteps {
    function _txEntries(Ctx memory cx) internal pure override returns (bytes32 post) {
        post = EntriesStep.execute(cx);
        _checkAllUsed(cx);
    }
}
