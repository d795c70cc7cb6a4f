import { afterEach, describe, expect, it } from 'vitest'
import { seededRandom } from '../../bench/lib/clustered-data.js'
import { openExactIndex } from '../../src/memory/exact-index.js'
import { type LanceDbIndex, openLanceDbIndex } from '../../src/memory/lancedb-index.js'
import { fuseRankings, RRF_K } from '../../src/memory/rank-fusion.js'
import type { MemoryRecord } from '../../src/memory/record.js'
import type { VectorIndex } from '../../src/memory/vector-index.js'

const DIMENSION = 8
const opened: VectorIndex[] = []
afterEach(async () => {
  for (const index of opened.splice(0)) await index.close()
})

describe('fuseRankings', () => {
  it('breaks equal fused scores by id, whatever order the rankings list them in', () => {
    // b is first by vector and second by text, a the other way round: equal fused scores.
    const byVector = [
      { id: 'b', score: 0.9, distance: 0.1 },
      { id: 'a', score: 0.8, distance: 0.2 },
    ]
    const byText = [
      { id: 'a', score: 2 },
      { id: 'b', score: 1 },
    ]
    const expected = [
      { id: 'a', score: 1 / (RRF_K + 1) + 1 / (RRF_K + 2), distance: 0.2 },
      { id: 'b', score: 1 / (RRF_K + 1) + 1 / (RRF_K + 2), distance: 0.1 },
    ]
    expect(fuseRankings({ rankings: [byVector, byText], k: 2 })).toEqual(expected)
    expect(fuseRankings({ rankings: [byText, byVector], k: 2 })).toEqual(expected)
  })

  it('ranks equal scores inside one ranking by id before fusing, and keeps the vector distance', () => {
    const text = [
      { id: 'c', score: 1 },
      { id: 'a', score: 1 },
      { id: 'b', score: 1 },
    ]
    const vector = [{ id: 'c', score: 0.5, distance: 0.5 }]
    const hits = fuseRankings({ rankings: [text, vector], k: 3 })
    expect(hits.map((hit) => hit.id)).toEqual(['c', 'a', 'b'])
    expect(hits[0]?.distance).toBe(0.5)
    expect(hits[1]?.distance).toBeUndefined()
  })
})

describe('hybrid search', () => {
  it('ranks identically in the exact index and the LanceDB index for the same records and query', async () => {
    const next = seededRandom(7)
    // Every text holds the query word once and has the same length: the text ranking is all ties,
    // which is where the two indexes used to disagree.
    const records: MemoryRecord[] = Array.from({ length: 24 }, (_, position) => ({
      id: `m${String((position * 7) % 24).padStart(2, '0')}`,
      text: `invoice w${position}`,
      embedding: Float32Array.from({ length: DIMENSION }, () => next() * 2 - 1),
      metadata: {},
      namespace: 'default',
      createdAt: 1,
      updatedAt: 1,
    }))
    const exact = await openExactIndex({ dimension: DIMENSION })
    const lance: LanceDbIndex = await openLanceDbIndex({ dimension: DIMENSION })
    opened.push(exact, lance)
    await exact.upsert(records)
    await lance.upsert(records)
    for (const k of [3, 10]) {
      const query = {
        mode: 'hybrid' as const,
        vector: Float32Array.from({ length: DIMENSION }, () => next() * 2 - 1),
        text: 'invoice',
        k,
      }
      const [fromExact, fromLance] = await Promise.all([exact.search(query), lance.search(query)])
      expect(fromLance.map((hit) => hit.id)).toEqual(fromExact.map((hit) => hit.id))
      for (const [position, hit] of fromExact.entries()) {
        expect(fromLance[position]?.score).toBeCloseTo(hit.score, 12)
        expect(fromLance[position]?.distance).toBeCloseTo(hit.distance as number, 5)
      }
    }
  })
})
