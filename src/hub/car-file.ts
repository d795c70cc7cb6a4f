import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CarBlockIterator, CarWriter } from '@ipld/car'
import type { CID } from 'multiformats/cid'
import { z } from 'zod'
import { randomId } from '../crypto/random.js'
import { BlockIntegrityError, InvalidInputError, NotFoundError, UnsupportedFormatError } from '../errors.js'
import { fsyncDirectory } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import type { HubProgress } from './add-folder.js'
import { checkBlockParallel } from './block-check.js'
import { walkDag } from './dag-walk.js'
import type { BlockBatch, FolderBlockstore } from './folder-blockstore.js'
import { MAX_BLOCK_BYTES, RAW_CODE } from './unixfs-settings.js'
import { workInFlight } from './work-in-flight.js'

/**
 * CAR v1 files (the IPFS archive format `ipfs dag export` writes and `ipfs dag import` reads):
 * one root, then every block of its DAG, depth first, each once.
 */

export type CarStreamParameters = {
  root: CID
  blockstore: Pick<FolderBlockstore, 'getBytes'>
  onProgress?: HubProgress | undefined
}

/**
 * The CAR of a DAG as a stream of bytes (used by `hub export` and the gateway's CAR responses).
 *
 * @example
 * ```ts
 * await pipeline(Readable.from(carStream({ root, blockstore })), createWriteStream('pkg.car'))
 * ```
 */
export async function* carStream(parameters: CarStreamParameters): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create([parameters.root])
  const feeding = (async () => {
    let blocks = 0
    try {
      for await (const block of walkDag({ root: parameters.root, getBlock: (cid) => parameters.blockstore.getBytes(cid) })) {
        await writer.put(block)
        blocks += 1
        parameters.onProgress?.({ phase: 'exporting', done: blocks, total: blocks })
      }
    } finally {
      await writer.close()
    }
  })()
  let failure: unknown
  feeding.catch((error) => {
    failure = error
  })
  for await (const chunk of out) yield chunk
  await feeding.catch(() => undefined)
  if (failure) throw failure
}

export type ExportCarParameters = CarStreamParameters & { file: string }
export type ExportCarReturnType = { file: string; root: CID; bytes: number }

const exportSchema = z.object({ file: z.string().min(1) }).passthrough()

/**
 * Writes the CAR of a package to a file (temp file, fsync, rename: never a half-written CAR).
 *
 * @example
 * ```ts
 * await exportCar({ root: cid, blockstore, file: 'transaction-risk.car' })
 * // ipfs dag import transaction-risk.car
 * ```
 */
export async function exportCar(parameters: ExportCarParameters): Promise<ExportCarReturnType> {
  parseInput(exportSchema, parameters, { what: 'exportCar parameters' })
  const file = resolve(parameters.file)
  const temporary = join(dirname(file), `.${basename(file)}.${randomId()}.tmp`)
  let bytes = 0
  try {
    const counting = async function* () {
      for await (const chunk of carStream(parameters)) {
        bytes += chunk.length
        yield chunk
      }
    }
    const output = createWriteStream(temporary, { flags: 'wx', mode: 0o644, flush: true })
    await pipeline(Readable.from(counting()), output)
    await rename(temporary, file)
    fsyncDirectory(dirname(file))
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
  return { file, root: parameters.root, bytes }
}

/** Blocks being checked and stored while the next ones are read from the CAR. */
const CHECKS_IN_FLIGHT = 4

export type ImportCarParameters = {
  /** A CAR file path or a stream of its bytes (an HTTP body). */
  source: string | AsyncIterable<Uint8Array>
  /** The store to import into: the blocks are committed together once the CAR checked out, or not at all. */
  blockstore?: Pick<FolderBlockstore, 'batch'> | undefined
  /** Or a batch of the caller's (a pull), which commits it: the blocks go into it, nothing is committed here. */
  batch?: Pick<BlockBatch, 'putComputed' | 'has' | 'getBytes'> | undefined
  /** For errors (a URL, a file name). */
  label?: string | undefined
  /** Check that the DAG under every root is complete (default true). */
  requireComplete?: boolean | undefined
  /** Refuse blocks larger than this (default 2 MiB). */
  maxBlockBytes?: number | undefined
  onProgress?: HubProgress | undefined
}
export type ImportCarReturnType = { roots: CID[]; blocks: number; bytes: number }

/**
 * Reads a CAR, checks every block against its CID (a tampered or substituted block throws
 * {@link BlockIntegrityError} before anything else is read), stores the blocks in one batch, checks
 * that the DAG under every root is complete, then commits the batch: a refused CAR stores nothing.
 *
 * @example
 * ```ts
 * const { roots } = await importCar({ source: 'kubo-export.car', blockstore })
 * ```
 */
export async function importCar(parameters: ImportCarParameters): Promise<ImportCarReturnType> {
  if (!parameters.batch === !parameters.blockstore)
    throw new InvalidInputError('Pass either a blockstore or a batch', { details: 'importCar parameters' })
  const own = parameters.blockstore?.batch()
  const batch = (parameters.batch ?? own) as Pick<BlockBatch, 'putComputed' | 'has' | 'getBytes'>
  try {
    const imported = await readCar(parameters, batch)
    await own?.commit()
    return imported
  } catch (cause) {
    await own?.discard()
    throw cause
  }
}

async function readCar(
  parameters: ImportCarParameters,
  batch: Pick<BlockBatch, 'putComputed' | 'has' | 'getBytes'>,
): Promise<ImportCarReturnType> {
  const label = parameters.label ?? (typeof parameters.source === 'string' ? parameters.source : 'CAR stream')
  let source: AsyncIterable<Uint8Array>
  if (typeof parameters.source === 'string') {
    const path = parameters.source
    source = createReadStream(path)
    ;(source as ReturnType<typeof createReadStream>).on('error', () => undefined)
    await new Promise<void>((ok, fail) => {
      ;(source as ReturnType<typeof createReadStream>).once('open', () => ok())
      ;(source as ReturnType<typeof createReadStream>).once('error', (cause) =>
        fail(new NotFoundError('CAR file not found', { details: path, cause })),
      )
    })
  } else source = parameters.source
  let iterator: CarBlockIterator
  try {
    iterator = await CarBlockIterator.fromIterable(source)
  } catch (cause) {
    throw new UnsupportedFormatError('Not a CAR file', { details: `${label}: ${(cause as Error).message}`, cause })
  }
  const roots = await iterator.getRoots()
  const maxBlockBytes = parameters.maxBlockBytes ?? MAX_BLOCK_BYTES
  let blocks = 0
  let bytes = 0
  // a few blocks are checked (on worker threads) and stored while the next ones are read; a block
  // is stored only once it checked out, and the first failure stops the import
  const checks = workInFlight(CHECKS_IN_FLIGHT)
  try {
    for await (const block of iterator) {
      if (block.bytes.length > maxBlockBytes)
        throw new BlockIntegrityError('Block too large', {
          details: `${block.cid.toString()} from ${label}: ${block.bytes.length} bytes`,
        })
      const stored = checkBlockParallel({ cid: block.cid, bytes: block.bytes, source: label }).then(() =>
        batch.putComputed(block.cid, block.bytes),
      )
      blocks += 1
      bytes += block.bytes.length
      parameters.onProgress?.({ phase: 'importing', done: blocks, total: blocks })
      await checks.add(stored)
    }
    await checks.settle()
  } catch (cause) {
    await checks.drain()
    if (cause instanceof BlockIntegrityError) throw cause
    throw new UnsupportedFormatError('Malformed CAR file', { details: `${label}: ${(cause as Error).message}`, cause })
  }
  if (parameters.requireComplete === false) return { roots, blocks, bytes }
  // a raw block has no links, and this import checked its bytes on arrival: the walk needs only its presence
  const getBlock = async (cid: CID): Promise<Uint8Array> =>
    cid.code === RAW_CODE && (await batch.has(cid)) ? new Uint8Array(0) : batch.getBytes(cid)
  for (const root of roots) {
    try {
      for await (const _ of walkDag({ root, getBlock })) void _
    } catch (cause) {
      throw new BlockIntegrityError('CAR does not hold the whole DAG', {
        details: `${label}: root ${root.toString()}: ${(cause as Error).message}`,
        hint: 'Export the CAR with all blocks (ipfs dag export ROOT).',
        cause,
      })
    }
  }
  return { roots, blocks, bytes }
}
