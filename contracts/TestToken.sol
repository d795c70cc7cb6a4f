// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// Minimal ERC-20 for Verity's access tests, plus a `score` view for contract-call conditions.
contract TestToken {
    string public name = "Verity Test Token";
    string public symbol = "VTT";
    uint8 public decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => uint256) public score;

    event Transfer(address indexed from, address indexed to, uint256 value);

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
        totalSupply += amount;
        emit Transfer(address(0), to, amount);
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        require(balanceOf[msg.sender] >= amount, "balance");
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        emit Transfer(msg.sender, to, amount);
        return true;
    }

    function setScore(address who, uint256 value) external {
        score[who] = value;
    }
}
