import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StorageError } from '../../src/errors.js'
import {
  createVault,
  exactIndexFactory,
  lanceDbIndexFactory,
  openVault,
  type VectorIndex,
  type VectorIndexFactory,
} from '../../src/memory/index.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

/**
 * The index is updated while the segment and commit are being written. When one side fails,
 * the index must be brought back in step with what is committed before anyone reads it.
 */

let folder: { path: string; cleanup: () => void }
let path: string
const embedder = hashEmbedder(16)
const guards = [testGuard()]

beforeEach(() => {
  folder = temporaryFolder()
  path = join(folder.path, 'vault')
})
afterEach(() => folder.cleanup())

/** Wraps a real index factory; while `failing.upserts > 0` each upsert/remove throws (after doing nothing). */
function flakyIndex(inner: VectorIndexFactory) {
  const failing = { upserts: 0, removes: 0 }
  const factory: VectorIndexFactory = {
    id: inner.id,
    async open(parameters) {
      const index = await inner.open(parameters)
      const wrapped: VectorIndex = {
        dimension: index.dimension,
        upsert: async (records) => {
          if (failing.upserts > 0) {
            failing.upserts--
            throw new StorageError('injected index failure (upsert)')
          }
          return index.upsert(records)
        },
        remove: async (ids) => {
          if (failing.removes > 0) {
            failing.removes--
            throw new StorageError('injected index failure (remove)')
          }
          return index.remove(ids)
        },
        search: (search) => index.search(search),
        count: () => index.count(),
        snapshot: (sequence) => index.snapshot(sequence),
        close: () => index.close(),
      }
      return wrapped
    },
  }
  return { factory, failing }
}

describe.each([
  ['exact index', exactIndexFactory],
  ['LanceDB index', lanceDbIndexFactory],
])('vault index stays in step with commits (%s)', (_name, inner) => {
  it('an index failure after the commit: the write is acknowledged and the next search finds it', async () => {
    const { factory, failing } = flakyIndex(inner)
    const vault = await createVault({ path, guards, embedder, index: factory })
    await vault.add({ id: 'tea', text: 'green tea in the morning' })
    failing.upserts = 1
    const added = await vault.add({ id: 'boat', text: 'the blue sailing boat' })
    expect(added.id).toBe('boat')
    expect(vault.get('boat')?.text).toBe('the blue sailing boat')
    const hits = await vault.search({ query: 'blue sailing boat', k: 1 })
    expect(hits.map((hit) => hit.record.id)).toEqual(['boat'])
    const text = await vault.search({ query: 'sailing', mode: 'text', k: 5 })
    expect(text.map((hit) => hit.record.id)).toEqual(['boat'])

    failing.removes = 1
    await vault.delete('tea')
    const afterDelete = await vault.search({ query: 'green tea morning', mode: 'text', k: 5 })
    expect(afterDelete).toEqual([])
    expect(await vault.search({ query: 'green tea morning', k: 5 })).toHaveLength(1) // only boat is left
    await vault.close()

    const reopened = await openVault({ path, guards, embedder, index: factory })
    expect((await reopened.search({ query: 'blue sailing boat', k: 1 })).map((hit) => hit.record.id)).toEqual(['boat'])
    expect(reopened.list().records.map((record) => record.id)).toEqual(['boat'])
    await reopened.close()
  })

  it('a failed commit: nothing is acknowledged and the index forgets what it was given', async () => {
    const vault = await createVault({ path, guards, embedder, index: inner })
    await vault.add({ id: 'tea', text: 'green tea in the morning' })
    // Make the commit's rename fail: a non-empty directory where the commit file goes.
    const commit = join(path, 'vault.json')
    renameSync(commit, `${commit}.aside`)
    mkdirSync(commit)
    writeFileSync(join(commit, 'blocker'), '')
    await expect(vault.add({ id: 'boat', text: 'the blue sailing boat' })).rejects.toBeInstanceOf(StorageError)
    rmSync(commit, { recursive: true })
    renameSync(`${commit}.aside`, commit)

    expect(vault.get('boat')).toBeUndefined()
    // The index had the uncommitted record: after the re-sync, k=1 still returns the committed one.
    const hits = await vault.search({ query: 'the blue sailing boat', k: 1 })
    expect(hits.map((hit) => hit.record.id)).toEqual(['tea'])
    expect(await vault.search({ query: 'sailing', mode: 'text', k: 5 })).toEqual([])
    // The same id can be added afterwards, and it is found.
    await vault.add({ id: 'boat', text: 'the blue sailing boat' })
    expect((await vault.search({ query: 'the blue sailing boat', k: 1 })).map((hit) => hit.record.id)).toEqual(['boat'])
    await vault.close()
    const reopened = await openVault({ path, guards, embedder, index: inner })
    expect(reopened.list().total).toBe(2)
    await reopened.close()
  })
})

describe('records restored from an index snapshot', () => {
  it.each([
    ['exact index', exactIndexFactory],
    ['LanceDB index', lanceDbIndexFactory],
  ])('are exactly the records before close, every field (%s)', async (_name, index) => {
    const vault = await createVault({ path, guards, embedder, index, snapshotThreshold: 1 })
    await vault.add([
      { id: 'a', text: 'alpha', metadata: { topic: 'x', nested: { list: [1, 'two', null, true] } }, namespace: 'n1' },
      { id: 'b', text: 'beta ünïcödé 🐟', provenance: { source: 'unit test', traceEntry: `sha256:${'ab'.repeat(32)}` } },
      { id: 'c', text: 'gamma', metadata: JSON.parse('{"__proto__":"own key","n":-0.5}') },
      { id: 'e', text: 'epsilon', metadata: JSON.parse('{"__proto__":{"x":1}}') },
    ])
    await vault.update({ id: 'a', text: 'alpha, updated', namespace: 'n2' })
    await vault.delete('c')
    const before = vault.list().records
    await vault.close()
    const reopened = await openVault({ path, guards, embedder, index })
    expect(reopened.info().indexSource).toBe('snapshot')
    expect(reopened.list().records).toEqual(before)
    expect(reopened.get('b')).toEqual(before.find((record) => record.id === 'b'))
    // Later writes land on top of the restored records and survive another reopen (replayed, no snapshot).
    await reopened.add({ id: 'd', text: 'delta' })
    await reopened.close()
    const third = await openVault({ path, guards, embedder, index, snapshotThreshold: 1000 })
    expect(
      third
        .list()
        .records.map((record) => record.id)
        .sort(),
    ).toEqual(['a', 'b', 'd', 'e'])
    expect(Object.keys(third.get('e')?.metadata ?? {})).toEqual(['__proto__'])
    expect((await third.search({ query: 'delta', k: 1 })).map((hit) => hit.record.id)).toEqual(['d'])
    await third.close()
  })
})
