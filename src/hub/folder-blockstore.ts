import { copyFile, link, mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Blockstore, InputPair, Pair } from 'interface-blockstore'
import { CID } from 'multiformats/cid'
import { randomId } from '../crypto/random.js'
import { NotFoundError, StorageError } from '../errors.js'
import { checkBlock } from './block-check.js'

/**
 * A blockstore in a folder, one file per block: `<dir>/<last two characters of the CID>/<CID>`
 * (CIDv1, base32). Blocks are immutable and content-addressed, so two package versions that share
 * a file share its blocks on disk: publishing a version that changes one file stores that file only.
 * Every block is checked against its CID on the way in and on the way out (a block changed on disk
 * is refused, never served). A block file appears whole and durable or not at all: its bytes go to a
 * temp file which is fsynced, then renamed to its name. The fsync and rename run in the background
 * (a few at a time, so the disk writes while the caller hashes the next blocks); until then the block
 * counts as present and reads wait for it. `flush()` waits for every pending block and fsyncs the
 * folders whose entries changed: callers flush before they write what names the blocks (a release),
 * so a crash never leaves a release without its blocks, nor a named block file with partial bytes.
 */

/** Background fsyncs at once: enough to keep the disk busy, few enough to leave libuv threads for reads and writes. */
const SYNC_CONCURRENCY = 2

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Runs at most `limit` of the given tasks at once, in call order. */
function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    active += 1
    try {
      return await task()
    } finally {
      active -= 1
      waiting.shift()?.()
    }
  }
}

/** Reads a whole file into one buffer of its size (one read for a block; no chunk concatenation). */
async function readWhole(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    const bytes = Buffer.allocUnsafe(size)
    let read = 0
    while (read < size) {
      const { bytesRead } = await handle.read(bytes, read, size - read, read)
      if (bytesRead === 0) break
      read += bytesRead
    }
    return read === size ? bytes : bytes.subarray(0, read)
  } finally {
    await handle.close()
  }
}

/** Concatenates the chunks a blockstore `put` may receive. */
async function collect(bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (bytes instanceof Uint8Array) return bytes
  const parts: Uint8Array[] = []
  for await (const part of bytes) parts.push(part)
  return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)
}

/** The `interface-blockstore` contract plus what the hub needs to know about writes. */
export type FolderBlockstore = Blockstore & {
  /** The folder. */
  readonly dir: string
  /** Path of a block's file. */
  pathOf(cid: CID): string
  /**
   * Reads and checks one block (the single-buffer form of `get`). `alreadyChecked: true` skips the
   * hash, for a caller that checked these very blocks against their CIDs as they entered this
   * process moments ago (a pull installing what it just fetched): never for blocks of unknown age.
   */
  getBytes(cid: CID, options?: { alreadyChecked?: boolean | undefined }): Promise<Uint8Array>
  /** Stores a block whose CID the caller computed from these very bytes (the importer): no second hash. */
  putComputed(cid: CID, bytes: Uint8Array): Promise<CID>
  /** Waits for every block written since the last flush to be durable under its name, and fsyncs the folders that changed. */
  flush(): Promise<void>
  /**
   * Adds a checked block file from another store's folder (a pull's staging folder) under its name
   * here: a hard link (a copy where links are not supported), so the source stays readable until its
   * store is removed. Durable once `flush()` resolves, like a write.
   */
  adopt(cid: CID, path: string): Promise<void>
  /** Blocks written (new files) and blocks already present since this store was opened. */
  readonly counters: { written: number; present: number; bytesWritten: number }
}

export type OpenFolderBlockstoreParameters = {
  dir: string
  /** False for a scratch store (a pull's staging folder): `flush` does nothing. Default true. */
  durable?: boolean | undefined
}
export type OpenFolderBlockstoreReturnType = FolderBlockstore

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
  const { dir, durable = true } = parameters
  await mkdir(dir, { recursive: true })
  const counters = { written: 0, present: 0, bytesWritten: 0 }
  const pathOf = (cid: CID): string => {
    const text = cid.toV1().toString()
    return join(dir, text.slice(-3, -1), text)
  }
  /** Shard folders known to exist (one mkdir per shard, not per block). */
  const shards = new Set<string>()
  /** Blocks whose fsync + rename is under way, by path: they count as present; reads wait. */
  const inflight = new Map<string, Promise<void>>()
  /** Folders whose entries changed since the last flush. */
  const changed = new Set<string>()
  const limit = createLimiter(SYNC_CONCURRENCY)
  const exists = async (path: string): Promise<boolean> => {
    if (inflight.has(path)) return true
    try {
      await stat(path)
      return true
    } catch {
      return false
    }
  }
  const ensureShard = async (shard: string): Promise<void> => {
    if (shards.has(shard)) return
    await mkdir(shard, { recursive: true })
    shards.add(shard)
    changed.add(dir)
  }
  /** Gives the complete file at `source` its block name: `rename` for a temp file, `link` for an adopted one. */
  const place = async (source: string, path: string, how: 'rename' | 'link'): Promise<void> => {
    if (how === 'rename') return rename(source, path)
    try {
      await link(source, path)
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code
      if (code === 'EEXIST') return
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw cause
      const temporary = `${path}.${randomId()}.tmp`
      await copyFile(source, temporary)
      if (durable) await fsyncPath(temporary)
      await rename(temporary, path)
    }
  }
  /**
   * Gives a complete file its block name. Durable store: fsync first (so a name never points at
   * bytes a crash could lose), in the background; scratch store: at once.
   */
  const install = async (source: string, path: string, how: 'rename' | 'link'): Promise<void> => {
    changed.add(dirname(path))
    if (!durable) return place(source, path, how)
    const job = limit(async () => {
      await fsyncPath(source)
      await place(source, path, how)
    }).catch(async (cause) => {
      if (how === 'rename') await rm(source, { force: true })
      throw new StorageError('Could not write block', { details: `${path}: ${(cause as Error).message}`, cause })
    })
    job.catch(() => undefined) // reported by flush (or the next read of the block)
    // two writers of one block (equal bytes) may race: flush waits for both
    const earlier = inflight.get(path)
    const both = earlier ? Promise.all([earlier, job]).then(() => undefined) : job
    both.catch(() => undefined)
    inflight.set(path, both)
  }
  const getBytes = async (cid: CID, options?: { alreadyChecked?: boolean | undefined }): Promise<Uint8Array> => {
    const path = pathOf(cid)
    let bytes: Uint8Array
    try {
      await inflight.get(path)
      bytes = await readWhole(path)
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError('Block not in the blockstore', {
          details: cid.toString(),
          hint: 'Pull or import the package that holds it (verity hub pull / hub import).',
          docsPath: 'hub.md',
          meta: { cid: cid.toString() },
        })
      throw new StorageError('Could not read block', { details: `${path}: ${(cause as Error).message}`, cause })
    }
    if (!options?.alreadyChecked) checkBlock({ cid, bytes, source: path })
    return bytes
  }
  const write = async (cid: CID, bytes: Uint8Array): Promise<CID> => {
    const path = pathOf(cid)
    if (await exists(path)) {
      counters.present += 1
      return cid
    }
    const temporary = `${path}.${randomId()}.tmp`
    try {
      await ensureShard(dirname(path))
      const handle = await open(temporary, 'wx', 0o644)
      try {
        for (let written = 0; written < bytes.length; )
          written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten
      } finally {
        await handle.close()
      }
      await install(temporary, path, 'rename')
    } catch (cause) {
      await rm(temporary, { force: true })
      throw new StorageError('Could not write block', { details: `${path}: ${(cause as Error).message}`, cause })
    }
    counters.written += 1
    counters.bytesWritten += bytes.length
    return cid
  }
  const put = async (cid: CID, input: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> => {
    const bytes = await collect(input)
    checkBlock({ cid, bytes })
    return write(cid, bytes)
  }
  const flush = async (): Promise<void> => {
    const jobs = [...inflight.entries()]
    const results = await Promise.allSettled(jobs.map(([, job]) => job))
    for (const [path] of jobs) inflight.delete(path)
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed) throw failed.reason
    if (!durable) return changed.clear()
    const folders = [...changed]
    changed.clear()
    try {
      // the shard folders first, then the store's folder (it names the new shard folders)
      await Promise.all(folders.filter((folder) => folder !== dir).map(fsyncPath))
      if (folders.length) await fsyncPath(dir)
    } catch (cause) {
      for (const folder of folders) changed.add(folder)
      throw new StorageError('Could not make blocks durable', { details: `${dir}: ${(cause as Error).message}`, cause })
    }
  }
  /** Deletes a block, after its pending write (which would otherwise give it its name again). */
  const remove = async (cid: CID): Promise<void> => {
    const path = pathOf(cid)
    await inflight.get(path)?.catch(() => undefined)
    inflight.delete(path)
    await rm(path, { force: true })
  }
  const store: FolderBlockstore = {
    dir,
    pathOf,
    getBytes,
    counters,
    putComputed: write,
    flush,
    async adopt(cid, path) {
      const target = pathOf(cid)
      if (await exists(target)) return
      await ensureShard(dirname(target))
      await install(path, target, 'link')
    },
    has: (cid) => exists(pathOf(cid)),
    put,
    async *putMany(source) {
      for await (const pair of source as AsyncIterable<InputPair>) yield await put(pair.cid, pair.bytes)
    },
    async *get(cid) {
      yield await getBytes(cid)
    },
    async *getMany(source) {
      for await (const cid of source as AsyncIterable<CID>) {
        const bytes = await getBytes(cid)
        yield {
          cid,
          bytes: (async function* () {
            yield bytes
          })(),
        } as Pair
      }
    },
    delete: (cid) => remove(cid),
    async *deleteMany(source) {
      for await (const cid of source as AsyncIterable<CID>) {
        await remove(cid)
        yield cid
      }
    },
    async *getAll() {
      const { readdir } = await import('node:fs/promises')
      for (const shard of await readdir(dir)) {
        if (shard.startsWith('.')) continue
        for (const name of await readdir(join(dir, shard))) {
          if (name.startsWith('.')) continue
          let cid: CID
          try {
            cid = CID.parse(name)
          } catch {
            continue
          }
          const bytes = await getBytes(cid)
          yield {
            cid,
            bytes: (async function* () {
              yield bytes
            })(),
          } as Pair
        }
      }
    },
  }
  return store
}
