// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title L2ToL1MessagePasser
/// @notice L2 predeploy at 0x4200000000000000000000000000000000000016 where withdrawals begin. Each
/// withdrawal is recorded as `sentMessages[withdrawalHash] = true`; an L1 withdrawal proof is a
/// Merkle proof of that storage slot under the output root's `messagePasserStorageRoot`.
///
/// Placed in the L2 genesis as runtime code, with no constructor run: every state variable starts
/// at zero, which is the correct initial state (no genesis storage needed).
///
/// Storage layout (the OP Stack's; withdrawal proofs depend on slot 0):
///   slot 0  mapping(bytes32 => bool) sentMessages   entry at keccak256(abi.encode(hash, uint256(0)))
///   slot 1  uint240 msgNonce                         the counter half of messageNonce()
contract L2ToL1MessagePasser {
    /// @notice Version of the withdrawal message format, carried in the top two bytes of the nonce.
    uint16 public constant MESSAGE_VERSION = 1;

    /// @notice Gas limit of the L1 call for withdrawals started by a plain ETH transfer (receive).
    uint256 internal constant RECEIVE_DEFAULT_GAS_LIMIT = 100_000;

    /// @notice Hashes of every withdrawal initiated here. Must stay the first state variable.
    mapping(bytes32 => bool) public sentMessages;

    /// @notice Number of withdrawals initiated so far (the unversioned part of the nonce).
    uint240 internal msgNonce;

    /// @notice A withdrawal was initiated. `withdrawalHash` is
    /// keccak256(abi.encode(nonce, sender, target, value, gasLimit, data)).
    event MessagePassed(
        uint256 indexed nonce,
        address indexed sender,
        address indexed target,
        uint256 value,
        uint256 gasLimit,
        bytes data,
        bytes32 withdrawalHash
    );

    /// @notice The ETH held for finished withdrawals was removed from the supply.
    event WithdrawerBalanceBurnt(uint256 indexed amount);

    /// @notice Sending ETH here withdraws it to the same address on L1.
    receive() external payable {
        initiateWithdrawal(msg.sender, RECEIVE_DEFAULT_GAS_LIMIT, bytes(""));
    }

    /// @notice Version of this contract.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice The nonce the next withdrawal gets: MESSAGE_VERSION in the top two bytes, the
    /// counter in the low 240 bits.
    function messageNonce() public view returns (uint256) {
        return (uint256(MESSAGE_VERSION) << 240) | uint256(msgNonce);
    }

    /// @notice Starts a withdrawal of msg.value to `_target` on L1, calling it with `_data` and at
    /// least `_gasLimit` gas once the withdrawal is proven and finalized there.
    function initiateWithdrawal(address _target, uint256 _gasLimit, bytes memory _data) public payable {
        uint256 nonce = messageNonce();
        bytes32 withdrawalHash = keccak256(abi.encode(nonce, msg.sender, _target, msg.value, _gasLimit, _data));
        sentMessages[withdrawalHash] = true;
        emit MessagePassed(nonce, msg.sender, _target, msg.value, _gasLimit, _data, withdrawalHash);
        unchecked {
            // 2^240 withdrawals cannot happen; wrapping would only touch the counter bits.
            ++msgNonce;
        }
    }

    /// @notice Removes all ETH held here from the supply. Withdrawn ETH is released on L1, so its
    /// L2 copy must disappear.
    /// @dev Creates a contract with the whole balance whose init code is `ADDRESS SELFDESTRUCT`
    /// (0x30ff). A contract that self-destructs in the transaction that created it is deleted
    /// together with its balance, also after EIP-6780 (Cancun), and since the beneficiary is the
    /// contract itself the ether goes nowhere.
    function burn() external {
        uint256 amount = address(this).balance;
        assembly ("memory-safe") {
            mstore(0, 0x30ff)
            if iszero(create(amount, 30, 2)) { revert(0, 0) }
        }
        emit WithdrawerBalanceBurnt(amount);
    }
}
