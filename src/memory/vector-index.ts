import type { JsonValue, MemoryRecord } from './record.js'

/**
 * The contract between the vault (which owns durability and encryption) and its search
 * index (which owns ranking). The index holds plaintext, so it lives only in memory or in a
 * private tmpfs folder; it never writes to persistent disk. To survive close/open without
 * a full rebuild it can export its files as a snapshot, which the vault encrypts and stores.
 */

/** Equality filters on metadata keys (`{ topic: 'billing' }`) and an optional namespace. */
export type SearchFilter = {
  namespace?: string | undefined
  metadata?: Record<string, JsonValue> | undefined
}

export type SearchMode = 'vector' | 'text' | 'hybrid'

export type IndexSearchParameters = {
  /** Query embedding (needed for `vector` and `hybrid`). */
  vector?: Float32Array | undefined
  /** Query text (needed for `text` and `hybrid`). */
  text?: string | undefined
  k: number
  mode: SearchMode
  filter?: SearchFilter | undefined
}

export type IndexHit = {
  id: string
  /** Higher is better; comparable only within one result list. */
  score: number
  /** Cosine distance for vector hits (lower is closer), when known. */
  distance?: number | undefined
}

/** A snapshot of the index: relative file path -> bytes, plus the vault sequence it reflects. */
export type IndexSnapshot = {
  /** Manifest sequence number whose state this snapshot reflects. */
  sequence: number
  files: Map<string, Uint8Array>
}

/**
 * A stored snapshot to restore, decrypted on demand. `writeFiles` decodes the files straight
 * into a folder as they are decrypted (a large snapshot is never held whole in memory);
 * `readFiles` returns them in memory (for indices that live in memory). Both check every byte
 * and throw a typed error on tampering, leaving the caller to discard what was written.
 */
export type IndexSnapshotReader = {
  /** Manifest sequence number whose state this snapshot reflects. */
  sequence: number
  /** Every file of the snapshot: relative path -> bytes. */
  readFiles(): Map<string, Uint8Array>
  /** Writes every file below `directory` (created if missing); returns their relative paths. */
  writeFiles(directory: string): string[]
}

/** The search index of an open vault. */
export interface VectorIndex {
  readonly dimension: number
  /** Inserts or replaces records by id. */
  upsert(records: readonly MemoryRecord[]): Promise<void>
  /** Removes records by id (missing ids are ignored). */
  remove(ids: readonly string[]): Promise<void>
  search(parameters: IndexSearchParameters): Promise<IndexHit[]>
  /** Number of live records. */
  count(): Promise<number>
  /**
   * Optional: every live record, complete (all fields, as upserted). An index that can do this
   * lets the vault take the records of a restored snapshot from it instead of decoding (and
   * holding twice) every segment the snapshot covers.
   */
  readRecords?(): Promise<MemoryRecord[]>
  /** Exports the index files (to be encrypted by the vault). */
  snapshot(sequence: number): Promise<IndexSnapshot>
  /** Releases memory and deletes the tmpfs folder. */
  close(): Promise<void>
}

/** Opens an index for a vault: the vault calls it on open, with the decrypted snapshot when there is one. */
/**
 * @example
 * ```ts
 * const factory: VectorIndexFactory = { id: 'my-index@1', open: async ({ dimension }) => openMyIndex(dimension) }
 * ```
 */
export type VectorIndexFactory = {
  /** Recorded with snapshots, so a snapshot is only restored by the index kind that wrote it. */
  readonly id: string
  open(parameters: { dimension: number; snapshot?: IndexSnapshotReader | undefined }): Promise<VectorIndex>
}
