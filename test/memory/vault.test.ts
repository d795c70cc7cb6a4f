import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  EmbedderMismatchError,
  IntegrityError,
  InvalidInputError,
  InvalidStateError,
  NotFoundError,
  TruncatedDataError,
  UnsupportedFormatError,
  VaultLockedError,
  WrongKeyError,
} from '../../src/errors.js'
import { createVault, exportVault, importVault, openVault } from '../../src/memory/index.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

let folder: { path: string; cleanup: () => void }
let path: string
const embedder = hashEmbedder(16)
const guards = [testGuard()]

beforeEach(() => {
  folder = temporaryFolder()
  path = join(folder.path, 'vault')
})
afterEach(() => folder.cleanup())

function segmentFiles(vaultPath: string): string[] {
  return readdirSync(join(vaultPath, 'segments')).filter((name) => /^[0-9a-f]{64}$/.test(name))
}

describe('vault round trip', () => {
  it('adds, gets, updates, deletes, lists and searches, and all of it survives close/open', async () => {
    const vault = await createVault({ path, guards, embedder })
    const tea = await vault.add({ text: 'the user drinks green tea every morning', metadata: { topic: 'drinks' }, id: 'tea' })
    const batch = await vault.add([
      { text: 'the meeting with Ada is on monday', metadata: { topic: 'calendar' } },
      { text: 'the user dislikes coffee', metadata: { topic: 'drinks' }, namespace: 'alice' },
      { text: 'a vector given by the caller', embedding: new Array(16).fill(0).map((_, i) => (i === 3 ? 1 : 0)) },
    ])
    expect(batch).toHaveLength(3)
    expect(vault.get('tea')?.text).toBe('the user drinks green tea every morning')
    expect(vault.get('tea')?.embedding).toHaveLength(16)
    expect(vault.get('nope')).toBeUndefined()

    const updated = await vault.update({ id: 'tea', text: 'the user drinks black tea every morning', metadata: { topic: 'tea' } })
    expect(updated.createdAt).toBe(tea.createdAt)
    expect(updated.embedding).not.toEqual(tea.embedding)
    await vault.delete(batch[0]!.id)

    const hits = await vault.search({ query: 'black tea', k: 2 })
    expect(hits[0]?.record.id).toBe('tea')
    const textHits = await vault.search({ query: 'coffee', mode: 'text' })
    expect(textHits.map((hit) => hit.record.text)).toEqual(['the user dislikes coffee'])
    const filtered = await vault.search({ query: 'the user', mode: 'hybrid', metadata: { topic: 'drinks' } })
    expect(filtered.map((hit) => hit.record.namespace)).toEqual(['alice'])
    const inNamespace = await vault.search({ query: 'the user', namespace: 'alice' })
    expect(inNamespace.map((hit) => hit.record.namespace)).toEqual(['alice'])
    const byVector = await vault.search({ vector: new Array(16).fill(0).map((_, i) => (i === 3 ? 1 : 0)), k: 1 })
    expect(byVector[0]?.record.text).toBe('a vector given by the caller')

    const page1 = vault.list({ limit: 2 })
    expect(page1.total).toBe(3)
    expect(page1.records).toHaveLength(2)
    const page2 = vault.list({ limit: 2, cursor: page1.nextCursor })
    expect(page2.records).toHaveLength(1)
    expect(page2.nextCursor).toBeUndefined()
    expect(vault.list({ namespace: 'alice' }).records.map((record) => record.text)).toEqual(['the user dislikes coffee'])
    const before = vault.list({ limit: 100 }).records
    await vault.close()

    const again = await openVault({ path, guards, embedder })
    expect(again.list({ limit: 100 }).records).toEqual(before)
    expect(again.get('tea')?.metadata).toEqual({ topic: 'tea' })
    expect((await again.search({ query: 'black tea', k: 1 }))[0]?.record.id).toBe('tea')
    await again.close()
  })

  it('refuses bad input with typed errors and writes nothing', async () => {
    const vault = await createVault({ path, guards, embedder })
    await vault.add({ text: 'one', id: 'a' })
    const sequence = vault.info().sequence
    await expect(vault.add({ text: 'dup', id: 'a' })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(vault.add({ text: 'bad id', id: 'no spaces' })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(vault.add({ text: 'x', embedding: [1, 2, 3] })).rejects.toBeInstanceOf(EmbedderMismatchError)
    await expect(vault.add({ text: 'x', embedding: new Array(16).fill(Number.NaN) })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(vault.add({ text: 'x', embedding: new Array(16).fill(0) })).rejects.toThrow(/all zeros/)
    await expect(vault.add({ text: 42 } as never)).rejects.toBeInstanceOf(InvalidInputError)
    await expect(vault.update({ id: 'missing', text: 'x' })).rejects.toBeInstanceOf(NotFoundError)
    await expect(vault.delete(['a', 'missing'])).rejects.toBeInstanceOf(NotFoundError)
    await expect(vault.search({ vector: [1, 2] })).rejects.toThrow(/wrong dimension/)
    await expect(vault.search({ k: 3 } as never)).rejects.toBeInstanceOf(InvalidInputError)
    expect(vault.info().sequence).toBe(sequence)
    expect(vault.get('a')?.text).toBe('one')
    await vault.close()
    await expect(vault.add({ text: 'closed' })).rejects.toBeInstanceOf(InvalidStateError)
  })

  it('exports to one .vault file and imports it into a fresh folder that searches the same', async () => {
    const vault = await createVault({ path, guards, embedder })
    await vault.add([{ text: 'alpha memory about rust' }, { text: 'beta memory about tea' }, { text: 'gamma about the sea' }])
    const expected = (await vault.search({ query: 'tea', k: 3 })).map((hit) => hit.record.id)
    await vault.close()
    const archive = join(folder.path, 'memory.vault')
    const exported = await exportVault({ path, out: archive })
    expect(exported.files).toBe(1 + segmentFiles(path).length)
    const target = join(folder.path, 'restored')
    await importVault({ file: archive, to: target })
    const restored = await openVault({ path: target, guards, embedder, readOnly: true })
    expect((await restored.search({ query: 'tea', k: 3 })).map((hit) => hit.record.id)).toEqual(expected)
    await restored.close()
    await expect(importVault({ file: archive, to: target })).rejects.toBeInstanceOf(InvalidInputError)
    const damaged = readFileSync(archive)
    damaged[damaged.length - 100] = (damaged[damaged.length - 100] as number) ^ 1
    writeFileSync(join(folder.path, 'damaged.vault'), damaged)
    await expect(importVault({ file: join(folder.path, 'damaged.vault'), to: join(folder.path, 'x') })).rejects.toBeInstanceOf(
      IntegrityError,
    )
    writeFileSync(join(folder.path, 'short.vault'), damaged.subarray(0, 20))
    await expect(importVault({ file: join(folder.path, 'short.vault'), to: join(folder.path, 'y') })).rejects.toBeInstanceOf(
      TruncatedDataError,
    )
  })

  it('compacts: drops tombstones and old versions, keeps every live record', async () => {
    const vault = await createVault({ path, guards, embedder })
    for (let index = 0; index < 6; index++) await vault.add({ text: `memory ${index}`, id: `m${index}` })
    await vault.update({ id: 'm1', text: 'memory one, updated' })
    await vault.delete(['m2', 'm3'])
    const before = vault.list().records
    const result = await vault.compact()
    expect(result).toEqual({ segmentsBefore: 8, segmentsAfter: 1, records: 4 })
    expect(segmentFiles(path)).toHaveLength(2) // one operations segment + the index snapshot
    await vault.close()
    const again = await openVault({ path, guards, embedder })
    expect(again.list().records).toEqual(before)
    expect(again.info().indexSource).toBe('snapshot')
    await again.close()
  })

  it('merges a long tail of small segments so single adds keep the manifest small', async () => {
    const vault = await createVault({ path, guards, embedder })
    for (let index = 0; index < 40; index++) await vault.add({ text: `note ${index}`, id: `n${index}` })
    expect(vault.info().segments).toBeLessThanOrEqual(33)
    expect(segmentFiles(path)).toHaveLength(vault.info().segments)
    await vault.close()
    const again = await openVault({ path, guards, embedder })
    expect(again.list({ limit: 1000 }).total).toBe(40)
    await again.close()
  })

  it('restores the index from its encrypted snapshot and replays only newer segments', async () => {
    const vault = await createVault({ path, guards, embedder, snapshotThreshold: 3 })
    await vault.add([{ text: 'one fish' }, { text: 'two fish' }, { text: 'red fish' }])
    await vault.close()
    const second = await openVault({ path, guards, embedder, snapshotThreshold: 100 })
    expect(second.info().indexSource).toBe('snapshot')
    await second.add({ text: 'blue fish', id: 'blue' })
    await second.delete(second.list().records.find((record) => record.text === 'one fish')!.id)
    await second.close() // below the threshold: no new snapshot, the two segments are replayed
    const third = await openVault({ path, guards, embedder })
    expect(third.info().indexSource).toBe('snapshot')
    const hits = await third.search({ query: 'fish', mode: 'text', k: 10 })
    expect(hits.map((hit) => hit.record.text).sort()).toEqual(['blue fish', 'red fish', 'two fish'])
    await third.close()
  })
})

describe('vault faults', () => {
  it('wrong passphrase: WrongKeyError naming the vault', async () => {
    await (await createVault({ path, guards, embedder })).close()
    const error = await openVault({ path, guards: [testGuard('not it')] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(WrongKeyError)
    expect((error as WrongKeyError).details).toContain(path)
  })

  it('truncated segment: typed error naming the file, nothing misread', async () => {
    const vault = await createVault({ path, guards, embedder })
    await vault.add({ text: 'x'.repeat(200_000) })
    await vault.close()
    const [name] = segmentFiles(path)
    const file = join(path, 'segments', name!)
    truncateSync(file, 65_536 + 16 + 72)
    const error = await openVault({ path, guards }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(IntegrityError)
    expect((error as IntegrityError).details).toContain(name)
  })

  it('newer or foreign format version: UnsupportedFormatError', async () => {
    await (await createVault({ path, guards, embedder })).close()
    const commit = join(path, 'vault.json')
    const text = readFileSync(commit, 'utf8')
    writeFileSync(commit, text.replace('"formatVersion":2', '"formatVersion":3'))
    const newer = await openVault({ path, guards }).catch((caught: unknown) => caught)
    expect(newer).toBeInstanceOf(UnsupportedFormatError)
    expect((newer as UnsupportedFormatError).hint).toMatch(/newer Verity/)
    writeFileSync(commit, text.replace('"format":"verity-vault"', '"format":"other-vault"'))
    await expect(openVault({ path, guards })).rejects.toBeInstanceOf(UnsupportedFormatError)
  })

  it('mismatching embedder or wrong-dimension vector: EmbedderMismatchError naming both', async () => {
    await (await createVault({ path, guards, embedder })).close()
    const error = await openVault({ path, guards, embedder: hashEmbedder(32) }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(EmbedderMismatchError)
    expect((error as EmbedderMismatchError).details).toContain('test/hash-embedder-16')
    expect((error as EmbedderMismatchError).details).toContain('test/hash-embedder-32')
    const other = await openVault({ path, guards, embedder: hashEmbedder(16, 'another-model') }).catch(
      (caught: unknown) => caught,
    )
    expect(other).toBeInstanceOf(EmbedderMismatchError)
  })

  it('a second writer gets VaultLockedError with a hint; a read-only open still works', async () => {
    const vault = await createVault({ path, guards, embedder })
    await vault.add({ text: 'held' })
    const error = await openVault({ path, guards }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(VaultLockedError)
    expect((error as VaultLockedError).hint).toMatch(/Close the other process/)
    const reader = await openVault({ path, guards, readOnly: true })
    expect(reader.list().total).toBe(1)
    await expect(reader.add({ text: 'no' })).rejects.toBeInstanceOf(InvalidStateError)
    await reader.close()
    await vault.close()
    await (await openVault({ path, guards })).close()
  })

  it('not a vault: NotFoundError', async () => {
    await expect(openVault({ path: join(folder.path, 'nothing'), guards })).rejects.toBeInstanceOf(NotFoundError)
  })
})

describe('vault keys', () => {
  it('grant lets another passphrase open; revoke cuts it off for later writes; old data stays readable to holders', async () => {
    const owner = testGuard('owner passphrase')
    const friend = testGuard('friend passphrase')
    const vault = await createVault({ path, guards: [owner], embedder })
    await vault.add({ text: 'before the grant', id: 'a' })
    await expect(vault.grant(friend)).rejects.toBeInstanceOf(InvalidInputError) // same kind+recipient ('passphrase')
    expect(vault.grants()).toEqual([
      { kind: 'passphrase', recipient: 'passphrase', keyId: vault.info().keyId, version: 1, write: true },
    ])
    await vault.close()

    // A guard with another recipient: wrap like the passphrase guard, but name the recipient.
    const named = (passphrase: string, recipient: string) => {
      const inner = testGuard(passphrase)
      return {
        specificationVersion: 'v1' as const,
        kind: 'passphrase',
        wrap: async (key: Uint8Array, context: { vaultId: string; keyId: string }) => ({
          ...(await inner.wrap(key, context)),
          recipient,
        }),
        unwrap: inner.unwrap,
      }
    }
    const writer = await openVault({ path, guards: [owner], embedder })
    const grant = await writer.grant(named('friend passphrase', 'friend'))
    expect(grant.recipient).toBe('friend')
    expect(writer.grants().map((entry) => entry.recipient)).toEqual(['passphrase', 'friend'])
    await writer.close()

    const friendView = await openVault({ path, guards: [friend], readOnly: true })
    expect(friendView.get('a')?.text).toBe('before the grant')
    await friendView.close()

    const revoker = await openVault({ path, guards: [owner], embedder })
    const oldKey = revoker.info().keyId
    const { keyId } = await revoker.revoke('friend', { guards: [owner] })
    expect(keyId).not.toBe(oldKey)
    await revoker.add({ text: 'after the revocation', id: 'b' })
    expect(revoker.grants().map((entry) => entry.recipient)).toEqual(['passphrase'])
    await revoker.close()

    await expect(openVault({ path, guards: [friend] })).rejects.toBeInstanceOf(WrongKeyError)
    const ownerView = await openVault({ path, guards: [owner], readOnly: true })
    expect(ownerView.get('a')?.text).toBe('before the grant') // old segment, old key from the keyring
    expect(ownerView.get('b')?.text).toBe('after the revocation')
    await ownerView.close()
  })

  it('rotate re-encrypts every segment under a fresh key', async () => {
    const vault = await createVault({ path, guards, embedder })
    await vault.add([{ text: 'first' }, { text: 'second' }])
    await vault.add({ text: 'third' })
    const before = new Set(segmentFiles(path))
    const oldKeyId = vault.info().keyId
    const { keyId, segments } = await vault.rotate()
    expect(keyId).not.toBe(oldKeyId)
    expect(segments).toBe(1)
    const after = segmentFiles(path)
    expect(after.some((name) => before.has(name))).toBe(false)
    const commit = JSON.parse(readFileSync(join(path, 'vault.json'), 'utf8'))
    expect(commit.manifest.keyring).toEqual([])
    expect(commit.manifest.segments.every((entry: { keyId: string }) => entry.keyId === keyId)).toBe(true)
    await vault.close()
    const again = await openVault({ path, guards })
    expect(
      again
        .list()
        .records.map((record) => record.text)
        .sort(),
    ).toEqual(['first', 'second', 'third'])
    await again.close()
  })
})
