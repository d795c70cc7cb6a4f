import { join } from 'node:path'
import type { Guard } from '../access/guard.js'
import { InvalidInputError, InvalidStateError, NotFoundError } from '../errors.js'
import { writeFileAtomicAsync } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { matchesFilter } from './exact-index.js'
import type { JsonValue, MemoryOperation, MemoryRecord } from './record.js'
import { decodeOperations, encodeOperations, encodeSnapshot } from './segment-codec.js'
import { type SegmentKind, sealSegment } from './segment-file.js'
import { canEmbed, toEmbedding } from './vault-embedder.js'
import { removeUnreferencedFiles, writeSegmentBytesDurably } from './vault-files.js'
import {
  COMMIT_FILE,
  encodeCommit,
  newId,
  type SegmentEntry,
  type SnapshotEntry,
  type VaultHeader,
  type VaultManifest,
} from './vault-format.js'
import { addSchema, deleteSchema, idSchema, listSchema, searchSchema, updateSchema } from './vault-input.js'
import { grantAccess, listGrants, revokeAccess, rotateKey, upgradeFromVersion1 } from './vault-keys.js'
import { applyOperation, cloneJson, copyRecord, copyRecords, decodeSegment, observedState, resyncIndex } from './vault-load.js'
import type { SessionState } from './vault-session-state.js'
import { recordVaultState } from './vault-state.js'
import type {
  AddMemory,
  Grant,
  GrantOptions,
  ListParameters,
  ListReturnType,
  SearchParameters,
  SearchResult,
  UpdateMemory,
  Vault,
  VaultInfo,
} from './vault-types.js'
import type { SearchFilter, SearchMode } from './vector-index.js'

/**
 * The open vault ({@link VaultSession}): reads, writes (each one segment and one signed commit),
 * search, compaction and snapshots. Byte-level format: `docs/vault-format.md`.
 */

/** Records per segment written by compaction and rotation. */
const COMPACT_SEGMENT_RECORDS = 8192
/** Small segments (fewer operations than this) at the tail are merged once there are more than {@link MERGE_TAIL_AFTER}. */
const SMALL_SEGMENT_OPERATIONS = 4096
const MERGE_TAIL_AFTER = 32

/**
 * An open vault: CRUD, search, writes and compaction; key management is in `vault-keys.ts`, loading in
 * `vault-load.ts`. Created by `createVault` / `openVault` only.
 */
export class VaultSession implements Vault {
  private closed = false
  private queue: Promise<unknown> = Promise.resolve()

  /** @internal the session state; used by vault-keys.ts */
  constructor(readonly state: SessionState) {}

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

  /** @internal */
  assertOpen(): void {
    if (this.closed)
      throw new InvalidStateError('The vault is closed', { details: this.state.folder, hint: 'Open it again with openVault.' })
  }

  /** @internal */
  assertWritable(): void {
    this.assertOpen()
    if (!this.state.lock)
      throw new InvalidStateError('The vault is open read-only', {
        details: this.state.folder,
        hint: 'Open it without `readOnly` to write (this takes the writer lock).',
      })
  }

  /** Runs writes one at a time. */
  /** @internal */
  exclusive<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run)
    this.queue = next.catch(() => undefined)
    return next
  }

  /** @internal */
  get currentKey(): Uint8Array {
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
  /** @internal */
  async commit(
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
          hint: `Pass \`embedder\` (id '${recorded.id}') to openVault (CLI: --embedder, see embedders.md), or pass \`embedding\` with each memory.`,
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
          hint: `Pass \`vector\`, open the vault with its embedder '${recorded.id}' (CLI: --embedder, see embedders.md), or use mode 'text'.`,
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
  /** @internal */
  async rewriteAll(header: VaultHeader = this.state.header, keyring?: VaultManifest['keyring']): Promise<number> {
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

  /** @internal */
  async writeSnapshot(sequence: number): Promise<SnapshotEntry> {
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
    return listGrants(this)
  }

  grant(guard: Guard, options?: GrantOptions): Promise<Grant> {
    return grantAccess(this, guard, options)
  }

  revoke(recipient: string, parameters: { guards: Guard[] }): Promise<{ keyId: string }> {
    return revokeAccess(this, recipient, parameters)
  }

  rotate(parameters?: { guards?: Guard[] | undefined }): Promise<{ keyId: string; segments: number }> {
    return rotateKey(this, parameters)
  }

  /** Upgrades a format-1 vault on its first writable open (see {@link upgradeFromVersion1}). */
  upgradeFromVersion1(): Promise<void> {
    return upgradeFromVersion1(this)
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
