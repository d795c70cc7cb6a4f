import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
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
 * is refused, never served). A block file appears whole or not at all (temp file, rename); `flush()`
 * makes every block written so far durable (fsync of each new file and of its folder): callers flush
 * before they write what names the blocks (a release), so a crash never leaves a release without its blocks.
 */

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
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
  /** Reads and checks one block (the single-buffer form of `get`). */
  getBytes(cid: CID): Promise<Uint8Array>
  /** Stores a block whose CID the caller computed from these very bytes (the importer): no second hash. */
  putComputed(cid: CID, bytes: Uint8Array): Promise<CID>
  /** Makes every block written since the last flush durable. */
  flush(): Promise<void>
  /** Moves a checked block file from another store's folder into this one (same file system). */
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
  const exists = async (cid: CID): Promise<boolean> => {
    try {
      await stat(pathOf(cid))
      return true
    } catch {
      return false
    }
  }
  const getBytes = async (cid: CID): Promise<Uint8Array> => {
    let bytes: Uint8Array
    try {
      bytes = new Uint8Array(await readFile(pathOf(cid)))
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError('Block not in the blockstore', {
          details: cid.toString(),
          hint: 'Pull or import the package that holds it (verity hub pull / hub import).',
          docsPath: 'hub.md',
          meta: { cid: cid.toString() },
        })
      throw new StorageError('Could not read block', { details: `${pathOf(cid)}: ${(cause as Error).message}`, cause })
    }
    checkBlock({ cid, bytes, source: pathOf(cid) })
    return bytes
  }
  const pending = new Set<string>()
  const write = async (cid: CID, bytes: Uint8Array): Promise<CID> => {
    if (await exists(cid)) {
      counters.present += 1
      return cid
    }
    const path = pathOf(cid)
    await mkdir(dirname(path), { recursive: true })
    const temporary = `${path}.${randomId()}.tmp`
    try {
      const handle = await open(temporary, 'wx', 0o644)
      try {
        for (let written = 0; written < bytes.length; )
          written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten
      } finally {
        await handle.close()
      }
      await rename(temporary, path)
    } catch (cause) {
      await rm(temporary, { force: true })
      throw new StorageError('Could not write block', { details: `${path}: ${(cause as Error).message}`, cause })
    }
    pending.add(path)
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
    if (!durable) return pending.clear()
    const files = [...pending]
    pending.clear()
    const folders = new Set(files.map((file) => dirname(file)))
    try {
      for (let index = 0; index < files.length; index += 16) await Promise.all(files.slice(index, index + 16).map(fsyncPath))
      for (const folder of folders) await fsyncPath(folder)
      if (folders.size) await fsyncPath(dir)
    } catch (cause) {
      for (const file of files) pending.add(file)
      throw new StorageError('Could not make blocks durable', { details: `${dir}: ${(cause as Error).message}`, cause })
    }
  }
  const store: FolderBlockstore = {
    dir,
    pathOf,
    getBytes,
    counters,
    putComputed: write,
    flush,
    async adopt(cid, path) {
      if (await exists(cid)) return
      const target = pathOf(cid)
      await mkdir(dirname(target), { recursive: true })
      await rename(path, target)
      pending.add(target)
    },
    has: (cid) => exists(cid),
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
    async delete(cid) {
      await rm(pathOf(cid), { force: true })
    },
    async *deleteMany(source) {
      for await (const cid of source as AsyncIterable<CID>) {
        await rm(pathOf(cid), { force: true })
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
