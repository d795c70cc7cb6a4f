import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BlockIntegrityError } from '../../src/errors.js'
import { addFolder } from '../../src/hub/add-folder.js'
import { walkDag } from '../../src/hub/dag-walk.js'
import { exportFolder } from '../../src/hub/export-folder.js'
import { openFolderBlockstore } from '../../src/hub/folder-blockstore.js'
import { openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { MODEL_DIR, patternBytes } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-blocks-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
const signer = createKeySigner({ privateKey: `0x${'33'.repeat(32)}` })

function countBlocks(dir: string): number {
  return readdirSync(dir).reduce((sum, shard) => sum + readdirSync(join(dir, shard)).length, 0)
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
    const afterFirst = countBlocks(hub.blocks.dir)
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
    expect(countBlocks(hub.blocks.dir)).toBe(afterFirst + 4)
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
    await hub.blocks.flush() // block files take their names once durable
    const vk = files.find((file) => file.path === 'vk.key')
    if (!vk) throw new Error('no vk.key')
    const path = hub.blocks.pathOf(vk.cid)
    const bytes = Buffer.from(readFileSync(path))
    bytes.writeUInt8(bytes.readUInt8(0) ^ 1, 0)
    writeFileSync(path, bytes)
    await expect(hub.blocks.getBytes(vk.cid)).rejects.toThrow(BlockIntegrityError)
    const to = join(work, 'tampered-out')
    await expect(exportFolder({ cid, blockstore: hub.blocks, to })).rejects.toThrow(BlockIntegrityError)
    expect(readdirSync(work).filter((name) => name.includes('tampered-out'))).toEqual([])
  })

  it('a written block is readable at once, and under its name with no temp file left once flushed', async () => {
    const hub = await openHub({ dir: join(work, 'hub-flush') })
    const { files } = await addFolder({ dir: MODEL_DIR, blockstore: hub.blocks })
    const vk = files.find((file) => file.path === 'vk.key')
    if (!vk) throw new Error('no vk.key')
    expect(await hub.blocks.has(vk.cid)).toBe(true)
    expect(Buffer.from(await hub.blocks.getBytes(vk.cid))).toEqual(readFileSync(join(MODEL_DIR, 'vk.key')))
    await hub.blocks.flush()
    const names = readdirSync(hub.blocks.dir).flatMap((shard) => readdirSync(join(hub.blocks.dir, shard)))
    expect(names.filter((name) => name.endsWith('.tmp'))).toEqual([])
    expect(names).toContain(vk.cid.toString())
    expect(names.length).toBe(hub.blocks.counters.written)
  })

  it('adopting a staged block links it: the staged copy stays readable, the hub copy checks out', async () => {
    const staging = await openFolderBlockstore({ dir: join(work, 'adopt-staging'), durable: false })
    const hub = await openHub({ dir: join(work, 'hub-adopt') })
    const { files } = await addFolder({ dir: MODEL_DIR, blockstore: staging })
    for (const file of files) await hub.blocks.adopt(file.cid, staging.pathOf(file.cid))
    await hub.blocks.flush()
    for (const file of files) {
      expect(readFileSync(staging.pathOf(file.cid))).toEqual(readFileSync(hub.blocks.pathOf(file.cid)))
      await expect(hub.blocks.getBytes(file.cid)).resolves.toBeInstanceOf(Uint8Array)
    }
  })
})
