import { type FileHandle, mkdir, open, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Blockstore, InputPair, Pair } from 'interface-blockstore'
import { CID } from 'multiformats/cid'
import { randomId } from '../crypto/random.js'
import { InvalidStateError, NotFoundError, StorageError } from '../errors.js'
import { readRange, writeRange } from '../storage/file-range.js'
import { type IncrementalSync, incrementalSync } from '../storage/incremental-sync.js'
import { checkBlock, checkBlockParallel } from './block-check.js'
import { PACK_INDEX_SUFFIX, PACK_SUFFIX, type PackEntry, readPackIndexes, writePackIndex } from './pack-index.js'
import { workInFlight } from './work-in-flight.js'

/**
 * A blockstore in a folder of pack files. Blocks are written in batches: a batch appends its new
 * blocks to one pack file (`<id>.pack`, the bytes back to back) and, on commit, fsyncs the pack
 * and then writes its index (`<id>.index.json`, atomically). A block exists once its pack's index
 * does: a crash mid-batch leaves a pack with no index, which counts for nothing (and is removed at
 * a later open once stale), never a block with partial bytes. A publish is one batch, so it costs
 * one file's writes and two fsyncs, like copying the package as one file.
 *
 * Blocks are immutable and content-addressed: a batch skips blocks the store already holds, so two
 * package versions that share a file share its blocks (publishing a version that changes one file
 * stores that file only). Every block is checked against its CID on the way out: a pack or index
 * changed on disk yields a refused block, never a wrong one.
 */

/** Positioned writes in flight per batch: the disk works while the caller hashes the next blocks. */
const WRITE_AHEAD = 4
/** A pack with no index this old is the leftover of a crashed batch (a live batch writes often). */
const STALE_PACK_MS = 60 * 60 * 1000

/** Where a block lies: the pack file and the byte range. */
export type BlockLocation = { file: string; offset: number; length: number }

/** Blocks written and blocks found already present, since the store was opened. */
export type BlockCounters = { written: number; present: number; bytesWritten: number }

/**
 * A set of block writes that becomes durable and visible together (`commit`) or not at all
 * (`discard`). Its own blocks are readable before the commit.
 */
export type BlockBatch = {
  /** Stores a block whose CID the caller computed from these very bytes (no second hash). */
  putComputed(cid: CID, bytes: Uint8Array): Promise<CID>
  /** True if the store or this batch holds the block. */
  has(cid: CID): Promise<boolean>
  /** Reads and checks a block of this batch or of the store (`alreadyChecked` as in {@link FolderBlockstore.getBytes}). */
  getBytes(cid: CID, options?: { alreadyChecked?: boolean | undefined }): Promise<Uint8Array>
  /** Makes the batch's blocks durable (pack fsynced, then its index written), then visible to the store. */
  commit(): Promise<void>
  /** Drops the batch: its pack file is removed, none of its blocks ever existed. */
  discard(): Promise<void>
}

/** The `interface-blockstore` contract plus what the hub needs to know about writes. */
export type FolderBlockstore = Blockstore & {
  /** The folder. */
  readonly dir: string
  /** The pack file and byte range of a stored block, or undefined. */
  locate(cid: CID): BlockLocation | undefined
  /**
   * Reads and checks one block (the single-buffer form of `get`). `alreadyChecked: true` skips the
   * hash, for a caller that checked these very blocks against their CIDs as they entered this
   * process moments ago (a pull installing what it just fetched): never for blocks of unknown age.
   */
  getBytes(cid: CID, options?: { alreadyChecked?: boolean | undefined }): Promise<Uint8Array>
  /** Stores a block whose CID the caller computed from these very bytes (the importer): no second hash. */
  putComputed(cid: CID, bytes: Uint8Array): Promise<CID>
  /** Commits the store's own batch (what `put`/`putComputed` wrote since the last flush): durable when it resolves. */
  flush(): Promise<void>
  /** Starts a batch of its own (a pull: committed once the whole package checked out, discarded otherwise). */
  batch(): BlockBatch
  /** Blocks written (new) and blocks already present since this store was opened. */
  readonly counters: BlockCounters
}

export type OpenFolderBlockstoreParameters = { dir: string }
export type OpenFolderBlockstoreReturnType = FolderBlockstore

const keyOf = (cid: CID): string => cid.toV1().toString()

function notFound(cid: CID): NotFoundError {
  return new NotFoundError('Block not in the blockstore', {
    details: cid.toString(),
    hint: 'Pull or import the package that holds it (verity hub pull / hub import).',
    docsPath: 'hub.md',
    meta: { cid: cid.toString() },
  })
}

/**
 * Opens (creating if needed) a folder blockstore.
 *
 * @example
 * ```ts
 * const blocks = await openFolderBlockstore({ dir: join(hubHome, 'blocks') })
 * const bytes = await blocks.getBytes(cid)
 * ```
 */
export async function openFolderBlockstore(parameters: OpenFolderBlockstoreParameters): Promise<OpenFolderBlockstoreReturnType> {
  const { dir } = parameters
  await mkdir(dir, { recursive: true })
  const counters: BlockCounters = { written: 0, present: 0, bytesWritten: 0 }
  /** Committed blocks, by CID string. */
  const located = new Map<string, BlockLocation>()
  /** Committed entries by pack name (for delete, which rewrites one index). */
  const packs = new Map<string, Map<string, PackEntry>>()
  const indexesRead = new Set<string>()

  const addPack = (name: string, entries: PackEntry[]): void => {
    const file = join(dir, `${name}${PACK_SUFFIX}`)
    const own = new Map<string, PackEntry>()
    for (const entry of entries) {
      own.set(entry.cid, entry)
      if (!located.has(entry.cid)) located.set(entry.cid, { file, offset: entry.offset, length: entry.length })
    }
    packs.set(name, own)
    indexesRead.add(`${name}${PACK_INDEX_SUFFIX}`)
  }
  /** Reads indexes committed since the last look (by this process's other stores or other processes). */
  const refresh = async (): Promise<void> => {
    for (const pack of await readPackIndexes({ dir, skip: indexesRead })) addPack(pack.name, pack.entries)
  }
  await refresh()
  // leftovers of crashed batches and atomic writes: packs with no index, temp files; stale ones only
  const now = Date.now()
  for (const name of await readdir(dir)) {
    const orphanPack = name.endsWith(PACK_SUFFIX) && !indexesRead.has(`${name.slice(0, -PACK_SUFFIX.length)}${PACK_INDEX_SUFFIX}`)
    if (!orphanPack && !name.endsWith('.tmp')) continue
    const info = await stat(join(dir, name)).catch(() => undefined)
    if (info && now - info.mtimeMs > STALE_PACK_MS) await rm(join(dir, name), { force: true })
  }

  const readAt = async (location: BlockLocation): Promise<Uint8Array> => {
    const handle = await open(location.file, 'r')
    try {
      return await readRange(handle, location.offset, location.length)
    } finally {
      await handle.close()
    }
  }
  const readStored = async (cid: CID, options?: { alreadyChecked?: boolean | undefined }): Promise<Uint8Array> => {
    const key = keyOf(cid)
    let location = located.get(key)
    if (!location) {
      await refresh()
      location = located.get(key)
    }
    if (!location) throw notFound(cid)
    let bytes: Uint8Array
    try {
      bytes = await readAt(location)
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(cid)
      throw new StorageError('Could not read block', { details: `${location.file}: ${(cause as Error).message}`, cause })
    }
    if (!options?.alreadyChecked) await checkBlockParallel({ cid, bytes, source: `${location.file}@${location.offset}` })
    return bytes
  }

  const createBatch = (): BlockBatch & { holds(key: string): boolean } => {
    const name = randomId()
    const file = join(dir, `${name}${PACK_SUFFIX}`)
    let handle: Promise<FileHandle> | undefined
    let size = 0
    let state: 'open' | 'committing' | 'done' = 'open'
    const pending = new Map<string, PackEntry & { written: Promise<void> }>()
    /** Pack writes in flight (their buffers stay referenced until written): back-pressure beyond a few. */
    const writes = workInFlight(WRITE_AHEAD)
    /** The pack's write-back, started as it grows (so the commit's fsync has only the tail left). */
    let durable: IncrementalSync | undefined
    const handleOf = (): Promise<FileHandle> => {
      handle ??= open(file, 'wx+', 0o644).then((opened) => {
        durable = incrementalSync(opened)
        return opened
      })
      return handle
    }
    const assertOpen = (): void => {
      if (state !== 'open')
        throw new InvalidStateError('This block batch is already committed or discarded', { details: file, docsPath: 'hub.md' })
    }
    const close = async (): Promise<void> => {
      if (handle) await (await handle.catch(() => undefined))?.close()
    }
    const batch = {
      holds: (key: string) => pending.has(key),
      async putComputed(cid: CID, bytes: Uint8Array): Promise<CID> {
        assertOpen()
        const key = keyOf(cid)
        if (located.has(key) || pending.has(key)) {
          counters.present += 1
          return cid
        }
        const offset = size
        size += bytes.length
        const written = bytes.length
          ? handleOf().then(async (opened) => {
              await writeRange(opened, bytes, offset)
              durable?.wrote(bytes.length)
            })
          : Promise.resolve()
        pending.set(key, { cid: key, offset, length: bytes.length, written })
        counters.written += 1
        counters.bytesWritten += bytes.length
        await writes.add(written)
        return cid
      },
      async has(cid: CID): Promise<boolean> {
        return pending.has(keyOf(cid)) || store.has(cid)
      },
      async getBytes(cid: CID, options?: { alreadyChecked?: boolean | undefined }): Promise<Uint8Array> {
        const entry = pending.get(keyOf(cid))
        if (!entry) return readStored(cid, options)
        await entry.written
        // a handle of its own: a commit may close the batch's write handle meanwhile
        const bytes = await readAt({ file, offset: entry.offset, length: entry.length })
        if (!options?.alreadyChecked) await checkBlockParallel({ cid, bytes, source: `${file}@${entry.offset}` })
        return bytes
      },
      async commit(): Promise<void> {
        assertOpen()
        state = 'committing'
        try {
          await writes.settle()
          if (pending.size === 0) return
          await handleOf()
          await durable?.finish()
          await close()
          // the index names the pack's blocks: written only once they are durable
          await writePackIndex({
            dir,
            name,
            entries: [...pending.values()].map(({ cid, offset, length }) => ({ cid, offset, length })),
          })
          addPack(
            name,
            [...pending.values()].map(({ cid, offset, length }) => ({ cid, offset, length })),
          )
        } catch (cause) {
          await close()
          await rm(file, { force: true }).catch(() => undefined)
          throw cause instanceof StorageError
            ? cause
            : new StorageError('Could not write blocks', { details: `${file}: ${(cause as Error).message}`, cause })
        } finally {
          state = 'done'
        }
      },
      async discard(): Promise<void> {
        if (state === 'done') return
        state = 'done'
        await writes.drain()
        await close()
        await rm(file, { force: true })
      },
    }
    return batch
  }

  /** The batch `put`/`putComputed` write to until the next flush. */
  let current: ReturnType<typeof createBatch> | undefined
  const putComputed = (cid: CID, bytes: Uint8Array): Promise<CID> => {
    current ??= createBatch()
    return current.putComputed(cid, bytes)
  }
  const put = async (cid: CID, input: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> => {
    let bytes: Uint8Array
    if (input instanceof Uint8Array) bytes = input
    else {
      const parts: Uint8Array[] = []
      for await (const part of input) parts.push(part)
      bytes = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)
    }
    checkBlock({ cid, bytes })
    return putComputed(cid, bytes)
  }
  const has = async (cid: CID): Promise<boolean> => {
    const key = keyOf(cid)
    if (located.has(key) || current?.holds(key)) return true
    await refresh()
    return located.has(key)
  }
  const getBytes = (cid: CID, options?: { alreadyChecked?: boolean | undefined }): Promise<Uint8Array> =>
    current?.holds(keyOf(cid)) ? current.getBytes(cid, options) : readStored(cid, options)
  /** Forgets a block: its pack's index is rewritten without it (the bytes stay in the pack until the pack holds nothing). */
  const remove = async (cid: CID): Promise<void> => {
    if (current) await store.flush()
    const key = keyOf(cid)
    const location = located.get(key)
    if (!location) return
    located.delete(key)
    for (const [name, entries] of packs) {
      if (!entries.delete(key)) continue
      if (entries.size) await writePackIndex({ dir, name, entries: [...entries.values()] })
      else {
        await rm(join(dir, `${name}${PACK_INDEX_SUFFIX}`), { force: true })
        await rm(join(dir, `${name}${PACK_SUFFIX}`), { force: true })
        packs.delete(name)
      }
    }
    // another pack may hold the same block
    for (const [name, entries] of packs) {
      const entry = entries.get(key)
      if (entry) located.set(key, { file: join(dir, `${name}${PACK_SUFFIX}`), offset: entry.offset, length: entry.length })
    }
  }
  const pairOf = (cid: CID, bytes: Uint8Array): Pair =>
    ({
      cid,
      bytes: (async function* () {
        yield bytes
      })(),
    }) as Pair

  const store: FolderBlockstore = {
    dir,
    counters,
    locate: (cid) => located.get(keyOf(cid)),
    getBytes,
    putComputed,
    batch: () => createBatch(),
    async flush() {
      const batch = current
      current = undefined
      await batch?.commit()
    },
    has,
    put,
    async *putMany(source) {
      for await (const pair of source as AsyncIterable<InputPair>) yield await put(pair.cid, pair.bytes)
    },
    async *get(cid) {
      yield await getBytes(cid)
    },
    async *getMany(source) {
      for await (const cid of source as AsyncIterable<CID>) yield pairOf(cid, await getBytes(cid))
    },
    delete: (cid) => remove(cid),
    async *deleteMany(source) {
      for await (const cid of source as AsyncIterable<CID>) {
        await remove(cid)
        yield cid
      }
    },
    async *getAll() {
      await refresh()
      for (const key of [...located.keys()]) {
        const cid = CID.parse(key)
        yield pairOf(cid, await getBytes(cid))
      }
    },
  }
  return store
}
