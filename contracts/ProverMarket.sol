// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IERC20Transfer {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

interface IModelVerifier {
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external returns (bool);
}

interface IReusableVerifier {
    function verifyProof(address vk, bytes calldata proof, uint256[] calldata instances) external returns (bool);
}

/// A market for proofs: a poster escrows a bounty (ETH or an ERC-20) for a proof of a model's run; the first prover
/// whose proof the model's EVM verifier accepts, before the deadline, is credited; after the deadline an unsettled job
/// is refunded to the poster. Payments are pulled with `withdraw` (checks-effects-interactions plus a reentrancy lock).
contract ProverMarket {
    enum Status { None, Open, Paid, Refunded }

    struct Job {
        address poster;
        bytes32 modelId; // e.g. the package's manifest digest
        address verifier;
        address vk; // VK artifact for a reusable verifier, address(0) for a per-model verifier
        bytes32 inputCommitment;
        bytes32 instancesHash; // keccak256(abi.encodePacked(instances)) the proof must have, or 0 for any
        address token; // address(0) = ETH
        uint256 bounty;
        uint64 deadline;
        Status status;
        address prover;
    }

    struct JobRequest {
        bytes32 modelId;
        address verifier;
        address vk;
        bytes32 inputCommitment;
        bytes32 instancesHash;
        address token;
        uint256 bounty;
        uint64 deadline;
    }

    Job[] internal jobs;
    mapping(address => mapping(address => uint256)) public owed; // account => token => amount
    uint256 private locked = 1;

    event JobPosted(uint256 indexed jobId, address indexed poster, bytes32 indexed modelId, bytes32 inputCommitment, address token, uint256 bounty, uint64 deadline);
    event ProofAccepted(uint256 indexed jobId, address indexed prover, bytes32 proofHash);
    event JobRefunded(uint256 indexed jobId, address indexed poster);
    event PaymentWithdrawn(address indexed account, address indexed token, uint256 amount);

    error BadBounty();
    error DeadlinePassed();
    error DeadlineNotPassed();
    error JobNotOpen(uint256 jobId);
    error NoSuchJob(uint256 jobId);
    error WrongInstances();
    error InvalidProof();
    error NothingOwed();
    error TransferFailed();
    error Reentrancy();

    modifier nonReentrant() {
        if (locked != 1) revert Reentrancy();
        locked = 2;
        _;
        locked = 1;
    }

    function postJob(JobRequest calldata request) external payable nonReentrant returns (uint256 jobId) {
        if (request.bounty == 0 || request.verifier == address(0)) revert BadBounty();
        if (request.deadline <= block.timestamp) revert DeadlinePassed();
        if (request.token == address(0)) {
            if (msg.value != request.bounty) revert BadBounty();
        } else {
            if (msg.value != 0) revert BadBounty();
            if (!IERC20Transfer(request.token).transferFrom(msg.sender, address(this), request.bounty)) revert TransferFailed();
        }
        jobId = jobs.length;
        jobs.push(Job(
            msg.sender, request.modelId, request.verifier, request.vk, request.inputCommitment, request.instancesHash,
            request.token, request.bounty, request.deadline, Status.Open, address(0)
        ));
        emit JobPosted(jobId, msg.sender, request.modelId, request.inputCommitment, request.token, request.bounty, request.deadline);
    }

    function job(uint256 jobId) external view returns (Job memory) {
        if (jobId >= jobs.length) revert NoSuchJob(jobId);
        return jobs[jobId];
    }

    function jobCount() external view returns (uint256) {
        return jobs.length;
    }

    /// Checks the proof with the job's verifier; a valid proof credits the bounty to the caller.
    function submitProof(uint256 jobId, bytes calldata proof, uint256[] calldata instances) external nonReentrant {
        if (jobId >= jobs.length) revert NoSuchJob(jobId);
        Job storage entry = jobs[jobId];
        if (entry.status != Status.Open) revert JobNotOpen(jobId);
        if (block.timestamp > entry.deadline) revert DeadlinePassed();
        if (entry.instancesHash != bytes32(0) && keccak256(abi.encodePacked(instances)) != entry.instancesHash) revert WrongInstances();
        if (!_verify(entry.verifier, entry.vk, proof, instances)) revert InvalidProof();
        entry.status = Status.Paid;
        entry.prover = msg.sender;
        owed[msg.sender][entry.token] += entry.bounty;
        emit ProofAccepted(jobId, msg.sender, keccak256(proof));
    }

    /// After the deadline, credits an unsettled job's bounty back to its poster.
    function refund(uint256 jobId) external nonReentrant {
        if (jobId >= jobs.length) revert NoSuchJob(jobId);
        Job storage entry = jobs[jobId];
        if (entry.status != Status.Open) revert JobNotOpen(jobId);
        if (block.timestamp <= entry.deadline) revert DeadlineNotPassed();
        entry.status = Status.Refunded;
        owed[entry.poster][entry.token] += entry.bounty;
        emit JobRefunded(jobId, entry.poster);
    }

    function withdraw(address token) external nonReentrant {
        uint256 amount = owed[msg.sender][token];
        if (amount == 0) revert NothingOwed();
        owed[msg.sender][token] = 0;
        bool sent;
        if (token == address(0)) (sent, ) = msg.sender.call{value: amount}("");
        else sent = IERC20Transfer(token).transfer(msg.sender, amount);
        if (!sent) revert TransferFailed();
        emit PaymentWithdrawn(msg.sender, token, amount);
    }

    function _verify(address verifier, address vk, bytes calldata proof, uint256[] calldata instances) internal returns (bool) {
        if (vk == address(0)) {
            try IModelVerifier(verifier).verifyProof(proof, instances) returns (bool ok) { return ok; } catch { return false; }
        }
        try IReusableVerifier(verifier).verifyProof(vk, proof, instances) returns (bool ok) { return ok; } catch { return false; }
    }
}
