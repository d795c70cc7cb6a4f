import { LANCEDB_INDEX_ID, openLanceDbIndex } from './lancedb-index.js'
import type { VectorIndexFactory } from './vector-index.js'

/**
 * The vault's default search index: LanceDB (embedded) in a private tmpfs folder, with an
 * approximate vector index (HNSW) on large vaults and full-text search. Its snapshots are
 * LanceDB's own files, which the vault encrypts and stores.
 *
 * @example
 * ```ts
 * const vault = await openVault({ path, guards, embedder, index: lanceDbIndexFactory })
 * ```
 */
export const lanceDbIndexFactory: VectorIndexFactory = {
  id: LANCEDB_INDEX_ID,
  open: (parameters) => openLanceDbIndex({ dimension: parameters.dimension, snapshot: parameters.snapshot }),
}
