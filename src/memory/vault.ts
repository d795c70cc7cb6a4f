import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import type { Guard, Stanza } from '../access/guard.js'
import { randomBytes } from '../crypto/random.js'
import {
  AccessDeniedError,
  IntegrityError,
  InvalidInputError,
  InvalidStateError,
  NotFoundError,
  VerityError,
  WrongKeyError,
} from '../errors.js'
import { writeFileAtomicAsync } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { lanceDbIndexFactory } from './default-index.js'
import { matchesFilter, type VectorIndexFactory } from './exact-index.js'
import { writeSnapshotStream } from './index-snapshot-files.js'
import type { JsonValue, MemoryOperation, MemoryRecord, Provenance } from './record.js'
import { decodeOperations, decodeSnapshot, encodeOperations, encodeSnapshot } from './segment-codec.js'
import { type OpenSegmentParameters, openSegment, openSegmentChunks, type SegmentKind, sealSegment } from './segment-file.js'
import { assertSameEmbedder, canEmbed, type EmbedderDescription, toEmbedding } from './vault-embedder.js'
import {
  hashSegmentFile,
  makeFolder,
  readCommit,
  readSegmentBytes,
  removeUnreferencedFiles,
  segmentPath,
  writeSegmentBytesDurably,
} from './vault-files.js'
import {
  COMMIT_FILE,
  encodeCommit,
  newId,
  openKeyring,
  SEGMENTS_FOLDER,
  type SegmentEntry,
  type SnapshotEntry,
  sealKeyring,
  VAULT_FORMAT,
  VAULT_FORMAT_VERSION,
  type VaultHeader,
  type VaultManifest,
  type VaultWriter,
  verifyCommitMac,
} from './vault-format.js'
import { acquireVaultLock, type VaultLock } from './vault-lock.js'
import { checkVaultState, defaultVaultStateFolder, type ObservedVaultState, recordVaultState } from './vault-state.js'
import { newWriterKey, splitStanzaPayload, verifyCommitSignature, writerPublicKey } from './vault-writer-key.js'
import type { IndexSnapshotReader, SearchFilter, SearchMode, VectorIndex } from './vector-index.js'

/** A progress event of a long vault operation (decrypting segments, indexing). */
export type VaultProgress = (event: { phase: string; done: number; total: number }) => void

/** Records per segment written by compaction and rotation. */
const COMPACT_SEGMENT_RECORDS = 8192
/** Small segments (fewer operations than this) at the tail are merged once there are more than {@link MERGE_TAIL_AFTER}. */
const SMALL_SEGMENT_OPERATIONS = 4096
const MERGE_TAIL_AFTER = 32
/** Records indexed per `upsert` call when rebuilding. */
const INDEX_BATCH = 4096

// ---------------------------------------------------------------------------------------
// Input schemas
// ---------------------------------------------------------------------------------------

const guardSchema = z.custom<Guard>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    (value as Guard).specificationVersion === 'v1' &&
    typeof (value as Guard).kind === 'string' &&
    typeof (value as Guard).wrap === 'function' &&
    typeof (value as Guard).unwrap === 'function',
  { message: "expected a Guard (specificationVersion 'v1', kind, wrap, unwrap), e.g. passphraseGuard({ passphrase })" },
)
const embedderSchema = z.custom<EmbedderDescription>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as EmbedderDescription).id === 'string' &&
    (value as EmbedderDescription).id.length > 0 &&
    Number.isInteger((value as EmbedderDescription).dimension) &&
    (value as EmbedderDescription).dimension >= 1 &&
    (value as EmbedderDescription).dimension <= 65536,
  { message: 'expected an embedder with a string id and an integer dimension in [1, 65536]' },
)
const indexFactorySchema = z.custom<VectorIndexFactory>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as VectorIndexFactory).id === 'string' &&
    typeof (value as VectorIndexFactory).open === 'function',
  { message: 'expected a VectorIndexFactory ({ id, open })' },
)
const progressSchema = z.custom<VaultProgress>((value) => typeof value === 'function', { message: 'expected a function' })

const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'ids may use letters, digits and . _ : @ -')
const namespaceSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@/-]+$/, 'namespaces may use letters, digits and . _ : @ / -')
/** True for JSON data (what `z.json()` accepts), checked without per-node parser overhead (hot in batch adds). */
function isJsonValue(value: unknown, depth: number): boolean {
  if (value === null) return true
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object': {
      if (depth > 64) return false
      if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1))
      const prototype = Object.getPrototypeOf(value)
      if (prototype !== Object.prototype && prototype !== null) return false
      for (const key of Object.keys(value)) if (!isJsonValue((value as Record<string, unknown>)[key], depth + 1)) return false
      return true
    }
    default:
      return false
  }
}
const metadataSchema = z.custom<Record<string, JsonValue>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).every((key) => key.length <= 256) &&
    isJsonValue(value, 0),
  {
    message:
      'expected a JSON object (keys up to 256 characters; values: strings, finite numbers, booleans, null, arrays, objects)',
  },
)
const vectorSchema = z.union([z.instanceof(Float32Array), z.array(z.number())])
const provenanceSchema = z
  .object({
    traceEntry: z.string().max(256).optional(),
    receipt: z.string().max(256).optional(),
    source: z.string().max(2048).optional(),
  })
  .strict()

const createSchema = z
  .object({
    path: z.string().min(1),
    guards: z.array(guardSchema).min(1, 'at least one guard must be able to open the vault'),
    embedder: embedderSchema,
    index: indexFactorySchema.optional(),
    snapshotThreshold: z.number().int().min(0).optional(),
    stateFolder: z.string().min(1).optional(),
  })
  .strict()
const openSchema = z
  .object({
    path: z.string().min(1),
    guards: z.array(guardSchema).min(1, 'pass the guard(s) that can open the vault'),
    embedder: embedderSchema.optional(),
    index: indexFactorySchema.optional(),
    readOnly: z.boolean().optional(),
    onProgress: progressSchema.optional(),
    snapshotThreshold: z.number().int().min(0).optional(),
    stateFolder: z.string().min(1).optional(),
  })
  .strict()
const addItemSchema = z
  .object({
    id: idSchema.optional(),
    text: z.string().max(1 << 20),
    embedding: vectorSchema.optional(),
    metadata: metadataSchema.optional(),
    namespace: namespaceSchema.optional(),
    provenance: provenanceSchema.optional(),
  })
  .strict()
const addSchema = z.union([addItemSchema, z.array(addItemSchema).min(1).max(1_000_000)])
const updateSchema = z
  .object({
    id: idSchema,
    text: z
      .string()
      .max(1 << 20)
      .optional(),
    embedding: vectorSchema.optional(),
    metadata: metadataSchema.optional(),
    namespace: namespaceSchema.optional(),
    provenance: provenanceSchema.optional(),
  })
  .strict()
const deleteSchema = z.union([idSchema, z.array(idSchema).min(1)])
const listSchema = z
  .object({
    namespace: namespaceSchema.optional(),
    metadata: metadataSchema.optional(),
    limit: z.number().int().min(1).max(100_000).optional(),
    cursor: z.string().regex(/^\d+$/).optional(),
  })
  .strict()
const searchSchema = z
  .object({
    query: z
      .string()
      .max(1 << 16)
      .optional(),
    vector: vectorSchema.optional(),
    k: z.number().int().min(1).max(10_000).optional(),
    mode: z.enum(['vector', 'text', 'hybrid']).optional(),
    namespace: namespaceSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .refine((value) => value.query !== undefined || value.vector !== undefined, 'pass `query` (text) or `vector`')
const revokeSchema = z.object({ guards: z.array(guardSchema).min(1, 'pass the guards that keep access') }).strict()
const rotateSchema = z.object({ guards: z.array(guardSchema).min(1).optional() }).strict()
const grantOptionsSchema = z.object({ write: z.boolean().optional() }).strict()

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
  embedder: { id: string; dimension: number }
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

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

function isEmptyFolder(path: string): boolean {
  return !existsSync(path) || readdirSync(path).length === 0
}

type UnlockedKeys = { dataKey: Uint8Array; writerSeed: Uint8Array | undefined; unlockedBy: Guard }

/** Unwraps the current data key (and, from a writer's stanza, the writer seed) with the first guard that can; writer stanzas first. */
async function unlockDataKey(header: VaultHeader, keyId: string, guards: readonly Guard[], where: string): Promise<UnlockedKeys> {
  const context = { vaultId: header.vaultId, keyId }
  const failures: unknown[] = []
  const kinds = new Set(guards.map((guard) => guard.kind))
  const writers = new Set((header.writer?.recipients ?? []).map(recipientKey))
  const ordered = [...header.stanzas].sort((a, b) => Number(writers.has(recipientKey(b))) - Number(writers.has(recipientKey(a))))
  for (const stanza of ordered) {
    if (stanza.keyId !== keyId) continue
    for (const guard of guards) {
      if (guard.kind !== stanza.kind) continue
      try {
        return { ...splitStanzaPayload(await guard.unwrap(stanza, context)), unlockedBy: guard }
      } catch (error) {
        failures.push(error)
      }
    }
  }
  const denied = failures.find((error) => error instanceof AccessDeniedError)
  if (denied && failures.every((error) => error instanceof AccessDeniedError)) throw denied
  const only = failures.length === 1 ? failures[0] : undefined
  if (only instanceof WrongKeyError)
    throw new WrongKeyError(only.shortMessage, {
      details: `${where}: ${only.details ?? 'the offered key does not open this vault'}`,
      hint: only.hint,
      docsPath: only.docsPath ?? 'vault-format.md',
      cause: only,
    })
  if (only instanceof VerityError) throw only
  throw new WrongKeyError(failures.length ? 'None of the offered keys opens this vault' : 'No offered guard matches this vault', {
    details: `${where}: stanzas ${header.stanzas.map((stanza) => `${stanza.kind}:${stanza.recipient}`).join(', ')}; offered guards: ${[...kinds].join(', ')}`,
    hint: failures.length
      ? 'Check the passphrase (VERITY_PASSPHRASE) or offer a guard that was granted access.'
      : `Offer a guard of kind ${[...new Set(header.stanzas.map((stanza) => stanza.kind))].join(' or ')}.`,
    docsPath: 'vault-format.md',
    cause: failures[0],
  })
}

/** How writer recipients are compared: kind and recipient. */
function recipientKey(entry: { kind: string; recipient: string }): string {
  return `${entry.kind}\u0000${entry.recipient}`
}

/** What a verified commit tells the rollback state. */
function observedState(header: VaultHeader, manifest: VaultManifest): ObservedVaultState {
  return {
    vaultId: header.vaultId,
    sequence: manifest.sequence,
    keyEpoch: manifest.keyEpoch ?? 0,
    formatVersion: header.formatVersion,
    writerPublicKey: header.writer?.publicKey ?? null,
  }
}

/** What {@link openSegment} needs for a manifest entry: its file bytes (read now unless given), size-checked, and its key. */
function segmentToOpen(
  folder: string,
  entry: SegmentEntry,
  kind: SegmentKind,
  keys: ReadonlyMap<string, Uint8Array>,
  vaultId: string,
  prefetched?: Uint8Array | undefined,
): OpenSegmentParameters {
  const dataKey = keys.get(entry.keyId)
  if (!dataKey)
    throw new IntegrityError('Segment is encrypted under an unknown key', {
      details: `${folder}: segment ${entry.id} uses key ${entry.keyId}, which is neither current nor in the keyring`,
      docsPath: 'vault-format.md',
    })
  const bytes = prefetched ?? readSegmentBytes(folder, entry)
  const where = segmentPath(folder, entry.digest)
  if (bytes.length !== entry.bytes)
    throw new IntegrityError(bytes.length < entry.bytes ? 'Segment file is truncated' : 'Segment file has the wrong size', {
      details: `${where}: ${bytes.length} bytes, the manifest says ${entry.bytes} (segment ${entry.id})`,
      hint: 'The segment was truncated, extended or replaced; restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
    })
  return {
    bytes,
    expected: { kind, vaultId, segmentId: entry.id, sequence: entry.sequence, keyId: entry.keyId, digest: entry.digest },
    dataKey,
    where,
    // AES-GCM over every chunk (header as associated data, per-segment key) authenticates the whole file.
    verifyDigest: false,
  }
}

function decodeSegment(
  folder: string,
  entry: SegmentEntry,
  kind: SegmentKind,
  keys: ReadonlyMap<string, Uint8Array>,
  vaultId: string,
): Uint8Array {
  return openSegment(segmentToOpen(folder, entry, kind, keys, vaultId))
}

/**
 * The stored index snapshot as a reader the index factory restores from: `writeFiles` decrypts
 * the segment chunk by chunk straight into the index's folder, `readFiles` into memory.
 * `failure()` is the typed error a read of it threw (a failed check of the stored snapshot:
 * tampering), so the vault can tell that apart from an index failing to load authentic files.
 */
function snapshotSegmentReader(
  folder: string,
  entry: SnapshotEntry,
  keys: ReadonlyMap<string, Uint8Array>,
  vaultId: string,
  prefetched: Uint8Array | undefined,
): { reader: IndexSnapshotReader; failure: () => unknown } {
  let bytes = prefetched
  let failure: unknown
  const checked = <T>(read: (segment: OpenSegmentParameters) => T): T => {
    try {
      const segment = segmentToOpen(folder, entry, 'index-snapshot', keys, vaultId, bytes)
      bytes = undefined // read again if asked twice; do not pin hundreds of megabytes
      return read(segment)
    } catch (error) {
      if (error instanceof VerityError) failure ??= error
      throw error
    }
  }
  const reader: IndexSnapshotReader = {
    sequence: entry.sequence,
    readFiles: () =>
      checked((segment) => {
        const snapshot = decodeSnapshot(openSegment(segment), entry.digest)
        if (snapshot.sequence !== entry.sequence)
          throw new IntegrityError('Index snapshot reflects another state than the manifest says', {
            details: `${segment.where}: the snapshot says sequence ${snapshot.sequence}, the manifest ${entry.sequence}`,
            docsPath: 'vault-format.md',
          })
        return snapshot.files
      }),
    writeFiles: (directory) =>
      checked((segment) =>
        writeSnapshotStream({ chunks: openSegmentChunks(segment), directory, sequence: entry.sequence, where: segment.where }),
      ),
  }
  return { reader, failure: () => failure }
}

/** Checks a segment file against the manifest (size and SHA-256) without decrypting it. */
function verifySegmentFile(folder: string, entry: SegmentEntry, hashed?: { size: number; digest: string } | undefined): void {
  const { size, digest } = hashed ?? hashSegmentFile(folder, entry)
  const where = segmentPath(folder, entry.digest)
  if (size !== entry.bytes || digest !== entry.digest)
    throw new IntegrityError(
      size < entry.bytes ? 'Segment file is truncated' : 'Segment file does not match its manifest digest',
      {
        details: `${where}: ${size} bytes (manifest: ${entry.bytes}); segment ${entry.id}`,
        hint: 'The segment was modified, truncated or replaced; restore the vault from an export or backup.',
        docsPath: 'vault-format.md',
      },
    )
}

/** Makes the index entries of `ids` equal the records: removed where the record is gone, else upserted. */
async function resyncIndex(
  index: VectorIndex,
  records: ReadonlyMap<string, MemoryRecord>,
  ids: readonly string[],
): Promise<void> {
  const removed = ids.filter((id) => !records.has(id))
  if (removed.length) await index.remove(removed)
  const present = ids.flatMap((id) => {
    const record = records.get(id)
    return record ? [record] : []
  })
  for (let start = 0; start < present.length; start += INDEX_BATCH) await index.upsert(present.slice(start, start + INDEX_BATCH))
}

function applyOperation(records: Map<string, MemoryRecord>, operation: MemoryOperation): void {
  if (operation.type === 'put') {
    records.delete(operation.record.id) // keep Map order = last write order
    records.set(operation.record.id, operation.record)
  } else records.delete(operation.id)
}

/** A deep copy of JSON data (metadata), much cheaper than `structuredClone` for small objects. */
function cloneJson(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(cloneJson)
  const out: { [key: string]: JsonValue } = {}
  for (const key of Object.keys(value)) {
    const copy = cloneJson(value[key] as JsonValue)
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true })
    else out[key] = copy
  }
  return out
}

function copyRecord(record: MemoryRecord): MemoryRecord {
  return copyRecords([record], record.embedding.length)[0] as MemoryRecord
}

/** Copies of many records, their embeddings sharing one fresh buffer (one allocation, not one per record). */
function copyRecords(records: readonly MemoryRecord[], dimension: number): MemoryRecord[] {
  const buffer = new Float32Array(records.length * dimension)
  return records.map((record, position) => {
    const embedding = buffer.subarray(position * dimension, (position + 1) * dimension)
    embedding.set(record.embedding)
    return {
      ...record,
      embedding,
      metadata: cloneJson(record.metadata) as Record<string, JsonValue>,
      ...(record.provenance ? { provenance: { ...record.provenance } } : {}),
    }
  })
}

// ---------------------------------------------------------------------------------------
// The open vault
// ---------------------------------------------------------------------------------------

type SessionState = {
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

class VaultSession implements Vault {
  private closed = false
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly state: SessionState) {}

  get path(): string {
    return this.state.folder
  }
  get vaultId(): string {
    return this.state.header.vaultId
  }

  info(): VaultInfo {
    const { state } = this
    return {
      path: state.folder,
      vaultId: state.header.vaultId,
      formatVersion: state.header.formatVersion,
      embedder: { ...state.header.embedder },
      sequence: state.manifest.sequence,
      keyId: state.manifest.keyId,
      segments: state.manifest.segments.length,
      records: state.records.size,
      readOnly: state.lock === undefined,
      keyEpoch: state.manifest.keyEpoch ?? 0,
      writerPublicKey: state.header.writer?.publicKey,
      indexSource: state.indexSource,
    }
  }

  private assertOpen(): void {
    if (this.closed)
      throw new InvalidStateError('The vault is closed', { details: this.state.folder, hint: 'Open it again with openVault.' })
  }

  private assertWritable(): void {
    this.assertOpen()
    if (!this.state.lock)
      throw new InvalidStateError('The vault is open read-only', {
        details: this.state.folder,
        hint: 'Open it without `readOnly` to write (this takes the writer lock).',
      })
  }

  /** Runs writes one at a time. */
  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run)
    this.queue = next.catch(() => undefined)
    return next
  }

  private get currentKey(): Uint8Array {
    return this.state.keys.get(this.state.manifest.keyId) as Uint8Array
  }

  /** Seals a segment (encryption on the thread pool) and writes it durably under its content address. */
  private async writeSegment(
    kind: SegmentKind,
    plaintext: Uint8Array,
    sequence: number,
    operations: number,
  ): Promise<SegmentEntry> {
    const { state } = this
    const id = newId()
    const keyId = state.manifest.keyId
    const { pieces, length, digest } = await sealSegment({
      kind,
      vaultId: state.header.vaultId,
      segmentId: id,
      sequence,
      keyId,
      dataKey: this.currentKey,
      plaintext,
    })
    await writeSegmentBytesDurably(state.folder, digest, pieces)
    return { id, digest, kind, sequence, keyId, operations, bytes: length }
  }

  /**
   * The commit point: writes the signed commit file durably; only then does the new state become
   * current and is remembered in this machine's rollback state.
   */
  private async commit(
    manifest: VaultManifest,
    header: VaultHeader = this.state.header,
    dataKey: Uint8Array = this.currentKey,
    writerSeed: Uint8Array | undefined = this.state.writerSeed,
  ): Promise<void> {
    const data = encodeCommit({ header, manifest, dataKey, writerSeed })
    await writeFileAtomicAsync({ path: join(this.state.folder, COMMIT_FILE), data })
    const writerChanged = header.writer?.publicKey !== this.state.header.writer?.publicKey
    this.state.header = header
    this.state.manifest = manifest
    this.state.writerSeed = writerSeed
    try {
      recordVaultState({
        folder: this.state.stateFolder,
        observed: observedState(header, manifest),
        replaceWriter: writerChanged,
      })
    } catch {
      // The commit is durable; a state folder that cannot be written only weakens the next rollback check.
    }
  }

  private async embedMissing(items: readonly { text: string; embedding?: Float32Array | number[] | undefined }[], what: string) {
    const recorded = this.state.header.embedder
    const dimension = recorded.dimension
    // One buffer for the whole batch: per-record typed-array allocations dominate large batches.
    const buffer = new Float32Array(items.length * dimension)
    const slot = (position: number) => buffer.subarray(position * dimension, (position + 1) * dimension)
    const missing: number[] = []
    const vectors: Float32Array[] = new Array(items.length)
    for (let position = 0; position < items.length; position++) {
      const embedding = (items[position] as { embedding?: Float32Array | number[] | undefined }).embedding
      if (embedding === undefined) missing.push(position)
      else vectors[position] = toEmbedding(embedding, recorded, `${what}[${position}].embedding`, slot(position))
    }
    if (missing.length) {
      const embedder = this.state.embedder
      if (!canEmbed(embedder))
        throw new InvalidInputError('No embedder to embed text', {
          details: `${missing.length} item(s) have no embedding and the vault was opened without an embedder that can embed (recorded: '${recorded.id}')`,
          hint: `Pass \`embedder\` (id '${recorded.id}') to openVault, or pass \`embedding\` with each memory.`,
        })
      const embedded = await embedder.embedDocuments(missing.map((position) => (items[position] as { text: string }).text))
      missing.forEach((position, offset) => {
        vectors[position] = toEmbedding(
          embedded[offset] ?? [],
          recorded,
          `embedding of ${what}[${position}].text`,
          slot(position),
        )
      })
    }
    return vectors
  }

  add(memory: AddMemory): Promise<MemoryRecord>
  add(memories: AddMemory[]): Promise<MemoryRecord[]>
  async add(input: AddMemory | AddMemory[]): Promise<MemoryRecord | MemoryRecord[]> {
    this.assertWritable()
    const parsed = parseInput(addSchema, input, {
      what: 'vault.add input',
      hint: 'Pass { text, metadata?, namespace?, embedding?, id? } or an array of them.',
      docsPath: 'vault-format.md',
    })
    const items = Array.isArray(parsed) ? parsed : [parsed]
    const seen = new Set<string>()
    for (const item of items)
      if (item.id !== undefined) {
        if (seen.has(item.id)) throw new InvalidInputError('Duplicate id in one batch', { details: `id '${item.id}'` })
        seen.add(item.id)
      }
    const vectors = await this.embedMissing(items, 'add')
    const records = await this.exclusive(async () => {
      this.assertWritable()
      for (const id of seen)
        if (this.state.records.has(id))
          throw new InvalidInputError('A memory with this id already exists', {
            details: `id '${id}' in ${this.state.folder}`,
            hint: 'Use vault.update to change it, or omit `id` to get a fresh one.',
          })
      const now = Date.now()
      const out: MemoryRecord[] = items.map((item, position) => ({
        id: item.id ?? newId(),
        text: item.text,
        embedding: vectors[position] as Float32Array,
        metadata: item.metadata ? (cloneJson(item.metadata) as Record<string, JsonValue>) : {},
        namespace: item.namespace ?? 'default',
        createdAt: now,
        updatedAt: now,
        ...(item.provenance ? { provenance: item.provenance } : {}),
      }))
      await this.writeOperations(out.map((record) => ({ type: 'put', record })))
      return out
    })
    const copies = copyRecords(records, this.state.header.embedder.dimension)
    return Array.isArray(input) ? copies : (copies[0] as MemoryRecord)
  }

  /**
   * Writes one operations segment and commits it, applying the operations to the search index
   * at the same time (the index works on its own threads while the segment and commit files are
   * fsynced); then applies them to the records. Caller holds the queue.
   *
   * The index may briefly be ahead of the records (searches skip hits with no committed record).
   * If the commit fails, or the index fails after the commit, the touched ids are marked stale
   * and re-synced from the records before the next search or snapshot: the index never stays
   * out of step with what is committed.
   */
  private async writeOperations(operations: MemoryOperation[]): Promise<void> {
    const { state } = this
    const sequence = state.manifest.sequence + 1
    const plaintext = encodeOperations(operations, state.header.embedder.dimension)
    const puts: MemoryRecord[] = []
    const removes: string[] = []
    for (const operation of operations)
      if (operation.type === 'put') puts.push(operation.record)
      else removes.push(operation.id)
    // The segment is encrypted on the thread pool (started first) while this thread converts the
    // batch for the search index; then the segment's fsync overlaps the index's native write.
    const sealing = this.writeSegment('operations', plaintext, sequence, operations.length)
    sealing.catch(() => undefined) // awaited below
    const indexing = (async () => {
      if (removes.length) await state.index.remove(removes)
      if (puts.length) await state.index.upsert(puts)
    })().then(
      () => undefined,
      (error: unknown) => error ?? new Error('index update failed'),
    )
    let committed = false
    try {
      const entry = await sealing
      await this.commit({
        ...state.manifest,
        sequence,
        updatedAt: Date.now(),
        segments: [...state.manifest.segments, entry],
      })
      committed = true
      for (const operation of operations) applyOperation(state.records, operation)
      state.operationsSinceSnapshot += operations.length
    } finally {
      const indexError = await indexing
      if (!committed || indexError !== undefined)
        for (const operation of operations) state.staleIds.add(operation.type === 'put' ? operation.record.id : operation.id)
    }
    // The write is committed: from here on it must be reported as done. Merging the tail is
    // housekeeping; if it fails (a full disk, an unreadable older segment) nothing of this write is
    // lost and the merge is tried again after the next write.
    try {
      await this.mergeTail()
    } catch {
      // left for the next write (or compact) to merge
    }
  }

  /** Re-applies records whose index entries may be wrong (after a failed write) before the index is read. */
  private async syncIndex(): Promise<void> {
    const { state } = this
    if (state.staleIds.size === 0) return
    const ids = [...state.staleIds]
    await resyncIndex(state.index, state.records, ids)
    for (const id of ids) state.staleIds.delete(id)
  }

  /** Merges a long tail of small segments into one, so single adds do not grow the manifest without bound. */
  private async mergeTail(): Promise<void> {
    const { state } = this
    const segments = state.manifest.segments
    let start = segments.length
    while (start > 0 && (segments[start - 1] as SegmentEntry).operations < SMALL_SEGMENT_OPERATIONS) start--
    if (segments.length - start <= MERGE_TAIL_AFTER) return
    const tail = segments.slice(start)
    const latest = new Map<string, MemoryOperation>()
    for (const entry of tail)
      for (const operation of decodeOperations(
        decodeSegment(state.folder, entry, 'operations', state.keys, state.header.vaultId),
        state.header.embedder.dimension,
        entry.digest,
      )) {
        const id = operation.type === 'put' ? operation.record.id : operation.id
        latest.delete(id)
        latest.set(id, operation)
      }
    const operations = [...latest.values()]
    const sequence = Math.max(...tail.map((entry) => entry.sequence))
    const merged = await this.writeSegment(
      'operations',
      encodeOperations(operations, state.header.embedder.dimension),
      sequence,
      operations.length,
    )
    await this.commit({
      ...state.manifest,
      sequence: state.manifest.sequence + 1,
      updatedAt: Date.now(),
      segments: [...segments.slice(0, start), merged],
    })
    this.removeGarbage()
  }

  private removeGarbage(): void {
    const { manifest, folder } = this.state
    const referenced = new Set(manifest.segments.map((entry) => entry.digest))
    if (manifest.snapshot) referenced.add(manifest.snapshot.digest)
    removeUnreferencedFiles(folder, referenced)
  }

  get(id: string): MemoryRecord | undefined {
    this.assertOpen()
    const parsed = parseInput(idSchema, id, { what: 'vault.get id' })
    const record = this.state.records.get(parsed)
    return record ? copyRecord(record) : undefined
  }

  async update(memory: UpdateMemory): Promise<MemoryRecord> {
    this.assertWritable()
    const parsed = parseInput(updateSchema, memory, {
      what: 'vault.update input',
      hint: 'Pass { id, text?, metadata?, namespace?, embedding? }.',
    })
    const existing = this.state.records.get(parsed.id)
    if (!existing) throw this.notFound(parsed.id)
    let embedding = existing.embedding
    if (parsed.embedding !== undefined) embedding = toEmbedding(parsed.embedding, this.state.header.embedder, 'update.embedding')
    else if (parsed.text !== undefined && parsed.text !== existing.text)
      embedding = ((await this.embedMissing([{ text: parsed.text }], 'update')) as Float32Array[])[0] as Float32Array
    return this.exclusive(async () => {
      this.assertWritable()
      const current = this.state.records.get(parsed.id)
      if (!current) throw this.notFound(parsed.id)
      const provenance = parsed.provenance ?? current.provenance
      const record: MemoryRecord = {
        id: current.id,
        text: parsed.text ?? current.text,
        embedding,
        metadata: parsed.metadata ? (cloneJson(parsed.metadata) as Record<string, JsonValue>) : current.metadata,
        namespace: parsed.namespace ?? current.namespace,
        createdAt: current.createdAt,
        updatedAt: Math.max(Date.now(), current.updatedAt),
        ...(provenance ? { provenance } : {}),
      }
      await this.writeOperations([{ type: 'put', record }])
      return copyRecord(record)
    })
  }

  private notFound(id: string): NotFoundError {
    return new NotFoundError('No memory with this id', {
      details: `id '${id}' in ${this.state.folder}`,
      hint: 'List ids with vault.list() or `verity vault list DIR`.',
      meta: { id },
    })
  }

  async delete(ids: string | string[]): Promise<{ deleted: string[] }> {
    this.assertWritable()
    const parsed = parseInput(deleteSchema, ids, { what: 'vault.delete ids' })
    const list = [...new Set(Array.isArray(parsed) ? parsed : [parsed])]
    return this.exclusive(async () => {
      this.assertWritable()
      for (const id of list) if (!this.state.records.has(id)) throw this.notFound(id)
      const now = Date.now()
      await this.writeOperations(
        list.map((id) => ({
          type: 'delete',
          id,
          namespace: (this.state.records.get(id) as MemoryRecord).namespace,
          deletedAt: now,
        })),
      )
      return { deleted: list }
    })
  }

  list(parameters: ListParameters = {}): ListReturnType {
    this.assertOpen()
    const parsed = parseInput(listSchema, parameters, { what: 'vault.list parameters' })
    const filter: SearchFilter = {
      namespace: parsed.namespace,
      metadata: parsed.metadata as Record<string, JsonValue> | undefined,
    }
    const matching = [...this.state.records.values()]
      .filter((record) => matchesFilter(record, filter))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const start = parsed.cursor ? Number(parsed.cursor) : 0
    const limit = parsed.limit ?? 100
    const page = matching.slice(start, start + limit).map(copyRecord)
    return {
      records: page,
      total: matching.length,
      ...(start + limit < matching.length ? { nextCursor: String(start + limit) } : {}),
    }
  }

  async search(parameters: SearchParameters): Promise<SearchResult[]> {
    this.assertOpen()
    const parsed = parseInput(searchSchema, parameters, {
      what: 'vault.search parameters',
      hint: 'Pass { query } or { vector }, optionally k, mode, namespace, metadata.',
    })
    const recorded = this.state.header.embedder
    const embedder = this.state.embedder
    const mode: SearchMode = parsed.mode ?? (parsed.vector !== undefined || canEmbed(embedder) ? 'vector' : 'text')
    let vector: Float32Array | undefined
    if (mode !== 'text') {
      if (parsed.vector !== undefined) vector = toEmbedding(parsed.vector, recorded, 'search.vector')
      else if (canEmbed(embedder) && parsed.query !== undefined)
        vector = toEmbedding(await embedder.embedQuery(parsed.query), recorded, 'embedding of search.query')
      else
        throw new InvalidInputError(`${mode} search needs a vector`, {
          details: `no \`vector\` given and no embedder to embed the query (recorded: '${recorded.id}')`,
          hint: `Pass \`vector\`, open the vault with its embedder '${recorded.id}', or use mode 'text'.`,
        })
    }
    if (mode !== 'vector' && parsed.query === undefined)
      throw new InvalidInputError(`${mode} search needs query text`, { hint: 'Pass `query`.' })
    const k = parsed.k ?? 10
    if (this.state.staleIds.size) await this.exclusive(() => this.syncIndex())
    this.assertOpen()
    const hits = await this.state.index.search({
      vector,
      text: parsed.query,
      k,
      mode,
      filter: { namespace: parsed.namespace, metadata: parsed.metadata as Record<string, JsonValue> | undefined },
    })
    const out: SearchResult[] = []
    for (const hit of hits) {
      const record = this.state.records.get(hit.id)
      if (record)
        out.push({
          record: copyRecord(record),
          score: hit.score,
          ...(hit.distance !== undefined ? { distance: hit.distance } : {}),
        })
    }
    return out
  }

  /** Writes all live records into fresh segments under the current key; optionally with a new header. */
  private async rewriteAll(header: VaultHeader = this.state.header, keyring?: VaultManifest['keyring']): Promise<number> {
    const { state } = this
    const records = [...state.records.values()]
    const sequence = state.manifest.sequence
    const segments: SegmentEntry[] = []
    for (let start = 0; start < records.length; start += COMPACT_SEGMENT_RECORDS) {
      const chunk = records.slice(start, start + COMPACT_SEGMENT_RECORDS).map((record) => ({ type: 'put' as const, record }))
      segments.push(
        await this.writeSegment('operations', encodeOperations(chunk, header.embedder.dimension), sequence, chunk.length),
      )
    }
    const snapshot = await this.writeSnapshot(sequence)
    await this.commit(
      {
        ...state.manifest,
        sequence: sequence + 1,
        updatedAt: Date.now(),
        segments,
        snapshot,
        keyring: keyring ?? state.manifest.keyring.filter((entry) => segments.some((segment) => segment.keyId === entry.keyId)),
      },
      header,
    )
    for (const keyId of [...state.keys.keys()])
      if (keyId !== state.manifest.keyId && !state.manifest.keyring.some((entry) => entry.keyId === keyId)) {
        state.keys.get(keyId)?.fill(0)
        state.keys.delete(keyId)
      }
    state.operationsSinceSnapshot = 0
    this.removeGarbage()
    return segments.length
  }

  private async writeSnapshot(sequence: number): Promise<SnapshotEntry> {
    const { state } = this
    await this.syncIndex()
    const snapshot = await state.index.snapshot(sequence)
    const entry = await this.writeSegment('index-snapshot', encodeSnapshot(snapshot), sequence, state.records.size)
    return { ...entry, indexId: state.indexFactory.id }
  }

  async compact(): Promise<{ segmentsBefore: number; segmentsAfter: number; records: number }> {
    this.assertWritable()
    return this.exclusive(async () => {
      this.assertWritable()
      const segmentsBefore = this.state.manifest.segments.length
      const segmentsAfter = await this.rewriteAll()
      return { segmentsBefore, segmentsAfter, records: this.state.records.size }
    })
  }

  grants(): Grant[] {
    this.assertOpen()
    const writers = new Set((this.state.header.writer?.recipients ?? []).map(recipientKey))
    return this.state.header.stanzas.map((stanza) => ({
      kind: stanza.kind,
      recipient: stanza.recipient,
      keyId: stanza.keyId,
      version: stanza.version,
      write: writers.has(recipientKey(stanza)),
    }))
  }

  /** The stanza payload for a recipient: the data key (reader) or data key || writer seed (writer). */
  private payload(dataKey: Uint8Array, writerSeed: Uint8Array | undefined): Uint8Array {
    if (!writerSeed) return dataKey
    const out = new Uint8Array(64)
    out.set(dataKey, 0)
    out.set(writerSeed, 32)
    return out
  }

  async grant(guard: Guard, options: GrantOptions = {}): Promise<Grant> {
    this.assertWritable()
    const parsed = parseInput(guardSchema, guard, { what: 'vault.grant guard' })
    const { write = false } = parseInput(grantOptionsSchema, options, { what: 'vault.grant options' })
    return this.exclusive(async () => {
      this.assertWritable()
      const { state } = this
      const writer = state.header.writer
      const stanza = await parsed.wrap(this.payload(this.currentKey, write ? state.writerSeed : undefined), {
        vaultId: state.header.vaultId,
        keyId: state.manifest.keyId,
      })
      if (state.header.stanzas.some((existing) => existing.kind === stanza.kind && existing.recipient === stanza.recipient))
        throw new InvalidInputError('This recipient already has access', {
          details: `${stanza.kind}:${stanza.recipient}`,
          hint: 'Revoke it first to replace its stanza.',
        })
      const header: VaultHeader = {
        ...state.header,
        stanzas: [...state.header.stanzas, stanza],
        ...(writer && write
          ? { writer: { ...writer, recipients: [...writer.recipients, { kind: stanza.kind, recipient: stanza.recipient }] } }
          : {}),
      }
      await this.commit({ ...state.manifest, sequence: state.manifest.sequence + 1, updatedAt: Date.now() }, header)
      return { kind: stanza.kind, recipient: stanza.recipient, keyId: stanza.keyId, version: stanza.version, write }
    })
  }

  /**
   * Wraps a new data key for `guards`: writers (their kind and recipient are in `writerRecipients`)
   * get data key || writer seed, everyone else the data key. Returns the stanzas and the writer section.
   */
  private async wrapForAll(
    guards: readonly Guard[],
    dataKey: Uint8Array,
    keyId: string,
    writerSeed: Uint8Array,
    writerRecipients: ReadonlySet<string>,
  ): Promise<{ stanzas: Stanza[]; writer: VaultWriter }> {
    const context = { vaultId: this.state.header.vaultId, keyId }
    const stanzas: Stanza[] = []
    const writers: VaultWriter['recipients'] = []
    for (const guard of guards) {
      let stanza = await guard.wrap(dataKey, context)
      if (stanzas.some((existing) => recipientKey(existing) === recipientKey(stanza))) continue
      if (writerRecipients.has(recipientKey(stanza))) {
        stanza = await guard.wrap(this.payload(dataKey, writerSeed), context)
        writers.push({ kind: stanza.kind, recipient: stanza.recipient })
      }
      stanzas.push(stanza)
    }
    if (writers.length === 0)
      throw new InvalidInputError('None of the remaining guards can write', {
        details: `writers: ${[...writerRecipients].map((key) => key.replace('\u0000', ':')).join(', ') || 'none'}`,
        hint: 'Include the guard of at least one writer (e.g. your own) among the guards that keep access.',
        docsPath: 'access.md',
      })
    return { stanzas, writer: { publicKey: writerPublicKey(writerSeed), recipients: writers } }
  }

  private currentWriterRecipients(): Set<string> {
    return new Set((this.state.header.writer?.recipients ?? []).map(recipientKey))
  }

  async revoke(recipient: string, parameters: { guards: Guard[] }): Promise<{ keyId: string }> {
    this.assertWritable()
    const who = parseInput(z.string().min(1).max(512), recipient, { what: 'vault.revoke recipient' })
    const { guards } = parseInput(revokeSchema, parameters, {
      what: 'vault.revoke parameters',
      hint: 'Pass the guards of everyone who keeps access: { guards: [...] }.',
    })
    return this.exclusive(async () => {
      this.assertWritable()
      const { state } = this
      if (!state.header.stanzas.some((stanza) => stanza.recipient === who))
        throw new NotFoundError('No grant for this recipient', {
          details: `'${who}'; grants: ${state.header.stanzas.map((stanza) => stanza.recipient).join(', ')}`,
          hint: 'List grants with vault.grants().',
        })
      const keyId = newId()
      const dataKey = randomBytes(32)
      const writers = this.currentWriterRecipients()
      // A revoked writer knows the writer seed: the writer key changes too (machines that pinned it are told).
      const revokedWriter = [...writers].some((key) => key.endsWith(`\u0000${who}`))
      for (const key of [...writers]) if (key.endsWith(`\u0000${who}`)) writers.delete(key)
      const writerSeed = revokedWriter ? newWriterKey().seed : (state.writerSeed as Uint8Array)
      const { stanzas, writer } = await this.wrapForAll(guards, dataKey, keyId, writerSeed, writers)
      if (stanzas.some((stanza) => stanza.recipient === who))
        throw new InvalidInputError('A remaining guard is the revoked recipient', {
          details: `'${who}'`,
          hint: 'Pass only the guards that keep access.',
        })
      const oldKeys = new Map([...state.keys].filter(([id]) => id !== keyId))
      const keyring = sealKeyring({ keys: oldKeys, currentKey: dataKey, vaultId: state.header.vaultId })
      await this.commit(
        {
          ...state.manifest,
          sequence: state.manifest.sequence + 1,
          keyEpoch: (state.manifest.keyEpoch ?? 0) + 1,
          updatedAt: Date.now(),
          keyId,
          keyring,
        },
        { ...state.header, stanzas, writer },
        dataKey,
        writerSeed,
      )
      state.keys.set(keyId, dataKey)
      state.guards = [...guards]
      return { keyId }
    })
  }

  async rotate(parameters: { guards?: Guard[] | undefined } = {}): Promise<{ keyId: string; segments: number }> {
    this.assertWritable()
    const parsed = parseInput(rotateSchema, parameters, { what: 'vault.rotate parameters' })
    return this.exclusive(async () => {
      this.assertWritable()
      const { state } = this
      const guards = parsed.guards ?? state.guards
      const keyId = newId()
      const dataKey = randomBytes(32)
      const { stanzas, writer } = await this.wrapForAll(
        guards,
        dataKey,
        keyId,
        state.writerSeed as Uint8Array,
        this.currentWriterRecipients(),
      )
      const previous = state.manifest
      // Write under the new key; the commit makes it current.
      state.keys.set(keyId, dataKey)
      state.manifest = { ...previous, keyId, keyEpoch: (previous.keyEpoch ?? 0) + 1 }
      let segments: number
      try {
        segments = await this.rewriteAll({ ...state.header, stanzas, writer }, [])
      } catch (error) {
        state.manifest = previous
        state.keys.delete(keyId)
        throw error
      }
      for (const [id, key] of [...state.keys])
        if (id !== keyId) {
          key.fill(0)
          state.keys.delete(id)
        }
      state.guards = [...guards]
      return { keyId, segments }
    })
  }

  /**
   * Upgrades a format-1 vault on its first writable open: a new writer key, the stanza that opened
   * it rewrapped as a writer's (data key || writer seed), other stanzas left as readers', and a
   * signed format-2 commit. Called by {@link openVault}.
   */
  async upgradeFromVersion1(): Promise<void> {
    return this.exclusive(async () => {
      const { state } = this
      const guard = state.unlockedBy
      if (state.header.formatVersion !== 1 || !guard) return
      const writerKey = newWriterKey()
      const keyId = state.manifest.keyId
      const stanza = await guard.wrap(this.payload(this.currentKey, writerKey.seed), { vaultId: state.header.vaultId, keyId })
      const stanzas = state.header.stanzas.map((existing) =>
        existing.keyId === keyId && recipientKey(existing) === recipientKey(stanza) ? stanza : existing,
      )
      if (!stanzas.includes(stanza)) stanzas.push(stanza)
      await this.commit(
        { ...state.manifest, sequence: state.manifest.sequence + 1, keyEpoch: 0, updatedAt: Date.now() },
        {
          ...state.header,
          formatVersion: 2,
          stanzas,
          writer: { publicKey: writerKey.publicKey, recipients: [{ kind: stanza.kind, recipient: stanza.recipient }] },
        },
        this.currentKey,
        writerKey.seed,
      )
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.queue
    const { state } = this
    try {
      if (state.lock && state.operationsSinceSnapshot >= state.snapshotThreshold && state.operationsSinceSnapshot > 0) {
        const snapshot = await this.writeSnapshot(state.manifest.sequence)
        await this.commit({ ...state.manifest, sequence: state.manifest.sequence + 1, updatedAt: Date.now(), snapshot })
        this.removeGarbage()
      }
    } finally {
      this.closed = true
      await state.index.close()
      for (const key of state.keys.values()) key.fill(0)
      state.keys.clear()
      state.records.clear()
      state.lock?.release()
    }
  }
}

// ---------------------------------------------------------------------------------------
// Create and open
// ---------------------------------------------------------------------------------------

/**
 * Creates an empty vault: a random 32-byte data key wrapped by every guard, the embedder's id
 * and dimension in the header, and a first commit. The folder must not exist or be empty.
 *
 * @example
 * ```ts
 * const vault = await createVault({
 *   path: './memory',
 *   guards: [passphraseGuard({ passphrase: process.env.VERITY_PASSPHRASE! })],
 *   embedder,
 * })
 * await vault.add({ text: 'The user prefers tea', metadata: { topic: 'preferences' } })
 * await vault.close()
 * ```
 */
export async function createVault(parameters: CreateVaultParameters): CreateVaultReturnType {
  const parsed = parseInput(createSchema, parameters, {
    what: 'createVault parameters',
    hint: 'Pass { path, guards: [passphraseGuard({ passphrase })], embedder }.',
    docsPath: 'vault-format.md',
  })
  const folder = resolve(parsed.path)
  if (!isEmptyFolder(folder))
    throw new InvalidInputError('The vault folder is not empty', {
      details: folder,
      hint: 'Choose a new folder; to open an existing vault use openVault.',
    })
  makeFolder(join(folder, SEGMENTS_FOLDER))
  const lock = acquireVaultLock(folder)
  try {
    const vaultId = newId()
    const keyId = newId()
    const dataKey = randomBytes(32)
    const writerKey = newWriterKey()
    // The creator's guards are writers: each stanza wraps data key || writer seed.
    const payload = new Uint8Array(64)
    payload.set(dataKey, 0)
    payload.set(writerKey.seed, 32)
    const stanzas: Stanza[] = []
    for (const guard of parsed.guards) stanzas.push(await guard.wrap(payload, { vaultId, keyId }))
    payload.fill(0)
    const header: VaultHeader = {
      format: VAULT_FORMAT,
      formatVersion: VAULT_FORMAT_VERSION,
      vaultId,
      createdAt: Date.now(),
      embedder: { id: parsed.embedder.id, dimension: parsed.embedder.dimension },
      stanzas,
      writer: {
        publicKey: writerKey.publicKey,
        recipients: stanzas.map((stanza) => ({ kind: stanza.kind, recipient: stanza.recipient })),
      },
    }
    const manifest: VaultManifest = {
      sequence: 0,
      keyEpoch: 0,
      keyId,
      updatedAt: Date.now(),
      keyring: [],
      segments: [],
      snapshot: null,
    }
    const stateFolder = parsed.stateFolder ?? defaultVaultStateFolder()
    await writeFileAtomicAsync({
      path: join(folder, COMMIT_FILE),
      data: encodeCommit({ header, manifest, dataKey, writerSeed: writerKey.seed }),
    })
    recordVaultState({ folder: stateFolder, observed: observedState(header, manifest) })
    const indexFactory = parsed.index ?? lanceDbIndexFactory
    const index = await indexFactory.open({ dimension: header.embedder.dimension })
    return new VaultSession({
      folder,
      header,
      manifest,
      keys: new Map([[keyId, dataKey]]),
      writerSeed: writerKey.seed,
      stateFolder,
      records: new Map(),
      index,
      indexFactory,
      indexSource: 'new',
      operationsSinceSnapshot: 0,
      staleIds: new Set(),
      snapshotThreshold: parsed.snapshotThreshold ?? 1000,
      guards: [...parsed.guards],
      embedder: parsed.embedder,
      lock,
    })
  } catch (error) {
    lock.release()
    rmSync(join(folder, COMMIT_FILE), { force: true })
    throw error
  }
}

/** The snapshot file's bytes and the digests of the segments it covers, read ahead of the key. */
type SnapshotPrefetch = { bytes: Uint8Array; hashes: Map<string, { size: number; digest: string }> }

async function prefetchSnapshot(
  folder: string,
  manifest: VaultManifest,
  snapshotEntry: SnapshotEntry,
): Promise<SnapshotPrefetch | undefined> {
  // Let the guard reach its off-thread work (scrypt) before this thread gets busy.
  await new Promise((resolve) => setImmediate(resolve))
  try {
    const hashes = new Map<string, { size: number; digest: string }>()
    for (const entry of manifest.segments)
      if (entry.sequence <= snapshotEntry.sequence) hashes.set(entry.digest, hashSegmentFile(folder, entry))
    return { bytes: readSegmentBytes(folder, snapshotEntry), hashes }
  } catch {
    return undefined
  }
}

type LoadedState = Omit<SessionState, 'lock' | 'snapshotThreshold' | 'guards' | 'embedder' | 'indexFactory' | 'staleIds'>

async function loadVault(
  folder: string,
  guards: readonly Guard[],
  indexFactory: VectorIndexFactory,
  onProgress: VaultProgress | undefined,
  embedder: EmbedderDescription | undefined,
  stateFolder: string,
): Promise<LoadedState> {
  const where = join(folder, COMMIT_FILE)
  const document = readCommit(folder)
  const { header, manifest } = document
  const snapshotEntry = manifest.snapshot
  const useSnapshot = snapshotEntry !== null && snapshotEntry.indexId === indexFactory.id
  // Before any expensive guard work (scrypt, a wallet, the Lit network): refuse a commit older than
  // this machine saw, and check the signature. Once the writer key is pinned here, that signature
  // authenticates the stanzas' public parameters (a scrypt cost raised by an attacker is refused
  // before it is spent).
  checkVaultState({ folder: stateFolder, observed: observedState(header, manifest), where })
  if (header.formatVersion >= 2) verifyCommitSignature(document as Parameters<typeof verifyCommitSignature>[0], where)
  const unlocking = unlockDataKey(header, manifest.keyId, guards, where)
  unlocking.catch(() => undefined) // awaited below, after the prefetch
  // While the guard works (scrypt on the thread pool, a wallet or the Lit network), read the
  // snapshot and hash the segments it covers: neither needs the key, and both are compared with
  // the manifest only after its MAC has been verified. A failure here is left for the checks
  // below to report in their usual order (a wrong key first).
  const prefetched = useSnapshot ? await prefetchSnapshot(folder, manifest, snapshotEntry) : undefined
  const { dataKey, writerSeed, unlockedBy } = await unlocking
  verifyCommitMac(document, dataKey, where)
  if (document.header.formatVersion >= 2) {
    if (writerSeed && writerPublicKey(writerSeed) !== header.writer?.publicKey)
      throw new IntegrityError('The writer key in your stanza does not match the vault header', {
        details: `${where}: the header names writer ${header.writer?.publicKey}`,
        hint: 'The header was replaced by someone else; restore the vault from an export or backup.',
        docsPath: 'vault-format.md',
        meta: { reason: 'writer-key' },
      })
  }
  if (embedder) assertSameEmbedder({ recorded: header.embedder, offered: embedder, where: folder })
  const keys = openKeyring({ keyring: manifest.keyring, currentKey: dataKey, vaultId: header.vaultId, where })
  keys.set(manifest.keyId, dataKey)
  const dimension = header.embedder.dimension
  const records = new Map<string, MemoryRecord>()
  let index: VectorIndex | undefined
  let indexSource: VaultInfo['indexSource'] = 'rebuild'
  /** Segments with a sequence up to this are already in the records (taken from the restored snapshot). */
  let coveredSequence = -1
  /** Segments with a sequence up to this have been checked against the manifest already. */
  let verifiedSequence = -1
  if (useSnapshot) {
    const { reader, failure } = snapshotSegmentReader(folder, snapshotEntry, keys, header.vaultId, prefetched?.bytes)
    const opening = indexFactory.open({ dimension, snapshot: reader }).then(
      (opened) => opened,
      () => {
        // A snapshot that fails its checks (decryption, format) was tampered with: say so.
        if (failure()) throw failure()
        return undefined // an authentic snapshot this index build cannot load (e.g. an older index version): rebuild below
      },
    )
    // Check the segments the snapshot covers against the manifest; if its records cannot be
    // used, they are decrypted below anyway. The restore is always awaited (and an index it opened
    // closed) before a failed check is reported: a rejection left behind would kill the process.
    let checkFailure: { error: unknown } | undefined
    try {
      for (const entry of manifest.segments)
        if (entry.sequence <= snapshotEntry.sequence) verifySegmentFile(folder, entry, prefetched?.hashes.get(entry.digest))
    } catch (error) {
      checkFailure = { error }
    }
    const restored = await opening.then(
      (opened) => ({ opened }),
      (error: unknown) => ({ opened: undefined, error }),
    )
    if (checkFailure) {
      await restored.opened?.close().catch(() => undefined)
      throw checkFailure.error
    }
    if ('error' in restored) throw restored.error
    verifiedSequence = snapshotEntry.sequence
    index = restored.opened
    if (index) indexSource = 'snapshot'
    if (index?.readRecords) {
      try {
        for (const record of await index.readRecords()) records.set(record.id, record)
        coveredSequence = snapshotEntry.sequence
      } catch {
        records.clear() // decode every segment below instead
      }
    }
  }
  const touched = new Set<string>()
  try {
    const total = manifest.segments.length
    onProgress?.({ phase: 'decrypt', done: 0, total })
    manifest.segments.forEach((entry, position) => {
      if (entry.sequence <= coveredSequence) {
        // Its operations are in the snapshot's records: only check the file is the one the manifest names.
        if (entry.sequence > verifiedSequence) verifySegmentFile(folder, entry)
      } else {
        const operations = decodeOperations(
          decodeSegment(folder, entry, 'operations', keys, header.vaultId),
          dimension,
          entry.digest,
        )
        const replay = indexSource === 'snapshot' && entry.sequence > (snapshotEntry as SnapshotEntry).sequence
        for (const operation of operations) {
          applyOperation(records, operation)
          if (replay) touched.add(operation.type === 'put' ? operation.record.id : operation.id)
        }
      }
      onProgress?.({ phase: 'decrypt', done: position + 1, total })
    })
    if (index && touched.size) await resyncIndex(index, records, [...touched])
    if (!index) {
      index = await indexFactory.open({ dimension })
      const all = [...records.values()]
      onProgress?.({ phase: 'index', done: 0, total: all.length })
      for (let start = 0; start < all.length; start += INDEX_BATCH) {
        await index.upsert(all.slice(start, start + INDEX_BATCH))
        onProgress?.({ phase: 'index', done: Math.min(all.length, start + INDEX_BATCH), total: all.length })
      }
    }
  } catch (error) {
    // Never leave an index (its tmpfs folder holds plaintext) behind a failed open.
    await index?.close().catch(() => undefined)
    throw error
  }
  return {
    folder,
    header,
    manifest,
    keys,
    writerSeed,
    unlockedBy,
    stateFolder,
    records,
    index,
    indexSource,
    operationsSinceSnapshot: useSnapshot && indexSource === 'snapshot' ? touched.size : records.size,
  }
}

/**
 * Opens a vault: unwraps the data key with the first guard that can, checks the manifest MAC,
 * decrypts and checks every segment, and restores the search index from its encrypted
 * snapshot (replaying newer segments) or rebuilds it. Takes the writer lock unless `readOnly`.
 *
 * @example
 * ```ts
 * const vault = await openVault({ path: './memory', guards: [passphraseGuard({ passphrase })], embedder })
 * const hits = await vault.search({ query: 'what does the user drink?', k: 5 })
 * await vault.close()
 * ```
 */
export async function openVault(parameters: OpenVaultParameters): OpenVaultReturnType {
  const parsed = parseInput(openSchema, parameters, {
    what: 'openVault parameters',
    hint: 'Pass { path, guards: [passphraseGuard({ passphrase })], embedder? }.',
    docsPath: 'vault-format.md',
  })
  const folder = resolve(parsed.path)
  const indexFactory = parsed.index ?? lanceDbIndexFactory
  const stateFolder = parsed.stateFolder ?? defaultVaultStateFolder()
  readCommit(folder) // a named NotFoundError before anything is created in a folder that is no vault
  const lock = parsed.readOnly ? undefined : acquireVaultLock(folder)
  try {
    let loaded: LoadedState | undefined
    // A read-only open may race a writer's compaction that deletes superseded segments: retry.
    for (let attempt = 0; !loaded; attempt++) {
      try {
        loaded = await loadVault(folder, parsed.guards, indexFactory, parsed.onProgress, parsed.embedder, stateFolder)
      } catch (error) {
        const missing = error instanceof IntegrityError && error.meta?.missing !== undefined
        if (!lock && missing && attempt < 3) continue
        throw error
      }
    }
    recordVaultState({ folder: stateFolder, observed: observedState(loaded.header, loaded.manifest) })
    if (lock && !loaded.writerSeed && loaded.header.formatVersion >= 2) {
      await loaded.index.close()
      throw new AccessDeniedError('These guards can read this vault but not write it', {
        details: `${folder}: the stanza they open is a reader's (no writer key)`,
        hint: 'Open it with `readOnly: true` (CLI: commands that only read), or ask a writer to grant({ write: true }).',
        docsPath: 'access.md',
        meta: { reason: 'reader' },
      })
    }
    if (lock) removeUnreferencedFilesOf(loaded)
    const session = new VaultSession({
      ...loaded,
      indexFactory,
      staleIds: new Set(),
      snapshotThreshold: parsed.snapshotThreshold ?? 1000,
      guards: [...parsed.guards],
      embedder: parsed.embedder,
      lock,
    })
    if (lock && loaded.header.formatVersion === 1)
      try {
        await session.upgradeFromVersion1()
      } catch (error) {
        await session.close().catch(() => undefined)
        throw error
      }
    return session
  } catch (error) {
    lock?.release()
    throw error
  }
}

function removeUnreferencedFilesOf(loaded: LoadedState): void {
  const referenced = new Set(loaded.manifest.segments.map((entry) => entry.digest))
  if (loaded.manifest.snapshot) referenced.add(loaded.manifest.snapshot.digest)
  removeUnreferencedFiles(loaded.folder, referenced)
}
