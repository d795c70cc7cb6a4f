import { decode as decodeDagPb } from '@ipld/dag-pb'
import type { CID } from 'multiformats/cid'
import { BlockIntegrityError } from '../errors.js'
import { assertSupportedCid } from './block-check.js'
import { DAG_PB_CODE } from './unixfs-settings.js'

/**
 * Walks a UnixFS DAG from its root, depth first, each block once (the order of a CAR file kubo
 * writes with `ipfs dag export`). `getBlock` must return checked bytes (a {@link FolderBlockstore}
 * does); links are read from dag-pb blocks, raw blocks have none.
 */

export type WalkDagParameters = {
  root: CID
  getBlock: (cid: CID) => Promise<Uint8Array>
}
export type WalkDagReturnType = AsyncGenerator<{ cid: CID; bytes: Uint8Array }>

/**
 * Yields every block of the DAG under `root`.
 *
 * @example
 * ```ts
 * for await (const { cid, bytes } of walkDag({ root, getBlock: blocks.getBytes })) total += bytes.length
 * ```
 */
export async function* walkDag(parameters: WalkDagParameters): WalkDagReturnType {
  const seen = new Set<string>()
  const stack: CID[] = [parameters.root]
  while (stack.length) {
    const cid = stack.pop() as CID
    const key = cid.toV1().toString()
    if (seen.has(key)) continue
    seen.add(key)
    assertSupportedCid(cid)
    const bytes = await parameters.getBlock(cid)
    yield { cid, bytes }
    const links = linksOf(cid, bytes)
    for (let index = links.length - 1; index >= 0; index -= 1) stack.push(links[index] as CID)
  }
}

/**
 * The CIDs a block links to (dag-pb links; none for raw blocks).
 *
 * @example
 * ```ts
 * linksOf(cid, bytes).length
 * ```
 */
export function linksOf(cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code !== DAG_PB_CODE) return []
  try {
    return decodeDagPb(bytes).Links.map((link) => link.Hash)
  } catch (cause) {
    throw new BlockIntegrityError('Malformed dag-pb block', { details: cid.toString(), cause, docsPath: 'hub.md' })
  }
}
