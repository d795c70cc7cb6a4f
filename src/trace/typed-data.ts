import { keccak_256 } from '@noble/hashes/sha3.js'
import { concatBytes, fromHex, utf8ToBytes } from '../crypto/bytes.js'
import { addressWord, uint256 } from '../identity/agent-domain.js'

/**
 * The EIP-712 structs a Verity agent signs. They hold only fixed-size fields (and one string),
 * so a Solidity contract can rebuild the digest with `abi.encode` and check the signer with
 * `ecrecover`; arbitrary JSON is never EIP-712-encoded: it is committed to by `entryHash`.
 */

/** EIP-712 types of a trace entry signature, in the shape ethers' `signTypedData` takes. */
export const TRACE_ENTRY_TYPES = {
  TraceEntry: [
    { name: 'seq', type: 'uint64' },
    { name: 'prevHash', type: 'bytes32' },
    { name: 'entryHash', type: 'bytes32' },
  ],
}

/** EIP-712 types of a checkpoint signature. */
export const CHECKPOINT_TYPES = {
  Checkpoint: [
    { name: 'origin', type: 'string' },
    { name: 'size', type: 'uint64' },
    { name: 'root', type: 'bytes32' },
  ],
}

/** EIP-712 types of the new key's consent in a `key-rotation` entry. */
export const KEY_ROTATION_TYPES = {
  KeyRotation: [
    { name: 'previousAgent', type: 'address' },
    { name: 'nextAgent', type: 'address' },
    { name: 'seq', type: 'uint64' },
    { name: 'prevHash', type: 'bytes32' },
  ],
}

const TRACE_ENTRY_TYPE_HASH = keccak_256(utf8ToBytes('TraceEntry(uint64 seq,bytes32 prevHash,bytes32 entryHash)'))
const CHECKPOINT_TYPE_HASH = keccak_256(utf8ToBytes('Checkpoint(string origin,uint64 size,bytes32 root)'))
const KEY_ROTATION_TYPE_HASH = keccak_256(
  utf8ToBytes('KeyRotation(address previousAgent,address nextAgent,uint64 seq,bytes32 prevHash)'),
)

/** The signed fields of a trace entry. */
export type TraceEntryMessage = {
  seq: number
  /** `0x` + 64 hex: the previous entry's hash (zeros for seq 0). */
  prevHash: string
  /** `0x` + 64 hex: SHA-256 of the entry's canonical header. */
  entryHash: string
}

/**
 * `hashStruct(TraceEntry)`.
 *
 * @example
 * ```ts
 * traceEntryStructHash({ seq: 0, prevHash: ZERO_HASH, entryHash })
 * ```
 */
export function traceEntryStructHash(message: TraceEntryMessage): Uint8Array {
  return keccak_256(
    concatBytes(
      TRACE_ENTRY_TYPE_HASH,
      uint256(message.seq),
      fromHex(message.prevHash, 'prevHash'),
      fromHex(message.entryHash, 'entryHash'),
    ),
  )
}

/** The signed fields of a checkpoint. */
export type CheckpointMessage = { origin: string; size: number; root: string }

/**
 * `hashStruct(Checkpoint)`.
 *
 * @example
 * ```ts
 * checkpointStructHash({ origin, size: 256, root })
 * ```
 */
export function checkpointStructHash(message: CheckpointMessage): Uint8Array {
  return keccak_256(
    concatBytes(
      CHECKPOINT_TYPE_HASH,
      keccak_256(utf8ToBytes(message.origin)),
      uint256(message.size),
      fromHex(message.root, 'root'),
    ),
  )
}

/** The fields the next key signs in a `key-rotation` entry. */
export type KeyRotationMessage = { previousAgent: string; nextAgent: string; seq: number; prevHash: string }

/**
 * `hashStruct(KeyRotation)`.
 *
 * @example
 * ```ts
 * keyRotationStructHash({ previousAgent, nextAgent, seq, prevHash })
 * ```
 */
export function keyRotationStructHash(message: KeyRotationMessage): Uint8Array {
  return keccak_256(
    concatBytes(
      KEY_ROTATION_TYPE_HASH,
      addressWord(message.previousAgent),
      addressWord(message.nextAgent),
      uint256(message.seq),
      fromHex(message.prevHash, 'prevHash'),
    ),
  )
}
