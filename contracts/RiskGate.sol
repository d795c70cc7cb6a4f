// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IHalo2Verifier {
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external returns (bool);
}

/// Releases a payment only with a valid proof that the transaction-risk model scored the payment below a threshold.
/// The risk is read from the proof's last public instance: EZKL fixed point, round(risk * 2^scale), negatives as P - |n|.
contract RiskGate {
    uint256 internal constant P = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    IHalo2Verifier public immutable verifier;
    int256 public immutable maxRisk; // fixed point at the model's output scale, e.g. 0.5 at scale 7 = 64
    struct Payment { address payable to; uint256 amount; bool released; }
    Payment[] public payments;
    mapping(bytes32 => bool) public usedProofs;

    event PaymentRequested(uint256 indexed id, address indexed to, uint256 amount);
    event PaymentReleased(uint256 indexed id, address indexed to, uint256 amount, int256 risk);

    constructor(IHalo2Verifier verifier_, int256 maxRisk_) {
        verifier = verifier_;
        maxRisk = maxRisk_;
    }

    /// The signed fixed-point value of a field element.
    function decode(uint256 felt) public pure returns (int256) {
        require(felt < P, "not a field element");
        return felt > P / 2 ? -int256(P - felt) : int256(felt);
    }

    /// Escrows a payment to `to`; it is released by `release` with a proof of low risk.
    function request(address payable to) external payable returns (uint256 id) {
        id = payments.length;
        payments.push(Payment(to, msg.value, false));
        emit PaymentRequested(id, to, msg.value);
    }

    function release(uint256 id, bytes calldata proof, uint256[] calldata instances) external {
        require(id < payments.length, "no such payment");
        Payment storage payment = payments[id];
        require(!payment.released, "already released");
        require(instances.length > 0, "no public output");
        require(!usedProofs[keccak256(proof)], "proof already used");
        int256 risk = decode(instances[instances.length - 1]);
        require(risk < maxRisk, "risk above threshold");
        bool valid;
        try verifier.verifyProof(proof, instances) returns (bool ok) { valid = ok; } catch { valid = false; }
        require(valid, "invalid proof");
        usedProofs[keccak256(proof)] = true;
        payment.released = true;
        emit PaymentReleased(id, payment.to, payment.amount, risk);
        (bool sent, ) = payment.to.call{value: payment.amount}("");
        require(sent, "payment failed");
    }
}
