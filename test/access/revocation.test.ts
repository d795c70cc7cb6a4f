import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ownerGuard } from '../../src/access/owner-guard.js'
import { IntegrityError } from '../../src/errors.js'
import { createVault, exactIndexFactory, openVault } from '../../src/memory/index.js'
import { decodeOperations } from '../../src/memory/segment-codec.js'
import { openSegment } from '../../src/memory/segment-file.js'
import { readCommit, readSegmentBytes } from '../../src/memory/vault-files.js'
import type { SegmentEntry } from '../../src/memory/vault-format.js'
import { hashEmbedder } from '../memory/helpers.js'

/**
 * Revocation at the byte level (docs/vault-format.md "Keys over time", docs/access.md): a
 * revoked wallet that kept the data key it unwrapped before revocation, and every vault file,
 * can decrypt the segments written before the revocation and none written after it.
 */

const embedder = hashEmbedder(16)
let folder: string

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'verity-revocation-'))
})
afterAll(() => {
  rmSync(folder, { recursive: true, force: true })
})

/** What the revoked party tries: decrypt one segment file with the key it kept. */
function tryDecrypt(path: string, vaultId: string, entry: SegmentEntry, dataKey: Uint8Array, dimension: number) {
  const bytes = readSegmentBytes(path, entry)
  const plaintext = openSegment({
    bytes,
    expected: {
      kind: entry.kind,
      vaultId,
      segmentId: entry.id,
      sequence: entry.sequence,
      keyId: entry.keyId,
      digest: entry.digest,
    },
    dataKey,
    where: entry.id,
  })
  return decodeOperations(plaintext, dimension, entry.id).flatMap((operation) =>
    operation.type === 'put' ? [operation.record.text] : [],
  )
}

describe('what a revoked wallet can still decrypt', () => {
  it('the key it unwrapped before revocation opens old segments and no segment written after revocation or rotation', async () => {
    const owner = Wallet.createRandom()
    const friend = Wallet.createRandom()
    const path = join(folder, 'vault')
    const vault = await createVault({ path, guards: [ownerGuard({ wallet: owner })], embedder, index: exactIndexFactory })
    await vault.add({ text: 'written before the grant' })
    await vault.grant(ownerGuard({ publicKey: friend.signingKey.publicKey }))
    await vault.add({ text: 'written while the friend had access' })

    // the friend, while granted, unwraps the data key from its stanza (what any client of theirs holds in memory)
    const granted = readCommit(path)
    const { vaultId } = granted.header
    const friendStanza = granted.header.stanzas.find((stanza) => stanza.recipient === friend.address)
    if (!friendStanza) throw new Error('the grant wrote no stanza for the friend')
    const keptKey = await ownerGuard({ wallet: friend }).unwrap(friendStanza, { vaultId, keyId: friendStanza.keyId })
    expect(friendStanza.keyId).toBe(granted.manifest.keyId)

    await vault.revoke(friend.address, { guards: [ownerGuard({ wallet: owner })] })
    for (let index = 0; index < 3; index++) await vault.add({ text: `written after revocation ${index}` })
    await vault.close()

    const revoked = readCommit(path)
    expect(revoked.header.stanzas.map((stanza) => stanza.recipient)).toEqual([owner.address])
    expect(revoked.manifest.keyId).not.toBe(friendStanza.keyId)
    const dimension = revoked.header.embedder.dimension
    const operations = revoked.manifest.segments.filter((entry) => entry.kind === 'operations')
    const before = operations.filter((entry) => entry.keyId === friendStanza.keyId)
    const after = operations.filter((entry) => entry.keyId === revoked.manifest.keyId)
    expect(before.length).toBeGreaterThan(0)
    expect(after.length).toBeGreaterThan(0)
    expect(before.length + after.length).toBe(operations.length)

    // old segments: still readable with the kept key (until rotate or compact re-encrypts them)
    expect(before.flatMap((entry) => tryDecrypt(path, vaultId, entry, keptKey, dimension)).sort()).toEqual([
      'written before the grant',
      'written while the friend had access',
    ])
    // new segments: the kept key derives the wrong segment key, so every chunk fails authentication
    for (const entry of after) expect(() => tryDecrypt(path, vaultId, entry, keptKey, dimension)).toThrow(IntegrityError)
    // and the keyring (old keys sealed under the new key) does not give the new key away: it holds only the old one
    expect(revoked.manifest.keyring.map((entry) => entry.keyId)).toEqual([friendStanza.keyId])

    // after rotation, nothing in the vault decrypts under the kept key any more
    const reopened = await openVault({
      path,
      guards: [ownerGuard({ wallet: owner })],
      embedder,
      index: exactIndexFactory,
    })
    await reopened.rotate()
    await reopened.close()
    const rotated = readCommit(path)
    const rotatedOperations = rotated.manifest.segments.filter((entry) => entry.kind === 'operations')
    expect(rotatedOperations.length).toBeGreaterThan(0)
    expect(rotated.manifest.keyring).toEqual([])
    for (const entry of rotatedOperations) {
      expect(entry.keyId).toBe(rotated.manifest.keyId)
      expect(() => tryDecrypt(path, vaultId, entry, keptKey, dimension)).toThrow(IntegrityError)
    }
  })
})
