import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Guard } from '../access/guard.js'
import { AccessDeniedError, IntegrityError, VerityError, WrongKeyError } from '../errors.js'
import { writeSnapshotStream } from './index-snapshot-files.js'
import type { JsonValue, MemoryOperation, MemoryRecord } from './record.js'
import { decodeOperations, decodeSnapshot } from './segment-codec.js'
import { type OpenSegmentParameters, openSegment, openSegmentChunks, type SegmentKind } from './segment-file.js'
import { assertSameEmbedder, type EmbedderDescription, type EmbedderResolver } from './vault-embedder.js'
import { hashSegmentFile, readCommit, readSegmentBytes, removeUnreferencedFiles, segmentPath } from './vault-files.js'
import {
  COMMIT_FILE,
  openKeyring,
  type SegmentEntry,
  type SnapshotEntry,
  type VaultHeader,
  type VaultManifest,
  verifyCommitMac,
} from './vault-format.js'
import type { VaultProgress } from './vault-input.js'
import type { SessionState } from './vault-session-state.js'
import { checkVaultState, type ObservedVaultState } from './vault-state.js'
import type { VaultInfo } from './vault-types.js'
import { splitStanzaPayload, verifyCommitSignature, writerPublicKey } from './vault-writer-key.js'
import type { IndexSnapshotReader, VectorIndex, VectorIndexFactory } from './vector-index.js'

/**
 * Opening a vault: unlocking the data key, checking the commit (rollback state, signature, MAC),
 * restoring the index snapshot and replaying segments. Also the record helpers shared with the session.
 */

/** Records indexed per `upsert` call when rebuilding. */
const INDEX_BATCH = 4096

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

export function isEmptyFolder(path: string): boolean {
  return !existsSync(path) || readdirSync(path).length === 0
}

export type UnlockedKeys = { dataKey: Uint8Array; writerSeed: Uint8Array | undefined; unlockedBy: Guard }

/** Unwraps the current data key (and, from a writer's stanza, the writer seed) with the first guard that can; writer stanzas first. */
export async function unlockDataKey(
  header: VaultHeader,
  keyId: string,
  guards: readonly Guard[],
  where: string,
): Promise<UnlockedKeys> {
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
export function recipientKey(entry: { kind: string; recipient: string }): string {
  return `${entry.kind}\u0000${entry.recipient}`
}

/** What a verified commit tells the rollback state. */
export function observedState(header: VaultHeader, manifest: VaultManifest): ObservedVaultState {
  return {
    vaultId: header.vaultId,
    sequence: manifest.sequence,
    keyEpoch: manifest.keyEpoch ?? 0,
    formatVersion: header.formatVersion,
    writerPublicKey: header.writer?.publicKey ?? null,
  }
}

/** What {@link openSegment} needs for a manifest entry: its file bytes (read now unless given), size-checked, and its key. */
export function segmentToOpen(
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

export function decodeSegment(
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
export function snapshotSegmentReader(
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
export function verifySegmentFile(
  folder: string,
  entry: SegmentEntry,
  hashed?: { size: number; digest: string } | undefined,
): void {
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
export async function resyncIndex(
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

export function applyOperation(records: Map<string, MemoryRecord>, operation: MemoryOperation): void {
  if (operation.type === 'put') {
    records.delete(operation.record.id) // keep Map order = last write order
    records.set(operation.record.id, operation.record)
  } else records.delete(operation.id)
}

/** A deep copy of JSON data (metadata), much cheaper than `structuredClone` for small objects. */
export function cloneJson(value: JsonValue): JsonValue {
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

export function copyRecord(record: MemoryRecord): MemoryRecord {
  return copyRecords([record], record.embedding.length)[0] as MemoryRecord
}

/** Copies of many records, their embeddings sharing one fresh buffer (one allocation, not one per record). */
export function copyRecords(records: readonly MemoryRecord[], dimension: number): MemoryRecord[] {
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

export type LoadedState = Omit<
  SessionState,
  'lock' | 'snapshotThreshold' | 'guards' | 'embedder' | 'indexFactory' | 'staleIds'
> & {
  /** The embedder offered, or the one the resolver made from the authenticated header. */
  embedder: EmbedderDescription | undefined
}

export async function loadVault(
  folder: string,
  guards: readonly Guard[],
  indexFactory: VectorIndexFactory,
  onProgress: VaultProgress | undefined,
  offeredEmbedder: EmbedderDescription | EmbedderResolver | undefined,
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
  // A resolver runs only now, on an authenticated header: a forged spec never decides what is loaded.
  const embedder = typeof offeredEmbedder === 'function' ? await offeredEmbedder({ ...header.embedder }) : offeredEmbedder
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
    embedder,
    operationsSinceSnapshot: useSnapshot && indexSource === 'snapshot' ? touched.size : records.size,
  }
}

export function removeUnreferencedFilesOf(loaded: LoadedState): void {
  const referenced = new Set(loaded.manifest.segments.map((entry) => entry.digest))
  if (loaded.manifest.snapshot) referenced.add(loaded.manifest.snapshot.digest)
  removeUnreferencedFiles(loaded.folder, referenced)
}
