import type { Guard } from '../access/guard.js'
import { lanceDbIndexFactory } from './default-index.js'
import type { JsonValue, MemoryRecord, Provenance } from './record.js'
import type { EmbedderDescription, EmbedderResolver, RecordedEmbedder } from './vault-embedder.js'
import type { VaultProgress } from './vault-input.js'
import type { SearchMode, VectorIndexFactory } from './vector-index.js'

/** Public types of the vault API. */

// ---------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------

export type CreateVaultParameters = {
  /** Folder to create (must not exist or be empty). */
  path: string
  /** Guards that can open the vault; each wraps the data key in a header stanza. */
  guards: Guard[]
  /** The embedder (or just its `id` and `dimension` when callers always pass vectors). */
  embedder: EmbedderDescription
  /** Search index (default: LanceDB in a private tmpfs folder, {@link lanceDbIndexFactory}). */
  index?: VectorIndexFactory | undefined
  /** Write an encrypted index snapshot on close once this many operations were applied since the last one (default 1000). */
  snapshotThreshold?: number | undefined
  /** Where this machine remembers each vault's last sequence, key epoch and writer key (default `$VERITY_VAULT_STATE` or `~/.verity/vault-state`). */
  stateFolder?: string | undefined
}
export type CreateVaultReturnType = Promise<Vault>

export type OpenVaultParameters = {
  path: string
  /** Guards to try against the header's stanzas (first that opens one wins). */
  guards: Guard[]
  /** Must match the embedder recorded in the header; needed to add or search by text. */
  embedder?: EmbedderDescription | undefined
  /**
   * Without `embedder`: makes the embedder from what the header records (id, dimension, spec), called
   * once the header is authenticated; e.g. `(recorded) => resolveEmbedder({ recorded })`.
   */
  embedderResolver?: EmbedderResolver | undefined
  index?: VectorIndexFactory | undefined
  /** Open without the writer lock; writes throw `InvalidStateError`. */
  readOnly?: boolean | undefined
  onProgress?: VaultProgress | undefined
  snapshotThreshold?: number | undefined
  /** Rollback state folder (see {@link CreateVaultParameters.stateFolder}); a commit older than one seen there is refused. */
  stateFolder?: string | undefined
}
export type OpenVaultReturnType = Promise<Vault>

/** A memory to add. Without `embedding`, `text` is embedded by the vault's embedder. */
export type AddMemory = {
  id?: string | undefined
  text: string
  embedding?: Float32Array | number[] | undefined
  metadata?: Record<string, JsonValue> | undefined
  namespace?: string | undefined
  provenance?: Provenance | undefined
}
export type UpdateMemory = Partial<Omit<AddMemory, 'id'>> & { id: string }
export type ListParameters = {
  namespace?: string | undefined
  /** Metadata equality filter. */
  metadata?: Record<string, JsonValue> | undefined
  /** Page size (default 100). */
  limit?: number | undefined
  /** `nextCursor` of the previous page. */
  cursor?: string | undefined
}
export type ListReturnType = { records: MemoryRecord[]; nextCursor?: string | undefined; total: number }
export type SearchParameters = {
  /** Query text: embedded for `vector`/`hybrid` mode, matched for `text`/`hybrid`. */
  query?: string | undefined
  /** Query vector (instead of embedding `query`). */
  vector?: Float32Array | number[] | undefined
  /** Results to return (default 10). */
  k?: number | undefined
  /** Default `vector` when a vector is available, else `text`. */
  mode?: SearchMode | undefined
  namespace?: string | undefined
  metadata?: Record<string, JsonValue> | undefined
}
export type SearchResult = { record: MemoryRecord; score: number; distance?: number | undefined }
export type Grant = {
  kind: string
  recipient: string
  keyId: string
  version: number
  /** True when the recipient holds the writer key (can commit), false for a reader. */
  write: boolean
}
export type GrantOptions = { /** Also give the writer key (default false: a reader). */ write?: boolean | undefined }
export type VaultInfo = {
  path: string
  vaultId: string
  formatVersion: number
  /** The recorded embedder: id, dimension and (when recorded) its spec. */
  embedder: RecordedEmbedder
  sequence: number
  keyId: string
  segments: number
  records: number
  readOnly: boolean
  /** Grows at every revoke and rotate (0 for a new vault). */
  keyEpoch: number
  /** The writer's Ed25519 public key (hex). */
  writerPublicKey: string | undefined
  /** Where the index came from on open: a restored snapshot (plus replayed segments) or a full rebuild. */
  indexSource: 'snapshot' | 'rebuild' | 'new'
}

/** An open vault. Writes are serialised; each returns once durably committed. */
export type Vault = {
  readonly path: string
  readonly vaultId: string
  info(): VaultInfo
  /** Adds one memory or a batch (one segment, one commit). Returns the stored records. */
  add(memory: AddMemory): Promise<MemoryRecord>
  add(memories: AddMemory[]): Promise<MemoryRecord[]>
  get(id: string): MemoryRecord | undefined
  update(memory: UpdateMemory): Promise<MemoryRecord>
  /** Deletes by id (tombstones). Throws `NotFoundError` (and deletes nothing) if an id is unknown. */
  delete(ids: string | string[]): Promise<{ deleted: string[] }>
  list(parameters?: ListParameters): ListReturnType
  search(parameters: SearchParameters): Promise<SearchResult[]>
  /** Rewrites live records into fresh segments (dropping tombstones and old versions) and snapshots the index. */
  compact(): Promise<{ segmentsBefore: number; segmentsAfter: number; records: number }>
  /** Wraps the current data key for another guard (a reader; with `{ write: true }` also the writer key). */
  grant(guard: Guard, options?: GrantOptions): Promise<Grant>
  grants(): Grant[]
  /** New data key for all later writes, wrapped only for `guards`; older keys stay readable to them. */
  revoke(recipient: string, parameters: { guards: Guard[] }): Promise<{ keyId: string }>
  /** New data key; every segment re-encrypted under it; old keys dropped. */
  rotate(parameters?: { guards?: Guard[] | undefined }): Promise<{ keyId: string; segments: number }>
  close(): Promise<void>
}
