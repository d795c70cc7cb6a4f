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
  /** Blocks fetched ahead of the one being yielded (default 4): the next ones in walk order. */
  readAhead?: number | undefined
}
export type WalkDagReturnType = AsyncGenerator<{ cid: CID; bytes: Uint8Array }>

/**
 * Yields every block of the DAG under `root`, fetching the next few (in walk order) while the
 * consumer handles the current one.
 *
 * @example
 * ```ts
 * for await (const { cid, bytes } of walkDag({ root, getBlock: blocks.getBytes })) total += bytes.length
 * ```
 */
export async function* walkDag(parameters: WalkDagParameters): WalkDagReturnType {
  const readAhead = Math.max(1, parameters.readAhead ?? 4)
  const seen = new Set<string>()
  const stack: CID[] = [parameters.root]
  /** Fetches under way, by CID: the top of the stack is what the walk yields next. */
  const fetching = new Map<string, Promise<Uint8Array>>()
  const fetchAhead = (): void => {
    for (let index = stack.length - 1; index >= 0 && stack.length - index <= readAhead; index -= 1) {
      const cid = stack[index] as CID
      const key = cid.toV1().toString()
      if (seen.has(key) || fetching.has(key)) continue
      assertSupportedCid(cid)
      const bytes = parameters.getBlock(cid)
      bytes.catch(() => undefined) // awaited when its turn comes
      fetching.set(key, bytes)
    }
  }
  try {
    while (stack.length) {
      fetchAhead()
      const cid = stack.pop() as CID
      const key = cid.toV1().toString()
      if (seen.has(key)) continue
      seen.add(key)
      const bytes = await (fetching.get(key) as Promise<Uint8Array>)
      fetching.delete(key)
      const links = linksOf(cid, bytes)
      for (let index = links.length - 1; index >= 0; index -= 1) stack.push(links[index] as CID)
      fetchAhead()
      yield { cid, bytes }
    }
  } finally {
    await Promise.allSettled(fetching.values())
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
