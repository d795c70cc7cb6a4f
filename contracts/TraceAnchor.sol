// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Anchors Verity trace checkpoints (format verity-trace/1): the agent's EIP-712 `Checkpoint(origin, size, root)`
/// signature is checked in the agent's own domain, and an anchored trace's size only grows. Many agents' checkpoints
/// can also be anchored in one transaction under an RFC 9162 (SHA-256) Merkle root; each proves inclusion later.
contract TraceAnchor {
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version,uint256 chainId,bytes32 salt)");
    bytes32 internal constant CHECKPOINT_TYPEHASH = keccak256("Checkpoint(string origin,uint64 size,bytes32 root)");
    uint256 internal constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    struct Anchor { uint64 size; bytes32 root; uint64 blockNumber; uint64 timestamp; }
    struct SignedCheckpoint { address agent; uint256 chainId; string origin; uint64 size; bytes32 root; bytes signature; }
    struct Batch { bytes32 root; uint64 count; address submitter; uint64 timestamp; }

    /// keccak256(abi.encode(agent, keccak256(origin))) => latest anchored checkpoint of that trace.
    mapping(bytes32 => Anchor) internal anchors;
    Batch[] public batches;

    event CheckpointAnchored(bytes32 indexed trace, address indexed agent, string origin, uint64 size, bytes32 root);
    event BatchAnchored(uint256 indexed batchId, address indexed submitter, bytes32 root, uint64 count);

    error BadSignature();
    error SizeMustGrow(uint64 anchoredSize, uint64 size);
    error EmptyBatch();
    error NoSuchBatch(uint256 batchId);

    function traceKey(address agent, string calldata origin) public pure returns (bytes32) {
        return keccak256(abi.encode(agent, keccak256(bytes(origin))));
    }

    function checkpointDigest(SignedCheckpoint calldata checkpoint) public pure returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("Verity Trace"), keccak256("1"), checkpoint.chainId,
                bytes32(uint256(uint160(checkpoint.agent)))
            )
        );
        bytes32 structHash =
            keccak256(abi.encode(CHECKPOINT_TYPEHASH, keccak256(bytes(checkpoint.origin)), checkpoint.size, checkpoint.root));
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    /// True when `checkpoint.signature` is the agent's (low-s, 65 bytes) over the checkpoint in the agent's domain.
    function signedByAgent(SignedCheckpoint calldata checkpoint) public pure returns (bool) {
        bytes calldata signature = checkpoint.signature;
        if (signature.length != 65 || checkpoint.agent == address(0)) return false;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_ORDER) return false;
        return ecrecover(checkpointDigest(checkpoint), v, r, s) == checkpoint.agent;
    }

    /// Anchors an agent's signed checkpoint (`chainId`: the chain id of the trace's signing domain, not this chain's).
    function anchor(SignedCheckpoint calldata checkpoint) external {
        if (!signedByAgent(checkpoint)) revert BadSignature();
        bytes32 key = traceKey(checkpoint.agent, checkpoint.origin);
        uint64 anchoredSize = anchors[key].size;
        if (checkpoint.size <= anchoredSize) revert SizeMustGrow(anchoredSize, checkpoint.size);
        anchors[key] = Anchor(checkpoint.size, checkpoint.root, uint64(block.number), uint64(block.timestamp));
        emit CheckpointAnchored(key, checkpoint.agent, checkpoint.origin, checkpoint.size, checkpoint.root);
    }

    function anchored(address agent, string calldata origin) external view returns (Anchor memory) {
        return anchors[traceKey(agent, origin)];
    }

    /// Anchors the RFC 9162 root over `count` batch leaves (see `batchLeaf`) in one transaction.
    function anchorBatch(bytes32 root, uint64 count) external returns (uint256 batchId) {
        if (count == 0) revert EmptyBatch();
        batchId = batches.length;
        batches.push(Batch(root, count, msg.sender, uint64(block.timestamp)));
        emit BatchAnchored(batchId, msg.sender, root, count);
    }

    function batchCount() external view returns (uint256) {
        return batches.length;
    }

    /// The leaf data of a checkpoint in a batch: keccak256(abi.encode(agent, chainId, keccak256(origin), size, root)).
    function batchLeaf(SignedCheckpoint calldata checkpoint) public pure returns (bytes32) {
        return keccak256(
            abi.encode(checkpoint.agent, checkpoint.chainId, keccak256(bytes(checkpoint.origin)), checkpoint.size, checkpoint.root)
        );
    }

    /// True when the agent signed the checkpoint and it is leaf `index` of batch `batchId` (RFC 9162 inclusion proof).
    function verifyBatchInclusion(uint256 batchId, SignedCheckpoint calldata checkpoint, uint64 index, bytes32[] calldata proof)
        external view returns (bool)
    {
        if (batchId >= batches.length) revert NoSuchBatch(batchId);
        if (!signedByAgent(checkpoint)) return false;
        Batch storage batch = batches[batchId];
        bytes32 leafHash = sha256(abi.encodePacked(bytes1(0x00), batchLeaf(checkpoint)));
        return _includes(leafHash, index, batch.count, proof, batch.root);
    }

    function _includes(bytes32 leafHash, uint64 index, uint64 treeSize, bytes32[] calldata proof, bytes32 expected)
        internal pure returns (bool)
    {
        if (index >= treeSize) return false;
        uint64 fn = index;
        uint64 sn = treeSize - 1;
        bytes32 r = leafHash;
        for (uint256 i = 0; i < proof.length; i++) {
            if (sn == 0) return false;
            if (fn % 2 == 1 || fn == sn) {
                r = sha256(abi.encodePacked(bytes1(0x01), proof[i], r));
                if (fn % 2 == 0) {
                    while (fn % 2 == 0 && fn != 0) {
                        fn /= 2;
                        sn /= 2;
                    }
                }
            } else {
                r = sha256(abi.encodePacked(bytes1(0x01), r, proof[i]));
            }
            fn /= 2;
            sn /= 2;
        }
        return sn == 0 && r == expected;
    }
}
