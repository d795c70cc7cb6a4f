// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// Minimal ERC-721 for Verity's access tests: mint, ownerOf, balanceOf, transferFrom.
contract TestNft {
    string public name = "Verity Test NFT";
    string public symbol = "VTN";
    address public minter;
    mapping(uint256 => address) private owners;
    mapping(address => uint256) private balances;

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    constructor() {
        minter = msg.sender;
    }

    function mint(address to, uint256 tokenId) external {
        require(msg.sender == minter, "not minter");
        require(owners[tokenId] == address(0), "exists");
        owners[tokenId] = to;
        balances[to] += 1;
        emit Transfer(address(0), to, tokenId);
    }

    function ownerOf(uint256 tokenId) external view returns (address) {
        address owner = owners[tokenId];
        require(owner != address(0), "no such token");
        return owner;
    }

    function balanceOf(address owner) external view returns (uint256) {
        return balances[owner];
    }

    function transferFrom(address from, address to, uint256 tokenId) external {
        require(owners[tokenId] == from && msg.sender == from, "not owner");
        owners[tokenId] = to;
        balances[from] -= 1;
        balances[to] += 1;
        emit Transfer(from, to, tokenId);
    }
}
