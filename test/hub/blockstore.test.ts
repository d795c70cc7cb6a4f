import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { afterAll, describe, expect, it } from 'vitest'
import { BlockIntegrityError, InvalidStateError, StorageError } from '../../src/errors.js'
import { addFolder } from '../../src/hub/add-folder.js'
import { walkDag } from '../../src/hub/dag-walk.js'
import { exportFolder } from '../../src/hub/export-folder.js'
import { openFolderBlockstore } from '../../src/hub/folder-blockstore.js'
import { openHub } from '../../src/hub/open-hub.js'
import { readPackIndexes } from '../../src/hub/pack-index.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { MODEL_DIR, patternBytes } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-blocks-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
const signer = createKeySigner({ privateKey: `0x${'33'.repeat(32)}` })

/** Blocks named by the pack indexes on disk (what a fresh open of the store would find). */
async function countBlocks(dir: string): Promise<number> {
  return (await readPackIndexes({ dir })).reduce((sum, pack) => sum + pack.entries.length, 0)
}

describe('folder blockstore', () => {
  it('two versions share unchanged blocks: a new version that changes one file stores that file only', async () => {
    const hub = await openHub({ dir: join(work, 'hub') })
    const v1 = join(work, 'v1')
    cpSync(MODEL_DIR, v1, { recursive: true })
    writeFileSync(join(v1, 'weights.bin'), patternBytes('w1', 5 * 1024 * 1024))
    const manifest = JSON.parse(readFileSync(join(v1, 'verity-model.json'), 'utf8'))
    const { createHash } = await import('node:crypto')
    const digestOf = (path: string) => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`
    manifest.files['weights.bin'] = digestOf(join(v1, 'weights.bin'))
    writeFileSync(join(v1, 'verity-model.json'), JSON.stringify(manifest, null, 2))
    const first = await publishRelease({ hub, dir: v1, signer })
    const afterFirst = await countBlocks(hub.blocks.dir)
    expect(first.newBlocks).toBe(afterFirst)

    // v2: the big file changes in its last MiB only; the manifest changes (version, digest)
    const v2 = join(work, 'v2')
    cpSync(v1, v2, { recursive: true })
    const weights = Buffer.from(readFileSync(join(v2, 'weights.bin')))
    weights.writeUInt8(weights.readUInt8(weights.length - 10) ^ 0xff, weights.length - 10)
    writeFileSync(join(v2, 'weights.bin'), weights)
    manifest.version = '1.1.0'
    manifest.files['weights.bin'] = digestOf(join(v2, 'weights.bin'))
    writeFileSync(join(v2, 'verity-model.json'), JSON.stringify(manifest, null, 2))
    const second = await publishRelease({ hub, dir: v2, signer })
    // new: the last weights leaf, the weights file node, the manifest, the root folder
    expect(second.newBlocks).toBe(4)
    expect(second.reusedBlocks).toBeGreaterThan(8)
    expect(await countBlocks(hub.blocks.dir)).toBe(afterFirst + 4)
    expect(second.release.details.parent?.id).toBe(first.release.id)
    const blocksOf = async (cid: string) => {
      const out = new Set<string>()
      for await (const { cid: block } of walkDag({
        root: (await import('multiformats/cid')).CID.parse(cid),
        getBlock: hub.blocks.getBytes,
      }))
        out.add(block.toString())
      return out
    }
    const one = await blocksOf(first.release.packageCid)
    const two = await blocksOf(second.release.packageCid)
    expect([...two].filter((cid) => one.has(cid)).length).toBe(two.size - 4)
  })

  it('a block changed on disk is refused when read, and an export of its package leaves nothing behind', async () => {
    const hub = await openHub({ dir: join(work, 'hub-tamper') })
    const { cid, files } = await addFolder({ dir: MODEL_DIR, blockstore: hub.blocks })
    await hub.blocks.flush() // blocks exist once their pack's index is written
    const vk = files.find((file) => file.path === 'vk.key')
    if (!vk) throw new Error('no vk.key')
    const location = hub.blocks.locate(vk.cid)
    if (!location) throw new Error('vk.key not located')
    const pack = Buffer.from(readFileSync(location.file))
    pack.writeUInt8(pack.readUInt8(location.offset) ^ 1, location.offset)
    writeFileSync(location.file, pack)
    await expect(hub.blocks.getBytes(vk.cid)).rejects.toThrow(BlockIntegrityError)
    const to = join(work, 'tampered-out')
    await expect(exportFolder({ cid, blockstore: hub.blocks, to })).rejects.toThrow(BlockIntegrityError)
    expect(readdirSync(work).filter((name) => name.includes('tampered-out'))).toEqual([])
  })

  it('a written block is readable at once; once flushed, one pack and its index hold every block, no temp file left', async () => {
    const hub = await openHub({ dir: join(work, 'hub-flush') })
    const { files } = await addFolder({ dir: MODEL_DIR, blockstore: hub.blocks })
    const vk = files.find((file) => file.path === 'vk.key')
    if (!vk) throw new Error('no vk.key')
    expect(await hub.blocks.has(vk.cid)).toBe(true)
    expect(Buffer.from(await hub.blocks.getBytes(vk.cid))).toEqual(readFileSync(join(MODEL_DIR, 'vk.key')))
    // not committed yet: a fresh open (another process) does not see it
    expect(await (await openFolderBlockstore({ dir: hub.blocks.dir })).has(vk.cid)).toBe(false)
    await hub.blocks.flush()
    const names = readdirSync(hub.blocks.dir)
    expect(names.filter((name) => name.endsWith('.tmp'))).toEqual([])
    expect(names.filter((name) => name.endsWith('.pack')).length).toBe(1)
    expect(names.filter((name) => name.endsWith('.index.json')).length).toBe(1)
    expect(await countBlocks(hub.blocks.dir)).toBe(hub.blocks.counters.written)
    const reopened = await openFolderBlockstore({ dir: hub.blocks.dir })
    expect(Buffer.from(await reopened.getBytes(vk.cid))).toEqual(readFileSync(join(MODEL_DIR, 'vk.key')))
  })

  it('a discarded batch leaves no block and no file; a committed one is seen by a store opened later', async () => {
    const hub = await openHub({ dir: join(work, 'hub-batch') })
    const discarded = hub.blocks.batch()
    const { files } = await addFolder({
      dir: MODEL_DIR,
      blockstore: { put: (cid, bytes) => discarded.putComputed(cid, bytes as Uint8Array) },
    })
    expect(await discarded.has(files[0]!.cid)).toBe(true)
    await discarded.discard()
    expect(readdirSync(hub.blocks.dir)).toEqual([])
    for (const file of files) expect(await hub.blocks.has(file.cid)).toBe(false)
    await expect(discarded.putComputed(files[0]!.cid, new Uint8Array(0))).rejects.toThrow(InvalidStateError)

    const committed = hub.blocks.batch()
    await addFolder({ dir: MODEL_DIR, blockstore: { put: (cid, bytes) => committed.putComputed(cid, bytes as Uint8Array) } })
    await committed.commit()
    const later = await openFolderBlockstore({ dir: hub.blocks.dir })
    for (const file of files) {
      expect(Buffer.from(await later.getBytes(file.cid))).toEqual(readFileSync(join(MODEL_DIR, file.path)))
      // and the first store sees the commit too
      expect(await hub.blocks.has(file.cid)).toBe(true)
    }
  })

  it('a crash before the index leaves a pack that counts for nothing, removed once stale', async () => {
    const dir = join(work, 'hub-crash', 'blocks')
    const store = await openFolderBlockstore({ dir })
    const batch = store.batch()
    const { files } = await addFolder({
      dir: MODEL_DIR,
      blockstore: { put: (cid, bytes) => batch.putComputed(cid, bytes as Uint8Array) },
    })
    await batch.getBytes(files[0]!.cid) // its writes have landed; the process "dies" before commit
    const [pack] = readdirSync(dir)
    expect(pack).toMatch(/\.pack$/)
    const after = await openFolderBlockstore({ dir })
    for (const file of files) expect(await after.has(file.cid)).toBe(false)
    expect(readdirSync(dir)).toEqual([pack]) // a recent pack may be a live batch of another process: kept
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000)
    utimesSync(join(dir, pack!), old, old)
    await openFolderBlockstore({ dir })
    expect(readdirSync(dir)).toEqual([])
  })

  it('an edited pack index yields a refused block or a typed error, never wrong bytes', async () => {
    const hub = await openHub({ dir: join(work, 'hub-index') })
    const { files } = await addFolder({ dir: MODEL_DIR, blockstore: hub.blocks })
    await hub.blocks.flush()
    const [index] = await readPackIndexes({ dir: hub.blocks.dir })
    if (!index) throw new Error('no index')
    const raw = JSON.parse(readFileSync(index.indexPath, 'utf8'))
    // point the first block at the second block's bytes
    raw.blocks[0][1] = raw.blocks[1][1]
    raw.blocks[0][2] = raw.blocks[1][2]
    writeFileSync(index.indexPath, JSON.stringify(raw))
    const relabelled = await openFolderBlockstore({ dir: hub.blocks.dir })
    const cid = CID.parse(raw.blocks[0][0])
    expect(files.length).toBeGreaterThan(1)
    await expect(relabelled.getBytes(cid)).rejects.toThrow(BlockIntegrityError)
    // a length no block has: refused before anything is allocated for it
    raw.blocks[0][2] = 2 ** 40
    writeFileSync(index.indexPath, JSON.stringify(raw))
    await expect(openFolderBlockstore({ dir: hub.blocks.dir })).rejects.toThrow(StorageError)
    writeFileSync(index.indexPath, '{"format":"verity-pack-index/v1","pack":"../../etc/passwd","blocks":[]}')
    await expect(openFolderBlockstore({ dir: hub.blocks.dir })).rejects.toThrow(StorageError)
  })
})
