import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import { BlockIntegrityError } from '../errors.js'
import { DAG_PB_CODE, RAW_CODE } from './unixfs-settings.js'

/**
 * The bytes of a UnixFS file, in order, block by block, with a few child blocks fetched (and
 * checked, by `getBlock`) ahead of the one being consumed. The same walk as `ipfs-unixfs-exporter`'s
 * file content, minus its per-block copy and queues: the exporter still resolves folders and
 * entries; this streams a file's bytes straight from the blocks the store returns.
 *
 * The DAG is checked as it is walked: only `file`/`raw` UnixFS nodes and raw leaves, as many block
 * sizes as links, and in the end exactly the file size the root node states.
 */

export type FileChunksParameters = {
  /** The file's root: its decoded dag-pb node, or the bytes of a raw block (a one-block file). */
  root: dagPb.PBNode | Uint8Array
  /** The CID of the root (for errors). */
  cid: CID
  /** Returns a block's bytes, checked against its CID. */
  getBlock(cid: CID): Promise<Uint8Array>
  /** Child blocks fetched ahead, per node (default 4). */
  readAhead?: number | undefined
}

function malformed(cid: CID, what: string): BlockIntegrityError {
  return new BlockIntegrityError('Malformed UnixFS file in package', {
    details: `${cid.toString()}: ${what}`,
    hint: 'The package DAG is not a valid UnixFS file; nothing was installed.',
    docsPath: 'hub.md',
  })
}

async function loadChild(cid: CID, getBlock: (cid: CID) => Promise<Uint8Array>): Promise<dagPb.PBNode | Uint8Array> {
  const bytes = await getBlock(cid)
  if (cid.code === RAW_CODE) return bytes
  if (cid.code !== DAG_PB_CODE) throw malformed(cid, `codec 0x${cid.code.toString(16)} inside a file`)
  try {
    return dagPb.decode(bytes)
  } catch (cause) {
    throw malformed(cid, (cause as Error).message)
  }
}

async function* walk(
  node: dagPb.PBNode | Uint8Array,
  cid: CID,
  getBlock: (cid: CID) => Promise<Uint8Array>,
  readAhead: number,
): AsyncGenerator<Uint8Array> {
  if (node instanceof Uint8Array) {
    if (node.length) yield node
    return
  }
  if (!node.Data) throw malformed(cid, 'no UnixFS data')
  let file: UnixFS
  try {
    file = UnixFS.unmarshal(node.Data)
  } catch (cause) {
    throw malformed(cid, (cause as Error).message)
  }
  if (file.type !== 'file' && file.type !== 'raw') throw malformed(cid, `a ${file.type} node inside a file`)
  if (node.Links.length !== file.blockSizes.length) throw malformed(cid, 'block sizes and links disagree')
  if (file.data?.length) yield file.data
  const children: Array<{ cid: CID; loaded: Promise<dagPb.PBNode | Uint8Array> }> = []
  let next = 0
  const fetchNext = (): void => {
    const link = node.Links[next++] as dagPb.PBLink
    const loaded = loadChild(link.Hash, getBlock)
    loaded.catch(() => undefined) // awaited in order below
    children.push({ cid: link.Hash, loaded })
  }
  while (next < node.Links.length && children.length < readAhead) fetchNext()
  while (children.length) {
    const child = children.shift() as (typeof children)[number]
    const loaded = await child.loaded
    if (next < node.Links.length) fetchNext()
    yield* walk(loaded, child.cid, getBlock, readAhead)
  }
}

/**
 * Streams a UnixFS file's bytes.
 *
 * @example
 * ```ts
 * for await (const chunk of fileChunks({ root: entry.node, cid: entry.cid, getBlock })) await out.write(chunk)
 * ```
 */
export async function* fileChunks(parameters: FileChunksParameters): AsyncGenerator<Uint8Array> {
  const { root, cid, getBlock } = parameters
  const expected = root instanceof Uint8Array ? BigInt(root.length) : undefined
  let size = 0n
  for await (const chunk of walk(root, cid, getBlock, parameters.readAhead ?? 4)) {
    size += BigInt(chunk.length)
    yield chunk
  }
  const stated = expected ?? (root instanceof Uint8Array || !root.Data ? undefined : UnixFS.unmarshal(root.Data).fileSize())
  if (stated !== size) throw malformed(cid, `holds ${size} bytes, its root states ${stated}`)
}
