import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isVerityError, StorageError } from '../../src/errors.js'
import { createVault, lanceDbIndexFactory, openVault, type VectorIndexFactory } from '../../src/memory/index.js'
import { DEFAULT_INDEX_PARENT } from '../../src/memory/lancedb-tmpfs.js'
import { readCommit } from '../../src/memory/vault-files.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

/**
 * On open, the LanceDB index snapshot is decrypted chunk by chunk straight into the index's
 * tmpfs folder. A damaged snapshot must still be reported (never silently rebuilt from, never
 * served), and must leave no plaintext folder behind.
 */

const folder = temporaryFolder()
const path = join(folder.path, 'vault')
const embedder = hashEmbedder(16)
const guards = [testGuard()]
const COUNT = 3000
let snapshotFile: string
let original: Buffer

/** This process's index folders in the tmpfs parent. */
function ownIndexFolders(): string[] {
  return readdirSync(DEFAULT_INDEX_PARENT).filter((name) => name.startsWith(`verity-index-${process.pid}-`))
}

beforeAll(async () => {
  const vault = await createVault({ path, guards, embedder })
  await vault.add(
    Array.from({ length: COUNT }, (_, index) => ({ id: `m${index}`, text: `memory ${index} about topic ${index % 7}` })),
  )
  await vault.close() // writes the snapshot (more than 1000 operations since the last one)
  const snapshot = readCommit(path).manifest.snapshot
  if (!snapshot) throw new Error('expected an index snapshot')
  snapshotFile = join(path, 'segments', snapshot.digest.slice(7))
  original = readFileSync(snapshotFile)
  expect(original.length).toBeGreaterThan(4 * 65536) // several STREAM chunks
}, 120_000)
afterAll(() => folder.cleanup())

describe('index snapshot restore', () => {
  it('restores the snapshot: every record back, search works, no rebuild', async () => {
    const vault = await openVault({ path, guards, embedder, readOnly: true })
    try {
      expect(vault.info().indexSource).toBe('snapshot')
      expect(vault.list({ limit: COUNT }).records).toHaveLength(COUNT)
      expect(vault.get('m1234')?.text).toBe('memory 1234 about topic 2')
      const [hit] = await vault.search({ query: 'memory 1234 about topic 2', k: 1, mode: 'text' })
      expect(hit?.record.id).toBe('m1234')
    } finally {
      await vault.close()
    }
  })

  it('reports a flipped byte anywhere in the snapshot, or a cut one, and leaves no index folder behind', async () => {
    const before = ownIndexFolders()
    const chunk = 65536 + 16
    const offsets = [0, 40, 71, 72, 100, chunk + 72 - 1, 2 * chunk + 500, original.length - 17, original.length - 1]
    try {
      for (const offset of offsets) {
        const damaged = Buffer.from(original)
        damaged[offset] = (damaged[offset] as number) ^ 0x04
        writeFileSync(snapshotFile, damaged)
        const outcome = await openVault({ path, guards, embedder, readOnly: true }).then(
          async (vault) => {
            await vault.close()
            return `opened (index from ${vault.info().indexSource})`
          },
          (error: unknown) => error,
        )
        if (!isVerityError(outcome)) throw new Error(`flip at byte ${offset} was not reported: ${String(outcome)}`)
      }
      for (const length of [original.length - 1, 72 + 2 * chunk, 72 + chunk - 5]) {
        writeFileSync(snapshotFile, original.subarray(0, length))
        await expect(openVault({ path, guards, embedder, readOnly: true })).rejects.toSatisfy(isVerityError)
      }
    } finally {
      writeFileSync(snapshotFile, original)
    }
    expect(ownIndexFolders()).toEqual(before)
  }, 120_000)

  it('rebuilds from the segments when an authentic snapshot cannot be loaded by the index', async () => {
    const refusing: VectorIndexFactory = {
      id: lanceDbIndexFactory.id,
      open: (parameters) => {
        if (parameters.snapshot)
          return Promise.reject(new StorageError('this index build cannot load the snapshot', { details: 'test' }))
        return lanceDbIndexFactory.open(parameters)
      },
    }
    const vault = await openVault({ path, guards, embedder, readOnly: true, index: refusing })
    try {
      expect(vault.info().indexSource).toBe('rebuild')
      expect(vault.list({ limit: COUNT }).records).toHaveLength(COUNT)
      const [hit] = await vault.search({ query: 'memory 1777 about topic 6', k: 1, mode: 'text' })
      expect(hit?.record.id).toBe('m1777')
    } finally {
      await vault.close()
    }
  }, 120_000)
})
