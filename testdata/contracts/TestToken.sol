// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A plain OpenZeppelin 5 ERC-20 that the end-to-end tests deploy (two of them make a Uniswap pair).
/// The whole initial supply is minted to the deployer. OpenZeppelin's ERC20 keeps `_balances` at
/// storage slot 0, which the eth_getProof test relies on.
contract TestToken is ERC20 {
    constructor(string memory name_, string memory symbol_, uint256 initialSupply) ERC20(name_, symbol_) {
        _mint(msg.sender, initialSupply);
    }
}
