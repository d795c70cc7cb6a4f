import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { StorageError } from '../errors.js'
import { writeFileAtomicAsync } from '../storage/atomic-file.js'
import { MAX_BLOCK_BYTES } from './unixfs-settings.js'

/**
 * The index of one pack file of a hub's blockstore: which block (by CID) lies at which byte range
 * of the pack. A pack is a plain concatenation of block bytes, with no framing; its index is
 * written, atomically and fsynced, only once the pack itself is durable, so a pack counts (its
 * blocks exist) exactly when its index exists. The index is not trusted either: every block read
 * through it is checked against its CID, so an edited index yields a refused block, never a wrong one.
 *
 * File names: `<id>.pack` and `<id>.index.json` side by side in the blockstore folder.
 */
export const PACK_INDEX_FORMAT = 'verity-pack-index/v1'

/** The suffix of a pack's index file. */
export const PACK_INDEX_SUFFIX = '.index.json'
/** The suffix of a pack file. */
export const PACK_SUFFIX = '.pack'

const MAX_OFFSET = Number.MAX_SAFE_INTEGER

const packIndexSchema = z.object({
  format: z.literal(PACK_INDEX_FORMAT),
  /** The pack's file name, in the same folder. */
  pack: z.string().regex(/^[A-Za-z0-9_-]+\.pack$/),
  /** `[CID, offset, length]` of every block in the pack (a length over MAX_BLOCK_BYTES is refused: no huge allocation on an edited index). */
  blocks: z.array(
    z.tuple([z.string().min(1), z.number().int().min(0).max(MAX_OFFSET), z.number().int().min(0).max(MAX_BLOCK_BYTES)]),
  ),
})

/** One block's place in a pack. */
export type PackEntry = { cid: string; offset: number; length: number }

/** A pack read from its index: the pack's path and its entries. */
export type PackIndex = { name: string; packPath: string; indexPath: string; entries: PackEntry[] }

export type WritePackIndexParameters = { dir: string; name: string; entries: readonly PackEntry[] }

/**
 * Writes a pack's index atomically and durably (temp file, fsync, rename, fsync of the folder):
 * call it only after the pack's bytes are fsynced.
 *
 * @example
 * ```ts
 * await writePackIndex({ dir: blocksDir, name: 'k3j2…', entries: [{ cid: 'bafk…', offset: 0, length: 1048576 }] })
 * ```
 */
export async function writePackIndex(parameters: WritePackIndexParameters): Promise<void> {
  const { dir, name, entries } = parameters
  const index = {
    format: PACK_INDEX_FORMAT,
    pack: `${name}${PACK_SUFFIX}`,
    blocks: entries.map((entry) => [entry.cid, entry.offset, entry.length]),
  }
  await writeFileAtomicAsync({ path: join(dir, `${name}${PACK_INDEX_SUFFIX}`), data: JSON.stringify(index), mode: 0o644 })
}

export type ReadPackIndexesParameters = {
  dir: string
  /** Index file names already read (skipped). */
  skip?: ReadonlySet<string> | undefined
}

/**
 * Reads the pack indexes of a blockstore folder (those not in `skip`). A malformed index is a
 * {@link StorageError} naming the file: it is never guessed around.
 *
 * @example
 * ```ts
 * for (const pack of await readPackIndexes({ dir: blocksDir })) console.log(pack.name, pack.entries.length)
 * ```
 */
export async function readPackIndexes(parameters: ReadPackIndexesParameters): Promise<PackIndex[]> {
  const { dir, skip } = parameters
  const names = (await readdir(dir)).filter((name) => name.endsWith(PACK_INDEX_SUFFIX) && !skip?.has(name)).sort()
  return Promise.all(
    names.map(async (file) => {
      const indexPath = join(dir, file)
      let parsed: z.infer<typeof packIndexSchema>
      try {
        parsed = packIndexSchema.parse(JSON.parse(await readFile(indexPath, 'utf8')))
      } catch (cause) {
        throw new StorageError('Unreadable pack index in the blockstore', {
          details: `${indexPath}: ${(cause as Error).message.slice(0, 200)}`,
          hint: 'The file was changed outside Verity. Move it away (its blocks can be pulled again) and retry.',
          docsPath: 'hub.md',
          cause,
        })
      }
      const name = file.slice(0, -PACK_INDEX_SUFFIX.length)
      if (parsed.pack !== `${name}${PACK_SUFFIX}`)
        throw new StorageError('Pack index names another pack', {
          details: `${indexPath} names ${parsed.pack}`,
          docsPath: 'hub.md',
        })
      return {
        name,
        indexPath,
        packPath: join(dir, parsed.pack),
        entries: parsed.blocks.map(([cid, offset, length]) => ({ cid, offset, length })),
      }
    }),
  )
}
