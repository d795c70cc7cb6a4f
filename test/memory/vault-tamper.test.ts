import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isVerityError } from '../../src/errors.js'
import { createVault, exactIndexFactory, openVault } from '../../src/memory/index.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

const folder = temporaryFolder()
const path = join(folder.path, 'vault')
const embedder = hashEmbedder(4)
const guards = [testGuard()]
let expected: string

async function readAll(): Promise<string> {
  const vault = await openVault({ path, guards, embedder, readOnly: true, index: exactIndexFactory })
  try {
    return JSON.stringify(vault.list().records.map((record) => [record.id, record.text, record.metadata, [...record.embedding]]))
  } finally {
    await vault.close()
  }
}

beforeAll(async () => {
  const vault = await createVault({ path, guards, embedder, snapshotThreshold: 1, index: exactIndexFactory })
  await vault.add({ id: 'a', text: 'alpha', metadata: { k: 1 } })
  await vault.compact() // an operations segment and an index snapshot
  await vault.add({ id: 'b', text: 'beta' })
  await vault.close()
  expected = await readAll()
})
afterAll(() => folder.cleanup())

describe('vault tamper detection', () => {
  it('detects a flipped bit in every byte of every file (typed error, never wrong data)', async () => {
    const files = ['vault.json', ...readdirSync(join(path, 'segments')).map((name) => join('segments', name))]
    expect(files.length).toBe(4) // commit file, two operations segments, one snapshot
    let flips = 0
    for (const file of files) {
      const full = join(path, file)
      const original = readFileSync(full)
      for (let offset = 0; offset < original.length; offset++) {
        const damaged = Buffer.from(original)
        damaged[offset] = (damaged[offset] as number) ^ 0x01
        writeFileSync(full, damaged)
        let outcome: unknown
        try {
          outcome = await readAll()
        } catch (error) {
          outcome = error
        }
        if (!isVerityError(outcome)) throw new Error(`flip at ${file}:${offset} was not detected: ${String(outcome)}`)
        flips++
      }
      writeFileSync(full, original)
    }
    expect(flips).toBeGreaterThan(1000)
    expect(await readAll()).toBe(expected)
  }, 300_000)
})
