import { mkdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Blockstore, InputPair, Pair } from 'interface-blockstore'
import { CID } from 'multiformats/cid'
import { NotFoundError, StorageError } from '../errors.js'
import { writeFileAtomicAsync } from '../storage/atomic-file.js'
import { checkBlock } from './block-check.js'

/**
 * A blockstore in a folder, one file per block: `<dir>/<last two characters of the CID>/<CID>`
 * (CIDv1, base32). Blocks are immutable and content-addressed, so two package versions that share
 * a file share its blocks on disk: publishing a version that changes one file stores that file only.
 * Every block is checked against its CID on the way in and on the way out (a block changed on disk
 * is refused, never served). Writes are durable (temp file, fsync, rename) before `put` resolves.
 */

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
  /** Blocks written (new files) and blocks already present since this store was opened. */
  readonly counters: { written: number; present: number; bytesWritten: number }
}

export type OpenFolderBlockstoreParameters = { dir: string }
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
  const { dir } = parameters
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
  const put = async (cid: CID, input: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> => {
    const bytes = await collect(input)
    checkBlock({ cid, bytes })
    if (await exists(cid)) {
      counters.present += 1
      return cid
    }
    const path = pathOf(cid)
    await mkdir(join(path, '..'), { recursive: true })
    await writeFileAtomicAsync({ path, data: bytes, mode: 0o644 })
    counters.written += 1
    counters.bytesWritten += bytes.length
    return cid
  }
  const store: FolderBlockstore = {
    dir,
    pathOf,
    getBytes,
    counters,
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
