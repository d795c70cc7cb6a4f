import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addFolder } from '../../src/hub/add-folder.js'
import { parseCid } from '../../src/hub/block-check.js'
import { exportCar, importCar } from '../../src/hub/car-file.js'
import { exportFolder } from '../../src/hub/export-folder.js'
import { openHub } from '../../src/hub/open-hub.js'
import { KUBO_ADD_FLAGS, UNIXFS_CHUNK_SIZE } from '../../src/hub/unixfs-settings.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { runVerity } from '../e2e/run-process.js'
import { MODEL_DIR, patternBytes, writeNestedFolder } from './files.js'
import { type Kubo, startKubo } from './kubo.js'

// A real kubo v0.42.0 (built by scripts/setup-kubo.sh), offline, loopback only, its own repo.
const work = mkdtempSync(join(tmpdir(), 'verity-hub-kubo-'))
let kubo: Kubo
const kuboAdd = async (path: string) => (await kubo.ipfs(['add', '-r', '-Q', '--hidden', ...KUBO_ADD_FLAGS, path])).trim()

beforeAll(async () => {
  kubo = await startKubo()
}, 120_000)

afterAll(async () => {
  await kubo?.stop()
  rmSync(work, { recursive: true, force: true })
})

const sizes = [0, 1, 262_144, UNIXFS_CHUNK_SIZE - 1, UNIXFS_CHUNK_SIZE, UNIXFS_CHUNK_SIZE + 1, 3 * UNIXFS_CHUNK_SIZE + 12_345]

describe('CIDs equal kubo’s `ipfs add -r --cid-version 1 --raw-leaves --chunker=size-1048576`', () => {
  it.each(sizes)('a folder holding one file of %i bytes (file and folder CIDs)', async (size) => {
    const dir = join(work, `size-${size}`)
    mkdirSync(dir)
    writeFileSync(join(dir, 'data.bin'), patternBytes(`size-${size}`, size))
    const ours = await addFolder({ dir, blockstore: { put: async (cid) => cid } })
    expect(ours.cid.toString()).toBe(await kuboAdd(dir))
    expect(ours.files[0]?.cid.toString()).toBe(await kuboAdd(join(dir, 'data.bin')))
    if (size > UNIXFS_CHUNK_SIZE) expect(ours.files[0]?.cid.code).toBe(0x70) // a dag-pb file node over raw leaves
    if (size <= UNIXFS_CHUNK_SIZE) expect(ours.files[0]?.cid.code).toBe(0x55) // a single raw block
  })

  it('a nested folder (model package, sub-folders, an empty file and an empty folder)', async () => {
    const dir = join(work, 'nested')
    writeNestedFolder(dir)
    const ours = await addFolder({ dir, blockstore: { put: async (cid) => cid } })
    expect(ours.cid.toString()).toBe(await kuboAdd(dir))
    expect((await addFolder({ dir: MODEL_DIR, blockstore: { put: async (cid) => cid } })).cid.toString()).toBe(
      await kuboAdd(MODEL_DIR),
    )
  })
})

describe('CAR files both ways', () => {
  it('a CAR Verity exports imports into kubo (ipfs dag import) and kubo serves the package back', async () => {
    const source = join(work, 'car-out-source')
    writeNestedFolder(source)
    const hub = await openHub({ dir: join(work, 'hub-car-out') })
    const { cid } = await addFolder({ dir: source, blockstore: hub.blocks })
    const file = join(work, 'verity.car')
    await exportCar({ root: cid, blockstore: hub.blocks, file })
    const imported = await kubo.ipfs(['dag', 'import', '--stats', file])
    expect(imported).toContain(cid.toString())
    for (const path of ['verity-model.json', 'vk.key', 'extra/weights.bin', 'extra/deeper/empty.txt']) {
      const response = await fetch(`${kubo.gateway}/ipfs/${cid.toString()}/${path}`)
      expect(response.status, path).toBe(200)
      expect(Buffer.from(await response.arrayBuffer()).equals(readFileSync(join(source, path))), path).toBe(true)
    }
    // kubo re-exports exactly the same DAG
    const back = await kubo.ipfsBytes(['dag', 'export', cid.toString()])
    expect(Buffer.compare(back, readFileSync(file))).toBe(0)
  }, 120_000)

  it('a CAR kubo exports (ipfs dag export) imports into Verity and writes out the same folder', async () => {
    const source = join(work, 'car-in-source')
    writeNestedFolder(source)
    const root = await kuboAdd(source)
    const file = join(work, 'kubo.car')
    writeFileSync(file, await kubo.ipfsBytes(['dag', 'export', root]))
    const hub = await openHub({ dir: join(work, 'hub-car-in') })
    const { roots, blocks } = await importCar({ source: file, blockstore: hub.blocks })
    expect(roots.map(String)).toEqual([root])
    expect(blocks).toBeGreaterThan(3)
    const out = join(work, 'car-in-out')
    await exportFolder({ cid: parseCid(root), blockstore: hub.blocks, to: out })
    for (const path of ['verity-model.json', 'kzg.srs', 'extra/weights.bin', 'extra/deeper/note.txt'])
      expect(readFileSync(join(out, path)).equals(readFileSync(join(source, path))), path).toBe(true)
    expect(readFileSync(join(out, 'extra', 'deeper', 'empty.txt')).length).toBe(0)
  }, 120_000)
})

describe('verity hub pull --from kubo’s gateway', () => {
  it('pulls a package kubo added, checks every block and installs a loadable model package', async () => {
    const cid = await kuboAdd(MODEL_DIR)
    const hubDir = join(work, 'hub-pull-kubo')
    const to = join(work, 'pulled-from-kubo')
    const result = await runVerity(['hub', 'pull', cid, '--from', kubo.gateway, '--to', to, '--hub', hubDir, '--json'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const pulled = JSON.parse(result.stdout) as { cid: string; blocks: number; fetchedBlocks: number; dir: string }
    expect(pulled.cid).toBe(cid)
    expect(pulled.fetchedBlocks).toBe(pulled.blocks)
    const model = loadModelPackage({ dir: to })
    expect(model.digest).toBe(loadModelPackage({ dir: MODEL_DIR }).digest)
  }, 120_000)
})
