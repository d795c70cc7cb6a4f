import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isVerityError } from '../../src/errors.js'
import { createVault, openVault } from '../../src/memory/index.js'
import { readCommit } from '../../src/memory/vault-files.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

/**
 * Issue 10, attack 3: when the snapshot restore fails while a covered segment's check throws, the
 * restore's rejection escaped with no handler and Node killed the process although the caller
 * caught the open's error. Read-only opens beside a compacting writer hit it in a real race.
 */

const folder = temporaryFolder()
const embedder = hashEmbedder(16)
const guards = [testGuard()]
const escaped: unknown[] = []
const onRejection = (reason: unknown) => {
  escaped.push(reason)
}
process.env.VERITY_VAULT_STATE ??= join(folder.path, 'state')

beforeEach(() => {
  escaped.length = 0
  process.on('unhandledRejection', onRejection)
})
afterEach(() => {
  process.off('unhandledRejection', onRejection)
})
afterAll(() => folder.cleanup())

const settle = () => new Promise((resolve) => setTimeout(resolve, 300))

describe('opening beside failures and a compacting writer', () => {
  it('a damaged snapshot and a missing covered segment: one typed error, no rejection escapes', async () => {
    const path = join(folder.path, 'damaged')
    const vault = await createVault({ path, guards, embedder, snapshotThreshold: 1 })
    await vault.add(Array.from({ length: 50 }, (_, index) => ({ text: `memory ${index}` })))
    await vault.add({ text: 'one more' })
    await vault.compact() // a snapshot covering the segments
    await vault.close()
    const { manifest } = readCommit(path)
    const snapshot = manifest.snapshot
    if (!snapshot) throw new Error('expected a snapshot')
    const snapshotFile = join(path, 'segments', snapshot.digest.slice(7))
    const bytes = readFileSync(snapshotFile)
    bytes[200] = (bytes[200] as number) ^ 1
    writeFileSync(snapshotFile, bytes)
    const covered = manifest.segments.find((entry) => entry.sequence <= snapshot.sequence)
    if (!covered) throw new Error('expected a covered segment')
    rmSync(join(path, 'segments', covered.digest.slice(7)))

    for (const readOnly of [true, false]) {
      const error = await openVault({ path, guards, embedder, readOnly }).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(isVerityError(error)).toBe(true)
    }
    await settle()
    expect(escaped).toEqual([])
  })

  it('read-only opens beside a writer that adds and compacts: every open succeeds or fails typed, nothing escapes (bounded)', async () => {
    const path = join(folder.path, 'race')
    const writer = await createVault({ path, guards, embedder, snapshotThreshold: 1 })
    await writer.add(Array.from({ length: 200 }, (_, index) => ({ text: `seed memory ${index}` })))
    await writer.compact()
    let writing = true
    const compactions = (async () => {
      try {
        for (let round = 0; round < 25; round++) {
          await writer.add({ text: `round ${round}` })
          await writer.compact()
        }
      } finally {
        writing = false
      }
    })()
    let opened = 0
    const failures: unknown[] = []
    const deadline = Date.now() + 60_000
    while ((writing || opened === 0) && Date.now() < deadline && opened + failures.length < 400) {
      try {
        const view = await openVault({ path, guards, embedder, readOnly: true })
        expect(view.info().records).toBeGreaterThanOrEqual(200)
        await view.close()
        opened++
      } catch (error) {
        failures.push(error)
      }
    }
    await compactions
    await writer.close()
    await settle()
    expect(escaped).toEqual([])
    expect(failures.filter((error) => !isVerityError(error))).toEqual([])
    expect(opened).toBeGreaterThan(0)
  })
})
