// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice Forwards a call to another contract, so tests can see nested call frames (debug_traceTransaction
/// with the callTracer, the fraud VM's frame steps), a failing inner call, and logs from two contracts
/// in one transaction.
contract Relay {
    event Relayed(address indexed target, bytes data, bool ok);

    /// Calls `target` with `data` (and the value sent); bubbles its revert up unchanged.
    function relay(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        emit Relayed(target, data, ok);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// Calls `target` with `data` and succeeds whatever the inner call did.
    function tryRelay(address target, bytes calldata data) external returns (bool ok) {
        (ok,) = target.call(data);
        emit Relayed(target, data, ok);
    }
}
