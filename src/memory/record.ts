/**
 * What a vault remembers. A record is plaintext only in memory; on disk it lives inside
 * encrypted segments (see `docs/vault-format.md`).
 */

import type { JsonValue } from '../crypto/canonical-json.js'

export type { JsonValue }

/** Where a memory came from: the trace entry or proof receipt that produced it, or a free-form source. */
export type Provenance = {
  /** `sha256:` hash of the trace entry that wrote this memory. */
  traceEntry?: string | undefined
  /** `sha256:` digest of a proof receipt the memory rests on. */
  receipt?: string | undefined
  /** Free-form origin (an agent name, a file, a URL). */
  source?: string | undefined
}

/** One memory. */
export type MemoryRecord = {
  /** Unique within the vault (caller-chosen or random 32-hex). */
  id: string
  text: string
  /** Embedding of `text`, length = the vault's embedder dimension. */
  embedding: Float32Array
  metadata: Record<string, JsonValue>
  /** Namespace (per agent, per user...); `default` when not given. */
  namespace: string
  /** Milliseconds since the epoch. */
  createdAt: number
  updatedAt: number
  provenance?: Provenance | undefined
}

/** One operation inside a segment: a put (insert or replace) or a tombstone. */
export type MemoryOperation =
  | { type: 'put'; record: MemoryRecord }
  | { type: 'delete'; id: string; namespace: string; deletedAt: number }
