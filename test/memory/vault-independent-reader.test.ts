import { createDecipheriv, createHmac, createPublicKey, hkdfSync, scryptSync, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { passphraseGuard } from '../../src/access/passphrase-guard.js'
import { createVault, exactIndexFactory, openVault } from '../../src/memory/index.js'
import { TEST_COST, temporaryFolder } from './helpers.js'

/**
 * A reader written from docs/vault-format.md alone (node:crypto primitives only, none of the vault
 * code) opens a passphrase vault written by the library: signature, passphrase stanza (NFKC,
 * scrypt, associated data, body), MAC, keyring, segment header, STREAM chunks, operations.
 */

// ----- the independent reader --------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
/** RFC 8785 for the JSON a vault holds (strings, integers, objects, arrays). */
function canonical(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const keys = Object.keys(value).sort()
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key] as Json)}`).join(',')}}`
}
const hkdf32 = (key: Buffer, vaultId: string, info: string) =>
  Buffer.from(hkdfSync('sha256', key, Buffer.from(vaultId, 'hex'), Buffer.from(info, 'utf8'), 32))
function gcmOpen(key: Buffer, nonce: Buffer, sealed: Buffer, associatedData: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAAD(associatedData)
  decipher.setAuthTag(sealed.subarray(sealed.length - 16))
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()])
}

type Memory = { id: string; text: string; metadata: Json; namespace: string; embedding: number[] }

function readPassphraseVault(folder: string, passphrase: string): Map<string, Memory> {
  const commit = JSON.parse(readFileSync(join(folder, 'vault.json'), 'utf8'))
  const { header, manifest } = commit
  expect(header.format).toBe('verity-vault')
  expect(header.formatVersion).toBe(2)
  const vaultId: string = header.vaultId
  // writer signature: Ed25519 over "verity/vault/v2/commit\n" || canonical({ header, manifest })
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(header.writer.publicKey, 'hex')])
  const message = Buffer.concat([Buffer.from('verity/vault/v2/commit\n'), Buffer.from(canonical({ header, manifest }))])
  expect(
    verify(null, message, createPublicKey({ key: spki, format: 'der', type: 'spki' }), Buffer.from(commit.signature, 'hex')),
  ).toBe(true)
  // passphrase stanza of the current key
  let dataKey: Buffer | undefined
  for (const stanza of header.stanzas) {
    if (stanza.kind !== 'passphrase' || stanza.keyId !== manifest.keyId) continue
    const { salt, logN, r, p } = stanza.params
    const wrappingKey = scryptSync(Buffer.from(passphrase.normalize('NFKC'), 'utf8'), Buffer.from(salt, 'base64'), 32, {
      N: 2 ** logN,
      r,
      p,
      maxmem: 256 * 1024 * 1024,
    })
    const associatedData = Buffer.from(
      canonical({ kind: stanza.kind, version: stanza.version, keyId: stanza.keyId, vaultId, params: stanza.params }),
    )
    const body = Buffer.from(stanza.body, 'base64')
    try {
      const payload = gcmOpen(wrappingKey, body.subarray(0, 12), body.subarray(12), associatedData)
      expect([32, 64]).toContain(payload.length)
      dataKey = payload.subarray(0, 32)
      break
    } catch {
      // another passphrase's stanza
    }
  }
  if (!dataKey) throw new Error('no stanza opens with this passphrase')
  // MAC
  const mac = createHmac('sha256', hkdf32(dataKey, vaultId, 'verity/vault/v1/manifest-mac'))
    .update(canonical({ header, manifest }))
    .digest('hex')
  expect(mac).toBe(commit.mac)
  // keyring: old keys sealed under the current one
  const keys = new Map<string, Buffer>([[manifest.keyId, dataKey]])
  const ringKey = hkdf32(dataKey, vaultId, 'verity/vault/v1/keyring')
  for (const entry of manifest.keyring)
    keys.set(
      entry.keyId,
      gcmOpen(
        ringKey,
        Buffer.from(entry.nonce, 'base64'),
        Buffer.from(entry.sealed, 'base64'),
        Buffer.from(`verity/vault/v1/keyring/${vaultId}/${entry.keyId}`),
      ),
    )
  // operations segments, in manifest order
  const dimension: number = header.embedder.dimension
  const records = new Map<string, Memory>()
  for (const entry of manifest.segments) {
    if (entry.kind !== 'operations') continue
    const file = readFileSync(join(folder, 'segments', entry.digest.slice('sha256:'.length)))
    expect(file.length).toBe(entry.bytes)
    expect(file.subarray(0, 8).toString('latin1')).toBe('VERITYSG')
    expect(file.readUInt16BE(8)).toBe(1)
    expect(file[10]).toBe(1)
    expect(file.subarray(12, 28).toString('hex')).toBe(vaultId)
    expect(file.subarray(28, 44).toString('hex')).toBe(entry.id)
    expect(Number(file.readBigUInt64BE(44))).toBe(entry.sequence)
    expect(file.subarray(52, 68).toString('hex')).toBe(entry.keyId)
    const chunkSize = file.readUInt32BE(68)
    const header72 = file.subarray(0, 72)
    const segmentKey = hkdf32(keys.get(entry.keyId) as Buffer, vaultId, `verity/vault/v1/segment/${entry.id}`)
    const sealed = file.subarray(72)
    const chunks: Buffer[] = []
    for (let index = 0, offset = 0; offset < sealed.length || index === 0; index++) {
      const length = Math.min(chunkSize + 16, sealed.length - offset)
      const last = offset + length === sealed.length
      const nonce = Buffer.alloc(12)
      nonce.writeUIntBE(index, 5, 6) // u88(i): the low 6 of 11 bytes suffice here
      nonce[11] = last ? 1 : 0
      chunks.push(gcmOpen(segmentKey, nonce, sealed.subarray(offset, offset + length), header72))
      offset += length
      if (last) break
    }
    const plaintext = Buffer.concat(chunks)
    let at = 0
    expect(plaintext.readUInt32BE(at)).toBe(dimension)
    const count = plaintext.readUInt32BE(at + 4)
    at += 8
    for (let index = 0; index < count; index++) {
      const type = plaintext[at] as number
      const length = plaintext.readUInt32BE(at + 1)
      const json = JSON.parse(plaintext.subarray(at + 5, at + 5 + length).toString('utf8'))
      at += 5 + length
      if (type === 1) {
        const embedding: number[] = []
        for (let component = 0; component < dimension; component++) embedding.push(plaintext.readFloatLE(at + component * 4))
        at += dimension * 4
        records.delete(json.id)
        records.set(json.id, { id: json.id, text: json.text, metadata: json.metadata, namespace: json.namespace, embedding })
      } else {
        expect(type).toBe(2)
        records.delete(json.id)
      }
    }
    expect(at).toBe(plaintext.length)
  }
  return records
}

// ----- the test ----------------------------------------------------------------------------

const folder = temporaryFolder()
afterAll(() => folder.cleanup())

describe('a reader written from docs/vault-format.md alone', () => {
  it('opens a passphrase vault the library wrote (NFKC passphrase, revoked key in the keyring, multi-chunk segments, deletes)', async () => {
    const path = join(folder.path, 'vault')
    // "ﬁ" (U+FB01) and a decomposed "é": NFKC makes them "fi" and "é"
    const typed = 'con\uFB01t cafe\u0301 passphrase'
    const owner = passphraseGuard({ passphrase: typed, cost: TEST_COST })
    const stateFolder = join(folder.path, 'state')
    const vault = await createVault({
      path,
      guards: [owner],
      embedder: { id: 'test/vectors', dimension: 8 },
      index: exactIndexFactory,
      stateFolder,
    })
    const vector = (seed: number) => Array.from({ length: 8 }, (_, index) => Math.sin(seed + index))
    await vault.add(
      Array.from({ length: 900 }, (_, index) => ({
        id: `m${index}`,
        text: `memory number ${index} ${'x'.repeat(40)}`,
        metadata: { index, tag: index % 3 === 0 ? 'three' : 'other' },
        embedding: vector(index),
      })),
    )
    // a friend with another passphrase, then revoked: older segments stay under the old key (keyring)
    const friend = passphraseGuard({ passphrase: 'friend passphrase', cost: TEST_COST })
    await vault.grant({
      ...friend,
      wrap: async (key, context) => ({ ...(await friend.wrap(key, context)), recipient: 'friend' }),
    })
    await vault.revoke('friend', { guards: [owner] })
    await vault.add({ id: 'after', text: 'written under the new key', embedding: vector(-1), namespace: 'later' })
    await vault.delete(['m1', 'm2'])
    await vault.update({ id: 'm3', text: 'changed text', embedding: vector(3.5) })
    await vault.close()

    const library = await openVault({ path, guards: [owner], readOnly: true, index: exactIndexFactory, stateFolder })
    const expected = library.list({ limit: 10_000 }).records
    await library.close()
    const commit = JSON.parse(readFileSync(join(path, 'vault.json'), 'utf8'))
    expect(commit.manifest.keyring).toHaveLength(1)
    expect(commit.manifest.segments.some((entry: { bytes: number }) => entry.bytes > 65536 + 72)).toBe(true)

    const read = readPassphraseVault(path, 'confit caf\u00e9 passphrase') // the NFKC form of what was typed
    expect(read.size).toBe(expected.length)
    for (const record of expected) {
      const mine = read.get(record.id)
      expect(mine?.text).toBe(record.text)
      expect(mine?.namespace).toBe(record.namespace)
      expect(mine?.metadata).toEqual(record.metadata)
      expect(mine?.embedding).toEqual([...record.embedding])
    }
    expect(read.has('m1')).toBe(false)
    expect(read.get('m3')?.text).toBe('changed text')
    expect(read.get('after')?.namespace).toBe('later')
  })
})
