import * as dagPb from '@ipld/dag-pb'
import fc from 'fast-check'
import { UnixFS } from 'ipfs-unixfs'
import { exporter } from 'ipfs-unixfs-exporter'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced, trickle } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { BlockIntegrityError } from '../../src/errors.js'
import { checkBlock } from '../../src/hub/block-check.js'
import { fileChunks } from '../../src/hub/file-chunks.js'

/** A blockstore in a Map, checked on read like the hub's. */
function memoryBlocks() {
  const blocks = new Map<string, Uint8Array>()
  const getBlock = async (cid: CID) => {
    const bytes = blocks.get(cid.toString())
    if (!bytes) throw new Error(`missing ${cid}`)
    checkBlock({ cid, bytes })
    return bytes
  }
  return {
    blocks,
    getBlock,
    put: async (cid: CID, bytes: Uint8Array) => {
      blocks.set(cid.toString(), bytes)
      return cid
    },
    async *get(cid: CID) {
      yield await getBlock(cid)
    },
  }
}

async function importFile(bytes: Uint8Array, options: { chunk: number; children: number; rawLeaves: boolean; trickle: boolean }) {
  const store = memoryBlocks()
  let cid: CID | undefined
  for await (const entry of importer([{ content: bytes }], store, {
    cidVersion: 1,
    rawLeaves: options.rawLeaves,
    chunker: fixedSize({ chunkSize: options.chunk }),
    layout: options.trickle
      ? trickle({ maxChildrenPerNode: options.children })
      : balanced({ maxChildrenPerNode: options.children }),
  }))
    cid = entry.cid
  if (!cid) throw new Error('no root')
  return { store, cid }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of source) parts.push(part)
  return Buffer.concat(parts)
}

async function rootOf(store: ReturnType<typeof memoryBlocks>, cid: CID) {
  const bytes = await store.getBlock(cid)
  return cid.code === raw.code ? bytes : dagPb.decode(bytes)
}

describe('fileChunks', () => {
  it('streams the same bytes as ipfs-unixfs-exporter for any file, chunking and layout (nested trees, dag-pb and raw leaves)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 6000 }),
        fc.record({
          chunk: fc.integer({ min: 64, max: 2048 }),
          children: fc.integer({ min: 2, max: 6 }),
          rawLeaves: fc.boolean(),
          trickle: fc.boolean(),
        }),
        async (bytes, options) => {
          const { store, cid } = await importFile(bytes, options)
          const ours = await collect(fileChunks({ root: await rootOf(store, cid), cid, getBlock: store.getBlock, readAhead: 2 }))
          const entry = await exporter(cid, store)
          if (entry.type !== 'file' && entry.type !== 'raw') throw new Error(`not a file: ${entry.type}`)
          const theirs = await collect(entry.content())
          expect(Buffer.from(ours)).toEqual(Buffer.from(bytes))
          expect(Buffer.from(ours)).toEqual(Buffer.from(theirs))
        },
      ),
      { numRuns: 60 },
    )
  })

  it('refuses a file node whose stated size disagrees with its blocks', async () => {
    const { store, cid } = await importFile(new Uint8Array(3000).fill(7), {
      chunk: 1000,
      children: 4,
      rawLeaves: true,
      trickle: false,
    })
    const root = (await rootOf(store, cid)) as dagPb.PBNode
    const unixfs = UnixFS.unmarshal(root.Data as Uint8Array)
    const lying = new UnixFS({ type: 'file', blockSizes: unixfs.blockSizes.map((size) => size) })
    lying.blockSizes[0] = 999n
    const node = { Data: lying.marshal(), Links: root.Links }
    await expect(collect(fileChunks({ root: node, cid, getBlock: store.getBlock }))).rejects.toThrow(BlockIntegrityError)
  })

  it('refuses a directory node or an unknown codec inside a file', async () => {
    const store = memoryBlocks()
    const directory = dagPb.encode({ Data: new UnixFS({ type: 'directory' }).marshal(), Links: [] })
    const directoryCid = CID.createV1(dagPb.code, await sha256.digest(directory))
    await store.put(directoryCid, directory)
    const file = new UnixFS({ type: 'file', blockSizes: [0n] })
    const root = { Data: file.marshal(), Links: [{ Hash: directoryCid, Name: '', Tsize: directory.length }] }
    await expect(collect(fileChunks({ root, cid: directoryCid, getBlock: store.getBlock }))).rejects.toThrow(
      /directory node inside a file/,
    )
    const cbor = CID.createV1(0x71, await sha256.digest(directory))
    store.blocks.set(cbor.toString(), directory)
    const withCbor = { Data: file.marshal(), Links: [{ Hash: cbor, Name: '', Tsize: directory.length }] }
    await expect(collect(fileChunks({ root: withCbor, cid: cbor, getBlock: async () => directory }))).rejects.toThrow(
      BlockIntegrityError,
    )
  })
})
