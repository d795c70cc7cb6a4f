import type { Guard } from '../access/guard.js'
import type { MemoryRecord } from './record.js'
import type { EmbedderDescription } from './vault-embedder.js'
import type { VaultHeader, VaultManifest } from './vault-format.js'
import type { VaultLock } from './vault-lock.js'
import type { VaultInfo } from './vault-types.js'
import type { VectorIndex, VectorIndexFactory } from './vector-index.js'

/**
 * The state of an open vault, and what key management needs from a session ({@link KeyHost}):
 * types only, so `vault-session.ts`, `vault-load.ts` and `vault-keys.ts` depend on this file
 * instead of on each other.
 */

export type SessionState = {
  folder: string
  header: VaultHeader
  manifest: VaultManifest
  /** key id -> data key; includes the current one. */
  keys: Map<string, Uint8Array>
  /** The writer key's seed (undefined when opened by a reader: read-only). */
  writerSeed: Uint8Array | undefined
  /** Rollback state folder of this machine. */
  stateFolder: string
  /** The guard whose stanza opened the vault (undefined for a vault just created). */
  unlockedBy?: Guard | undefined
  records: Map<string, MemoryRecord>
  index: VectorIndex
  indexFactory: VectorIndexFactory
  indexSource: VaultInfo['indexSource']
  operationsSinceSnapshot: number
  snapshotThreshold: number
  guards: Guard[]
  embedder: EmbedderDescription | undefined
  lock: VaultLock | undefined
  /** Ids whose index entries may differ from the records (a write failed half-way); re-synced before the index is read. */
  staleIds: Set<string>
}

/** What `vault-keys.ts` uses of an open vault (implemented by `VaultSession`). */
export interface KeyHost {
  readonly state: SessionState
  assertOpen(): void
  assertWritable(): void
  exclusive<T>(run: () => Promise<T>): Promise<T>
  readonly currentKey: Uint8Array
  commit(manifest: VaultManifest, header?: VaultHeader, dataKey?: Uint8Array, writerSeed?: Uint8Array | undefined): Promise<void>
  rewriteAll(header?: VaultHeader, keyring?: VaultManifest['keyring']): Promise<number>
}
