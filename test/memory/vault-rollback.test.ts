import { createHmac } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/crypto/canonical-json.js'
import { hkdf } from '../../src/crypto/hkdf.js'
import * as errors from '../../src/errors.js'
import { createVault, openVault } from '../../src/memory/index.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

/**
 * Issue 10, attack 2: an older `vault.json` put back used to open silently (a deleted memory
 * returned, a newer one vanished) and the next writer's garbage collection deleted the newer
 * segments for good. This machine's rollback state refuses it with a typed error naming both
 * sequences, before anything is deleted.
 */

const folder = temporaryFolder()
const embedder = hashEmbedder(16)
const guards = [testGuard()]
const stateFolder = join(folder.path, 'state')
afterAll(() => folder.cleanup())

const segmentNames = (path: string) => readdirSync(join(path, 'segments')).sort()

describe('rollback', () => {
  it('an older vault.json put back is refused (writable and read-only), and no newer segment is deleted', async () => {
    const path = join(folder.path, 'rollback')
    const vault = await createVault({ path, guards, embedder, stateFolder })
    await vault.add({ id: 'old', text: 'a memory that is deleted later' })
    const older = readFileSync(join(path, 'vault.json'))
    await vault.delete('old')
    await vault.add({ id: 'new', text: 'a newer memory' })
    const newest = readFileSync(join(path, 'vault.json'))
    const seen = vault.info().sequence
    await vault.close()
    const segmentsBefore = segmentNames(path)

    writeFileSync(join(path, 'vault.json'), older)
    const RollbackError = (errors as Record<string, unknown>).VaultRollbackError as new () => errors.VerityError
    for (const readOnly of [false, true]) {
      const error = await openVault({ path, guards, embedder, readOnly, stateFolder }).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(RollbackError)
      expect((error as errors.VerityError).meta).toMatchObject({ seenSequence: seen, foundSequence: 1 })
    }
    expect(segmentNames(path)).toEqual(segmentsBefore) // the next writer deleted nothing

    writeFileSync(join(path, 'vault.json'), newest)
    const again = await openVault({ path, guards, embedder, stateFolder })
    expect(again.get('old')).toBeUndefined()
    expect(again.get('new')?.text).toBe('a newer memory')
    await again.close()
  })

  it('a format-1 vault opens read-only, is upgraded to a signed format 2 on its first writable open, and cannot be downgraded', async () => {
    const path = join(folder.path, 'upgrade')
    const vault = await createVault({ path, guards, embedder, stateFolder: join(folder.path, 'other-machine') })
    await vault.add({ id: 'kept', text: 'written before the upgrade' })
    await vault.close()
    // Make it what Verity 1 wrote: 32-byte stanzas, no writer, no keyEpoch, no signature, MAC only.
    const commit = JSON.parse(readFileSync(join(path, 'vault.json'), 'utf8'))
    const { vaultId } = commit.header
    const stanza = commit.header.stanzas[0]
    const payload = await guards[0]?.unwrap(stanza, { vaultId, keyId: stanza.keyId })
    const dataKey = (payload as Uint8Array).slice(0, 32)
    const header = {
      ...commit.header,
      formatVersion: 1,
      stanzas: [await guards[0]?.wrap(dataKey, { vaultId, keyId: stanza.keyId })],
    }
    delete header.writer
    const manifest = { ...commit.manifest }
    delete manifest.keyEpoch
    const macKey = hkdf({ key: dataKey, salt: Buffer.from(vaultId, 'hex'), info: 'verity/vault/v1/manifest-mac' })
    const mac = createHmac('sha256', macKey).update(canonicalJson({ header, manifest })).digest('hex')
    const version1 = canonicalJson({ header, manifest, mac })
    writeFileSync(join(path, 'vault.json'), version1)

    const view = await openVault({ path, guards, readOnly: true, stateFolder })
    expect(view.info().formatVersion).toBe(1)
    expect(view.get('kept')?.text).toBe('written before the upgrade')
    await view.close()

    const writer = await openVault({ path, guards, embedder, stateFolder })
    expect(writer.info()).toMatchObject({ formatVersion: 2, keyEpoch: 0 })
    expect(writer.grants()).toEqual([expect.objectContaining({ recipient: 'passphrase', write: true })])
    await writer.add({ id: 'after', text: 'written after the upgrade' })
    await writer.close()
    const upgraded = JSON.parse(readFileSync(join(path, 'vault.json'), 'utf8'))
    expect(upgraded.signature).toMatch(/^[0-9a-f]{128}$/)

    // putting the format-1 commit back (a downgrade past the signature) is a rollback here
    writeFileSync(join(path, 'vault.json'), version1)
    await expect(openVault({ path, guards, readOnly: true, stateFolder })).rejects.toThrow(/rolled back/)
    expect(existsSync(join(path, 'segments'))).toBe(true)
  })
})
