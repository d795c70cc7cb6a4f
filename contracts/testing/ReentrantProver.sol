// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IProverMarket {
    function submitProof(uint256 jobId, bytes calldata proof, uint256[] calldata instances) external;
    function withdraw(address token) external;
}

/// A prover contract whose receive() re-enters ProverMarket.withdraw: the market's lock must stop the second call.
contract ReentrantProver {
    IProverMarket public immutable market;
    uint256 public reentered;
    bool public reentryBlocked;

    constructor(IProverMarket market_) {
        market = market_;
    }

    function submit(uint256 jobId, bytes calldata proof, uint256[] calldata instances) external {
        market.submitProof(jobId, proof, instances);
    }

    function withdraw() external {
        market.withdraw(address(0));
    }

    receive() external payable {
        reentered += 1;
        try market.withdraw(address(0)) {} catch {
            reentryBlocked = true;
        }
    }
}
