import { readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createVault, exportVault, openVault } from '../../src/memory/index.js'
import { isMemoryFileSystem } from '../../src/memory/lancedb-tmpfs.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

const folder = temporaryFolder()
afterAll(() => folder.cleanup())

/** Every regular file under `root` modified at or after `since` (skips unreadable entries). */
function filesUnder(root: string, since: number): string[] {
  const out: string[] = []
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return out
  }
  for (const name of names) {
    const path = join(root, name)
    try {
      const stat = statSync(path)
      if (stat.isDirectory()) out.push(...filesUnder(path, since))
      else if (stat.isFile() && stat.mtimeMs >= since) out.push(path)
    } catch {}
  }
  return out
}

describe('no plaintext on persistent disk', () => {
  it('a canary text and a canary vector appear in no file of the vault, the export or the temp dir', async () => {
    const since = Date.now() - 1000
    const canary = `canary-${Math.random().toString(36).slice(2)}-zebra-xylophone`
    const vector = Float32Array.from({ length: 16 }, (_, index) => 0.123456 + index * 0.0101)
    const vectorBytes = Buffer.from(vector.buffer)
    const path = join(folder.path, 'vault')
    const vault = await createVault({ path, guards: [testGuard()], embedder: hashEmbedder(16), snapshotThreshold: 1 })
    await vault.add({ id: 'canary', text: canary, embedding: vector, metadata: { secret: `${canary}-meta` } })
    await vault.add([{ text: `${canary} again` }, { text: 'filler' }])
    await vault.update({ id: 'canary', metadata: { secret: `${canary}-meta2` } })
    await vault.compact()
    // The index lives on a memory file system only (checked while open: close deletes it).
    const indexFolder = (vault as unknown as { state: { index: { directory?: string } } }).state.index.directory
    expect(indexFolder).toBeDefined()
    expect(isMemoryFileSystem(indexFolder as string)).toBe(true)
    await vault.close()
    const reopened = await openVault({ path, guards: [testGuard()], embedder: hashEmbedder(16) })
    expect((await reopened.search({ query: canary, mode: 'text', k: 3 })).map((hit) => hit.record.id)).toContain('canary')
    await reopened.add({ text: `${canary} third` })
    await reopened.close()
    const archive = join(folder.path, 'canary.vault')
    await exportVault({ path, out: archive })

    const persistent = [...filesUnder(path, 0), archive, ...filesUnder(tmpdir(), since)].filter(
      (file) => !isMemoryFileSystem(file),
    )
    expect(persistent.length).toBeGreaterThan(3)
    const textBytes = Buffer.from(canary, 'utf8')
    const found = persistent.filter((file) => {
      let content: Buffer
      try {
        content = readFileSync(file)
      } catch {
        return false
      }
      return content.includes(textBytes) || content.includes(vectorBytes) || content.includes(vectorBytes.subarray(0, 16))
    })
    expect(found).toEqual([])
  })
})
