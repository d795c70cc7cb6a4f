import { lstat, open, readdir } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import type { DirectoryCandidate, FileCandidate, WritableStorage } from 'ipfs-unixfs-importer'
import { importer } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import { z } from 'zod'
import { InvalidInputError, NotFoundError } from '../errors.js'
import { readRange } from '../storage/file-range.js'
import { parseInput } from '../validation.js'
import { UNIXFS_CHUNK_SIZE, unixfsImporterOptions } from './unixfs-settings.js'

/** A progress event of long hub work: `done` of `total` bytes (or blocks) in a phase. */
export type HubProgress = (event: { phase: string; done: number; total: number }) => void

export type AddFolderParameters = {
  /** The folder to add (a model package). */
  dir: string
  /** Where blocks go (`put` only is used). */
  blockstore: WritableStorage
  onProgress?: HubProgress | undefined
}
export type AddFolderReturnType = {
  /** The UnixFS directory's CID: what `ipfs add -r` with {@link KUBO_ADD_FLAGS} prints for the folder. */
  cid: CID
  /** Each file's path (relative, `/`-separated) and CID. */
  files: Array<{ path: string; cid: CID; size: number }>
  /** Total bytes of file content. */
  bytes: number
}

const schema = z.object({ dir: z.string().min(1), blockstore: z.custom<WritableStorage>(), onProgress: z.function().optional() })

/** Chunk reads kept in flight ahead of the hashing: the disk (or page cache) reads while the CPU hashes. */
const READ_AHEAD = 4

/**
 * A file's bytes in chunks of exactly the UnixFS chunk size (so the chunker passes them on without
 * copying), read with positioned reads a few chunks ahead of the consumer.
 */
async function* readChunks(path: string, size: number): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r')
  const reads: Array<Promise<Uint8Array>> = []
  let next = 0
  const start = (): void => {
    const length = Math.min(UNIXFS_CHUNK_SIZE, size - next)
    const read = readRange(handle, next, length)
    read.catch(() => undefined) // awaited in order below
    reads.push(read)
    next += length
  }
  try {
    while (next < size && reads.length < READ_AHEAD) start()
    while (reads.length) {
      const chunk = await (reads.shift() as Promise<Uint8Array>)
      if (next < size) start()
      yield chunk
    }
  } finally {
    await Promise.allSettled(reads)
    await handle.close()
  }
}

type Listed = { path: string; absolute: string; size: number; directory: boolean }

async function listFolder(root: string): Promise<Listed[]> {
  const out: Listed[] = []
  const visit = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort()
    for (const name of names) {
      const absolute = join(dir, name)
      const info = await lstat(absolute)
      const path = relative(root, absolute).split(sep).join('/')
      if (info.isSymbolicLink())
        throw new InvalidInputError('Symbolic links are not allowed in a package', {
          details: path,
          hint: 'Replace the link by the file it points to.',
          docsPath: 'hub.md',
        })
      if (info.isDirectory()) {
        out.push({ path, absolute, size: 0, directory: true })
        await visit(absolute)
      } else if (info.isFile()) out.push({ path, absolute, size: info.size, directory: false })
    }
  }
  await visit(root)
  return out
}

/**
 * Adds a folder to a blockstore as a UnixFS directory, with Verity's settings (CIDv1, raw leaves,
 * 1 MiB chunks): the returned CID equals kubo's `ipfs add -r --cid-version 1 --raw-leaves
 * --chunker=size-1048576 DIR`. Empty folders are kept; symbolic links are refused.
 *
 * @example
 * ```ts
 * const { cid } = await addFolder({ dir: 'models/transaction-risk', blockstore })
 * cid.toString() // 'bafybei…'
 * ```
 */
export async function addFolder(parameters: AddFolderParameters): Promise<AddFolderReturnType> {
  const input = parseInput(schema, parameters, { what: 'addFolder parameters' })
  const root = resolve(input.dir)
  const info = await lstat(root).catch(() => undefined)
  if (!info?.isDirectory())
    throw new NotFoundError('Package folder not found', { details: root, hint: 'Pass the folder of a model package.' })
  const listed = await listFolder(root)
  const total = listed.reduce((sum, entry) => sum + entry.size, 0)
  let done = 0
  const onProgress = parameters.onProgress
  onProgress?.({ phase: 'hashing', done, total })
  async function* candidates(): AsyncGenerator<FileCandidate | DirectoryCandidate> {
    yield { path: 'package' }
    for (const entry of listed) {
      if (entry.directory) {
        yield { path: `package/${entry.path}` }
        continue
      }
      async function* content(): AsyncGenerator<Uint8Array> {
        for await (const chunk of readChunks(entry.absolute, entry.size)) {
          done += chunk.length
          onProgress?.({ phase: 'hashing', done, total })
          yield chunk
        }
      }
      yield { path: `package/${entry.path}`, content: content() }
    }
  }
  const files: AddFolderReturnType['files'] = []
  let rootCid: CID | undefined
  for await (const entry of importer(candidates(), parameters.blockstore, unixfsImporterOptions())) {
    if (entry.path === 'package') rootCid = entry.cid
    else if (entry.path && entry.unixfs?.type !== 'directory')
      files.push({ path: entry.path.slice('package/'.length), cid: entry.cid, size: Number(entry.size) })
  }
  if (!rootCid) throw new InvalidInputError('Importer returned no root', { details: root })
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { cid: rootCid, files, bytes: total }
}
