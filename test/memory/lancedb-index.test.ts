import { existsSync, readdirSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { seededRandom } from '../../bench/lib/clustered-data.js'
import { IntegrityError, InvalidInputError, InvalidStateError, StorageError } from '../../src/errors.js'
import { type LanceDbIndex, openLanceDbIndex } from '../../src/memory/lancedb-index.js'
import type { JsonValue, MemoryRecord } from '../../src/memory/record.js'

const DIMENSION = 16
const opened: LanceDbIndex[] = []
afterEach(async () => {
  for (const index of opened.splice(0)) await index.close()
})

async function open(parameters: Partial<Parameters<typeof openLanceDbIndex>[0]> = {}): Promise<LanceDbIndex> {
  const index = await openLanceDbIndex({ dimension: DIMENSION, ...parameters })
  opened.push(index)
  return index
}

function vectorFrom(next: () => number, dimension = DIMENSION): Float32Array {
  return Float32Array.from({ length: dimension }, () => next() * 2 - 1)
}

function record(id: string, embedding: Float32Array, extra: Partial<MemoryRecord> = {}): MemoryRecord {
  return { id, text: `memory ${id}`, embedding, metadata: {}, namespace: 'default', createdAt: 1, updatedAt: 1, ...extra }
}

function cosineDistance(a: Float32Array, b: Float32Array): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number)
    na += (a[i] as number) ** 2
    nb += (b[i] as number) ** 2
  }
  return 1 - dot / Math.sqrt(na * nb)
}

function exactTop(records: MemoryRecord[], query: Float32Array, k: number): string[] {
  return records
    .map((r) => ({ id: r.id, distance: cosineDistance(r.embedding, query) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, k)
    .map((hit) => hit.id)
}

describe('openLanceDbIndex', () => {
  it('upserts, replaces, removes and counts', async () => {
    const index = await open()
    const next = seededRandom(1)
    const records = Array.from({ length: 50 }, (_, i) => record(`r${i}`, vectorFrom(next)))
    await index.upsert(records)
    expect(await index.count()).toBe(50)
    const moved = vectorFrom(next)
    await index.upsert([record('r3', moved, { text: 'replaced text' })])
    expect(await index.count()).toBe(50)
    const hits = await index.search({ mode: 'vector', vector: moved, k: 1 })
    expect(hits[0]?.id).toBe('r3')
    expect(hits[0]?.distance).toBeCloseTo(0, 5)
    expect((await index.search({ mode: 'text', text: 'replaced', k: 5 })).map((h) => h.id)).toEqual(['r3'])
    await index.remove(['r3', 'r4', 'missing'])
    expect(await index.count()).toBe(48)
    const after = await index.search({ mode: 'vector', vector: moved, k: 50 })
    expect(after.map((h) => h.id)).not.toContain('r3')
    expect(after.map((h) => h.id)).not.toContain('r4')
    expect(after).toHaveLength(48)
  })

  it('keeps the last record when a batch repeats an id', async () => {
    const index = await open()
    const next = seededRandom(2)
    const last = vectorFrom(next)
    await index.upsert([record('same', vectorFrom(next), { text: 'first' }), record('same', last, { text: 'second' })])
    expect(await index.count()).toBe(1)
    expect((await index.search({ mode: 'text', text: 'second', k: 3 })).map((h) => h.id)).toEqual(['same'])
    expect(await index.search({ mode: 'text', text: 'first', k: 3 })).toEqual([])
  })

  it('vector search returns the exact nearest neighbours on small data', async () => {
    const index = await open()
    const next = seededRandom(3)
    const records = Array.from({ length: 300 }, (_, i) => record(`v${i}`, vectorFrom(next)))
    await index.upsert(records)
    for (let q = 0; q < 10; q++) {
      const query = vectorFrom(next)
      const hits = await index.search({ mode: 'vector', vector: query, k: 10 })
      expect(hits.map((h) => h.id)).toEqual(exactTop(records, query, 10))
      for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score)
    }
  })

  it('matches a model under random upsert/remove sequences, unfiltered and per namespace (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ put: fc.integer({ min: 0, max: 15 }), seed: fc.integer(), namespace: fc.constantFrom('a', 'b') }),
            fc.record({ del: fc.integer({ min: 0, max: 15 }) }),
          ),
          {
            maxLength: 20,
          },
        ),
        async (operations) => {
          const index = await openLanceDbIndex({ dimension: DIMENSION })
          try {
            const model = new Map<string, MemoryRecord>()
            for (const operation of operations) {
              if ('put' in operation) {
                const r = record(`p${operation.put}`, vectorFrom(seededRandom(operation.seed)), {
                  namespace: operation.namespace,
                })
                model.set(r.id, r)
                await index.upsert([r])
              } else {
                model.delete(`p${operation.del}`)
                await index.remove([`p${operation.del}`])
              }
            }
            expect(await index.count()).toBe(model.size)
            const query = vectorFrom(seededRandom(99))
            const hits = await index.search({ mode: 'vector', vector: query, k: 20 })
            expect(hits.map((h) => h.id)).toEqual(exactTop([...model.values()], query, 20))
            // A namespace holding every live row is searched without the filter: same answers either way.
            for (const namespace of ['a', 'b', 'c']) {
              const inNamespace = [...model.values()].filter((r) => r.namespace === namespace)
              const filtered = await index.search({ mode: 'vector', vector: query, k: 20, filter: { namespace } })
              expect(filtered.map((h) => h.id)).toEqual(exactTop(inNamespace, query, 20))
            }
          } finally {
            await index.close()
          }
        },
      ),
      { numRuns: 12 },
    )
  })

  it('text search finds keyword matches, hybrid ranks a both-match first', async () => {
    const index = await open()
    const next = seededRandom(4)
    const target = vectorFrom(next)
    const records = [
      record('invoice', vectorFrom(next), { text: 'The invoice for March was paid late' }),
      record(
        'both',
        target.map((x) => x + 0.01),
        { text: 'Refund the invoice to the customer' },
      ),
      record(
        'near',
        target.map((x) => x - 0.02),
        { text: 'Weather is sunny today' },
      ),
      record('other', vectorFrom(next), { text: 'Bake bread with flour and water' }),
    ]
    await index.upsert(records)
    const text = await index.search({ mode: 'text', text: 'invoice', k: 10 })
    expect(new Set(text.map((h) => h.id))).toEqual(new Set(['invoice', 'both']))
    expect(await index.search({ mode: 'text', text: 'quantum', k: 10 })).toEqual([])
    const hybrid = await index.search({ mode: 'hybrid', text: 'invoice', vector: target, k: 4 })
    expect(hybrid[0]?.id).toBe('both')
    expect(hybrid.map((h) => h.id)).toContain('near')
    // Query syntax characters are plain text, not a query language.
    expect((await index.search({ mode: 'text', text: 'invoice AND (', k: 10 })).length).toBe(2)
  })

  it('filters by namespace and metadata and excludes everything else', async () => {
    const index = await open()
    const next = seededRandom(5)
    const records: MemoryRecord[] = []
    const topics = ['billing', "it's", 'travel']
    for (let i = 0; i < 60; i++)
      records.push(
        record(`f${i}`, vectorFrom(next), {
          namespace: i % 2 ? 'agent-a' : "agent-'b'",
          metadata: { topic: topics[i % 3] as string, n: i % 4, nested: { deep: i % 5 === 0 } } as Record<string, JsonValue>,
          text: `note about invoices number ${i}`,
        }),
      )
    await index.upsert(records)
    const query = vectorFrom(next)
    const cases: { filter: { namespace?: string; metadata?: Record<string, JsonValue> }; keep: (r: MemoryRecord) => boolean }[] =
      [
        { filter: { namespace: 'agent-a' }, keep: (r) => r.namespace === 'agent-a' },
        { filter: { namespace: "agent-'b'" }, keep: (r) => r.namespace === "agent-'b'" },
        { filter: { metadata: { topic: "it's" } }, keep: (r) => r.metadata.topic === "it's" },
        { filter: { metadata: { topic: 'billing', n: 2 } }, keep: (r) => r.metadata.topic === 'billing' && r.metadata.n === 2 },
        {
          filter: { namespace: 'agent-a', metadata: { nested: { deep: true } } },
          keep: (r) => r.namespace === 'agent-a' && (r.metadata.nested as { deep: boolean }).deep,
        },
        { filter: { metadata: { n: '2' } }, keep: () => false },
        { filter: { namespace: 'nobody' }, keep: () => false },
      ]
    for (const { filter, keep } of cases) {
      const expected = records.filter(keep)
      for (const mode of ['vector', 'text', 'hybrid'] as const) {
        const hits = await index.search({ mode, vector: query, text: 'invoices', k: 100, filter })
        expect(new Set(hits.map((h) => h.id)), `${mode} ${JSON.stringify(filter)}`).toEqual(new Set(expected.map((r) => r.id)))
      }
      const top = await index.search({ mode: 'vector', vector: query, k: 3, filter })
      expect(top.map((h) => h.id)).toEqual(exactTop(expected, query, 3))
    }
  })

  it('snapshot → restore gives identical results without re-adding', async () => {
    const index = await open({ tuning: { approximateFromRows: 2000 } })
    const next = seededRandom(6)
    const records = Array.from({ length: 3000 }, (_, i) =>
      record(`s${i}`, vectorFrom(next), { text: `snapshot memory ${i % 17} tag${i % 7}`, namespace: i % 2 ? 'x' : 'y' }),
    )
    await index.upsert(records.slice(0, 2500))
    await index.upsert(records.slice(2500))
    await index.remove(['s0', 's1'])
    const snapshot = await index.snapshot(7)
    expect(snapshot.sequence).toBe(7)
    expect(await index.hasApproximateIndex()).toBe(true)
    const queries = Array.from({ length: 5 }, () => vectorFrom(next))
    const before = []
    for (const vector of queries) {
      before.push(await index.search({ mode: 'vector', vector, k: 10 }))
      before.push(await index.search({ mode: 'hybrid', vector, text: 'tag3 memory', k: 10, filter: { namespace: 'x' } }))
    }
    await index.close()
    opened.splice(opened.indexOf(index), 1)
    const restored = await open({ snapshot })
    expect(await restored.count()).toBe(2998)
    expect(await restored.hasApproximateIndex()).toBe(true)
    const after = []
    for (const vector of queries) {
      after.push(await restored.search({ mode: 'vector', vector, k: 10 }))
      after.push(await restored.search({ mode: 'hybrid', vector, text: 'tag3 memory', k: 10, filter: { namespace: 'x' } }))
    }
    expect(after).toEqual(before)
    // The restored index keeps working.
    await restored.upsert([record('fresh', queries[0]!)])
    expect((await restored.search({ mode: 'vector', vector: queries[0]!, k: 1 }))[0]?.id).toBe('fresh')
  })

  it('ranks a just-written record first in text search at any table size (no waiting for a background build)', async () => {
    const next = seededRandom(11)
    const texts = (count: number, from = 0) =>
      Array.from({ length: count }, (_, i) =>
        record(`t${from + i}`, vectorFrom(next), { text: `note ${from + i} about topic ${(from + i) % 7}` }),
      )
    for (const size of [1, 12, 400, 3000]) {
      const index = await open({ tuning: { buildDelayMs: 60_000 } }) // no background build during the test
      await index.upsert(texts(size))
      for (const target of [0, size - 1, Math.floor(size / 2)]) {
        const [top] = await index.search({ mode: 'text', text: `note ${target} about`, k: 3 })
        expect(top?.id, `size ${size}, target ${target}`).toBe(`t${target}`)
      }
      // One more write on top of an indexed table: found at once, by text and by hybrid search.
      await index.upsert(texts(1, size))
      expect((await index.search({ mode: 'text', text: `note ${size} about`, k: 3 }))[0]?.id).toBe(`t${size}`)
      const hybrid = await index.search({ mode: 'hybrid', text: `note ${size}`, vector: vectorFrom(next), k: 5 })
      expect(hybrid.map((hit) => hit.id)).toContain(`t${size}`)
    }
  }, 60_000)

  it('refuses unsafe or foreign snapshots with typed errors', async () => {
    const index = await open()
    await index.upsert([record('a', vectorFrom(seededRandom(7)))])
    const snapshot = await index.snapshot(1)
    const evil = new Map(snapshot.files)
    evil.set('../escape', new Uint8Array([1]))
    await expect(openLanceDbIndex({ dimension: DIMENSION, snapshot: { sequence: 1, files: evil } })).rejects.toBeInstanceOf(
      IntegrityError,
    )
    await expect(openLanceDbIndex({ dimension: 8, snapshot })).rejects.toBeInstanceOf(InvalidInputError)
    const foreign = new Map(snapshot.files)
    foreign.delete('verity-lancedb-index.json')
    await expect(openLanceDbIndex({ dimension: DIMENSION, snapshot: { sequence: 1, files: foreign } })).rejects.toThrow(
      /Not a LanceDB index snapshot/,
    )
  })

  it('rejects bad input with typed errors and nothing changes', async () => {
    const index = await open()
    await index.upsert([record('ok', vectorFrom(seededRandom(8)))])
    await expect(index.upsert([record('bad', new Float32Array(3).fill(1))])).rejects.toBeInstanceOf(InvalidInputError)
    await expect(index.upsert([record('nan', new Float32Array(DIMENSION).fill(Number.NaN))])).rejects.toBeInstanceOf(
      InvalidInputError,
    )
    await expect(index.upsert([record('zero', new Float32Array(DIMENSION))])).rejects.toBeInstanceOf(InvalidInputError)
    await expect(index.search({ mode: 'vector', k: 3 })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(index.search({ mode: 'text', k: 0, text: 'x' })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(index.search({ mode: 'hybrid', k: 3, vector: vectorFrom(seededRandom(9)) })).rejects.toBeInstanceOf(
      InvalidInputError,
    )
    await expect(openLanceDbIndex({ dimension: 0 })).rejects.toBeInstanceOf(InvalidInputError)
    expect(await index.count()).toBe(1)
    await index.close()
    await expect(index.count()).rejects.toBeInstanceOf(InvalidStateError)
  })

  it('lives only on a memory file system and leaves nothing behind', async () => {
    const TMPFS_MAGIC = 0x01021994
    const persistentTmp = '/tmp'
    const before = new Set(readdirSync(persistentTmp))
    const cwdBefore = new Set(readdirSync(process.cwd()))
    await expect(openLanceDbIndex({ dimension: DIMENSION, directory: process.cwd() })).rejects.toBeInstanceOf(StorageError)
    const index = await open({ tuning: { approximateFromRows: 1000 } })
    expect(Number(statfsSync(index.directory).type)).toBe(TMPFS_MAGIC)
    const next = seededRandom(10)
    await index.upsert(
      Array.from({ length: 1500 }, (_, i) => record(`t${i}`, vectorFrom(next), { text: `canary-${i} secret words` })),
    )
    await index.optimize()
    expect(await index.hasApproximateIndex()).toBe(true)
    await index.snapshot(1)
    const created = readdirSync(persistentTmp).filter(
      (name) => !before.has(name) && !name.startsWith('tsx-') && !name.startsWith('vitest'),
    )
    expect(created).toEqual([])
    expect(readdirSync(process.cwd()).filter((name) => !cwdBefore.has(name))).toEqual([])
    const folder = index.directory
    expect(existsSync(join(folder, 'memories.lance'))).toBe(true)
    await index.close()
    opened.splice(opened.indexOf(index), 1)
    expect(existsSync(folder)).toBe(false)
  })

  it('approximate index keeps recall@10 >= 0.95 on 20k clustered 384-dim vectors', async () => {
    const dimension = 384
    const next = seededRandom(11)
    const gauss = () => Math.sqrt(-2 * Math.log(next() || 1e-9)) * Math.cos(2 * Math.PI * next())
    const centres = Array.from({ length: 100 }, () => Float32Array.from({ length: dimension }, gauss))
    const sample = () => {
      const centre = centres[Math.floor(next() * centres.length)] as Float32Array
      return centre.map((value) => value + 0.8 * gauss())
    }
    const records = Array.from({ length: 20_000 }, (_, i) => record(`c${i}`, sample()))
    const index = await open({ dimension })
    for (let start = 0; start < records.length; start += 5000) await index.upsert(records.slice(start, start + 5000))
    await index.optimize()
    expect(await index.hasApproximateIndex()).toBe(true)
    let found = 0
    const queries = 30
    for (let q = 0; q < queries; q++) {
      const query = sample()
      const truth = new Set(exactTop(records, query, 10))
      const hits = await index.search({ mode: 'vector', vector: query, k: 10 })
      found += hits.filter((hit) => truth.has(hit.id)).length
    }
    const recall = found / (queries * 10)
    console.info('recall@10 at 20k', recall)
    expect(recall).toBeGreaterThanOrEqual(0.95)
  }, 120_000)
})
