import { existsSync } from 'node:fs'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { UnixFSEntry } from 'ipfs-unixfs-exporter'
import { exporter } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { randomId } from '../crypto/random.js'
import { BlockIntegrityError, InvalidStateError } from '../errors.js'
import { fsyncDirectory } from '../storage/atomic-file.js'
import { writeRange } from '../storage/file-range.js'
import { incrementalSync } from '../storage/incremental-sync.js'
import type { HubProgress } from './add-folder.js'
import { fileChunks } from './file-chunks.js'
import type { FolderBlockstore } from './folder-blockstore.js'
import { workInFlight } from './work-in-flight.js'

export type ExportFolderParameters = {
  /** The UnixFS directory to write out. */
  cid: CID
  /** Holds every block of the DAG (checked on read). */
  blockstore: Pick<FolderBlockstore, 'get' | 'getBytes'>
  /** The folder to create; it must not exist. */
  to: string
  /** Total content bytes, for progress (optional). */
  totalBytes?: number | undefined
  onProgress?: HubProgress | undefined
}
/** Blocks read ahead of the file being written (the exporter's default reads every block of a file at once). */
const BLOCK_READ_AHEAD = 4

/** File writes in flight while the next chunks are read. */
const WRITE_AHEAD = 4

export type ExportFolderReturnType = { dir: string; files: number; bytes: number }

/** A link name that stays inside its folder. */
function safeName(name: string | undefined, cid: CID): string {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0'))
    throw new BlockIntegrityError('Unsafe file name in package', {
      details: `${JSON.stringify(name)} under ${cid.toString()}`,
      hint: 'The package DAG names a path outside its folder; it was not installed.',
      docsPath: 'hub.md',
    })
  return name
}

/**
 * Writes a UnixFS directory out as a folder, all or nothing: into a temp folder beside `to`, each
 * file fsynced, then one rename. A missing or tampered block aborts the export and leaves nothing
 * at `to`.
 *
 * @example
 * ```ts
 * await exportFolder({ cid, blockstore, to: 'models/pulled' })
 * loadModelPackage({ dir: 'models/pulled' })
 * ```
 */
export async function exportFolder(parameters: ExportFolderParameters): Promise<ExportFolderReturnType> {
  const target = resolve(parameters.to)
  if (existsSync(target))
    throw new InvalidStateError('Target folder already exists', {
      details: target,
      hint: 'Pick a new --to folder or remove the old one first.',
    })
  await mkdir(dirname(target), { recursive: true })
  const temporary = join(dirname(target), `.${basename(target)}.${randomId()}.partial`)
  let files = 0
  let bytes = 0
  const total = parameters.totalBytes ?? 0
  const write = async (entry: UnixFSEntry, path: string): Promise<void> => {
    if (entry.type === 'directory') {
      await mkdir(path, { recursive: true })
      for await (const child of entry.entries())
        await write(await exporter(child.cid, parameters.blockstore), join(path, safeName(child.name, entry.cid)))
      return
    }
    if (entry.type !== 'file' && entry.type !== 'raw')
      throw new BlockIntegrityError('Not a UnixFS file or directory', {
        details: `${entry.cid.toString()} is ${entry.type}`,
        docsPath: 'hub.md',
      })
    const file = await open(path, 'wx', 0o644)
    // positioned writes, a few in flight: the disk writes chunk n while chunk n + 1 is read and checked
    const writes = workInFlight(WRITE_AHEAD)
    const durable = incrementalSync(file)
    try {
      let position = 0
      const chunks = fileChunks({
        root: entry.node,
        cid: entry.cid,
        getBlock: (cid) => parameters.blockstore.getBytes(cid),
        readAhead: BLOCK_READ_AHEAD,
      })
      for await (const chunk of chunks) {
        await writes.add(writeRange(file, chunk, position).then(() => durable.wrote(chunk.length)))
        position += chunk.length
        bytes += chunk.length
        parameters.onProgress?.({ phase: 'writing', done: bytes, total: Math.max(total, bytes) })
      }
      await writes.settle()
      await durable.finish()
    } finally {
      await writes.drain()
      await file.close()
    }
    files += 1
  }
  try {
    const root = await exporter(parameters.cid, parameters.blockstore)
    if (root.type !== 'directory')
      throw new BlockIntegrityError('Not a package folder', {
        details: `${parameters.cid.toString()} is a ${root.type}, not a UnixFS directory`,
        hint: 'Pull the CID of the package folder.',
        docsPath: 'hub.md',
      })
    await write(root, temporary)
    fsyncDirectory(temporary)
    await rename(temporary, target)
    fsyncDirectory(dirname(target))
  } catch (error) {
    await rm(temporary, { recursive: true, force: true })
    throw error
  }
  return { dir: target, files, bytes }
}
