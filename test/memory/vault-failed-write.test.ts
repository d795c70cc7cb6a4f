import { readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createVault, exactIndexFactory, openVault } from '../../src/memory/index.js'
import { readCommit } from '../../src/memory/vault-files.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

/**
 * Issue 10, attack 4: the tail merge after a commit threw (a full disk) and `add()` rejected,
 * although the memory was committed: the caller was told it failed, yet it was durable and a
 * retry said "already exists". A reported failure must mean "not durable".
 */

const folder = temporaryFolder()
const embedder = hashEmbedder(16)
const guards = [testGuard()]
process.env.VERITY_VAULT_STATE ??= join(folder.path, 'state')
afterAll(() => folder.cleanup())

describe('a write whose housekeeping fails after the commit', () => {
  it('is acknowledged (it is durable), and the merge is done by a later write', async () => {
    const path = join(folder.path, 'vault')
    const vault = await createVault({ path, guards, embedder, index: exactIndexFactory })
    for (let index = 0; index < 32; index++) await vault.add({ id: `m${index}`, text: `memory ${index}` })
    expect(vault.info().segments).toBe(32)
    // The 33rd add commits, then merges the tail of 33 small segments: make that merge fail by
    // taking away one of the segments it must read (what a full disk or an I/O error does to it).
    const victim = readCommit(path).manifest.segments[5]
    if (!victim) throw new Error('expected segments')
    const victimPath = join(path, 'segments', victim.digest.slice(7))
    renameSync(victimPath, `${victimPath}.away`)
    const added = await vault.add({ id: 'durable', text: 'committed before the merge failed' })
    expect(added.id).toBe('durable')
    expect(vault.get('durable')?.text).toBe('committed before the merge failed')
    const onDisk = JSON.parse(readFileSync(join(path, 'vault.json'), 'utf8'))
    expect(onDisk.manifest.segments).toHaveLength(33) // committed, not merged
    renameSync(`${victimPath}.away`, victimPath)
    await vault.add({ id: 'next', text: 'the next write merges the tail' })
    expect(vault.info().segments).toBe(1)
    await vault.close()
    const again = await openVault({ path, guards, embedder, index: exactIndexFactory })
    expect(again.get('durable')?.text).toBe('committed before the merge failed')
    expect(again.info().records).toBe(34)
    await again.close()
  })
})
