// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Model names -> versions (manifest digest, package CID, vk digest, EVM verifier, publisher). The first to register a
/// name is its publisher; only the publisher or a delegate it names adds versions. A fork is a new name whose first
/// version records its parent (name, version), which must be registered.
contract ModelRegistry {
    struct Version {
        string version;
        bytes32 manifestDigest;
        string packageCid;
        bytes32 vkDigest;
        address verifier;
        address vk; // VK artifact of a reusable verifier, or address(0) for a per-model verifier
        address publisher; // the account that added the version (publisher or delegate)
        string parentName;
        string parentVersion;
        uint64 registeredAt;
    }

    struct Release {
        string name;
        string version;
        bytes32 manifestDigest;
        string packageCid;
        bytes32 vkDigest;
        address verifier;
        address vk;
        string parentName;
        string parentVersion;
    }

    mapping(bytes32 => address) public publisherOf;
    mapping(bytes32 => mapping(address => bool)) public isDelegate;
    mapping(bytes32 => Version[]) internal versionsOf;
    mapping(bytes32 => mapping(bytes32 => uint256)) internal positionOf; // index + 1

    event ModelClaimed(bytes32 indexed nameHash, string name, address indexed publisher);
    event DelegateSet(bytes32 indexed nameHash, address indexed delegate, bool allowed);
    event VersionRegistered(bytes32 indexed nameHash, address indexed publisher, Release release);

    error NotPublisher(address caller);
    error VersionExists(string name, string version);
    error UnknownParent(string name, string version);
    error UnknownVersion(string name, string version);
    error EmptyField(string field);

    function register(Release calldata release) external {
        if (bytes(release.name).length == 0) revert EmptyField("name");
        if (bytes(release.version).length == 0) revert EmptyField("version");
        if (release.manifestDigest == bytes32(0)) revert EmptyField("manifestDigest");
        bytes32 nameHash = keccak256(bytes(release.name));
        address publisher = publisherOf[nameHash];
        if (publisher == address(0)) {
            publisherOf[nameHash] = msg.sender;
            emit ModelClaimed(nameHash, release.name, msg.sender);
        } else if (msg.sender != publisher && !isDelegate[nameHash][msg.sender]) {
            revert NotPublisher(msg.sender);
        }
        bytes32 versionHash = keccak256(bytes(release.version));
        if (positionOf[nameHash][versionHash] != 0) revert VersionExists(release.name, release.version);
        if (bytes(release.parentName).length != 0) {
            bytes32 parentHash = keccak256(bytes(release.parentName));
            if (positionOf[parentHash][keccak256(bytes(release.parentVersion))] == 0)
                revert UnknownParent(release.parentName, release.parentVersion);
        }
        Version storage stored = versionsOf[nameHash].push();
        stored.version = release.version;
        stored.manifestDigest = release.manifestDigest;
        stored.packageCid = release.packageCid;
        stored.vkDigest = release.vkDigest;
        stored.verifier = release.verifier;
        stored.vk = release.vk;
        stored.publisher = msg.sender;
        stored.parentName = release.parentName;
        stored.parentVersion = release.parentVersion;
        stored.registeredAt = uint64(block.timestamp);
        positionOf[nameHash][versionHash] = versionsOf[nameHash].length;
        emit VersionRegistered(nameHash, msg.sender, release);
    }

    function setDelegate(string calldata name, address delegate, bool allowed) external {
        bytes32 nameHash = keccak256(bytes(name));
        if (msg.sender != publisherOf[nameHash]) revert NotPublisher(msg.sender);
        isDelegate[nameHash][delegate] = allowed;
        emit DelegateSet(nameHash, delegate, allowed);
    }

    function versionCount(string calldata name) external view returns (uint256) {
        return versionsOf[keccak256(bytes(name))].length;
    }

    function versionAt(string calldata name, uint256 index) external view returns (Version memory) {
        return versionsOf[keccak256(bytes(name))][index];
    }

    function getVersion(string calldata name, string calldata version) external view returns (Version memory) {
        bytes32 nameHash = keccak256(bytes(name));
        uint256 position = positionOf[nameHash][keccak256(bytes(version))];
        if (position == 0) revert UnknownVersion(name, version);
        return versionsOf[nameHash][position - 1];
    }
}
