import type { JsonValue, MemoryRecord } from '../../src/memory/record.js'

/**
 * Deterministic synthetic vectors for benchmarks and tests: a seeded PRNG (mulberry32) and
 * Gaussian clusters, so every run (and the baseline beside it) sees the same data.
 */

/** A seeded uniform PRNG in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type ClusteredSamplerParameters = { seed: number; centres: number; dimension: number; sigma: number }
export type ClusteredSamplerReturnType = { next: () => number; sample: () => Float32Array }

/** Samples vectors around `centres` random Gaussian centres with spread `sigma` (Box-Muller). */
export function clusteredSampler(parameters: ClusteredSamplerParameters): ClusteredSamplerReturnType {
  const next = seededRandom(parameters.seed)
  const gauss = () => Math.sqrt(-2 * Math.log(next() || 1e-9)) * Math.cos(2 * Math.PI * next())
  const centres = Array.from({ length: parameters.centres }, () => Float32Array.from({ length: parameters.dimension }, gauss))
  const sample = () =>
    (centres[Math.floor(next() * parameters.centres)] as Float32Array).map((value) => value + parameters.sigma * gauss())
  return { next, sample }
}

const WORDS = ['invoice', 'flight', 'bread', 'doctor', 'server', 'refund', 'hotel', 'soup', 'test', 'deploy']

export type SyntheticMemoriesParameters = {
  seed: number
  count: number
  queries: number
  dimension: number
  centres: number
  /** Extra metadata per record, besides `topic`. */
  metadata?: ((index: number) => Record<string, JsonValue>) | undefined
}
export type SyntheticMemoriesReturnType = { records: MemoryRecord[]; queries: Float32Array[] }

/**
 * `count` memories around Gaussian clusters (sigma 0.8), with short texts over ten topic words,
 * a `topic` metadata key and two namespaces, plus `queries` query vectors from the same clusters.
 */
export function syntheticMemories(parameters: SyntheticMemoriesParameters): SyntheticMemoriesReturnType {
  const { sample } = clusteredSampler({
    seed: parameters.seed,
    centres: parameters.centres,
    dimension: parameters.dimension,
    sigma: 0.8,
  })
  const records: MemoryRecord[] = Array.from({ length: parameters.count }, (_, i) => ({
    id: `m${i.toString(16).padStart(8, '0')}`,
    text: `memory ${i} about ${WORDS[i % 10]} and ${WORDS[(i * 7) % 10]}`,
    embedding: sample(),
    metadata: { topic: WORDS[i % 10] as string, ...parameters.metadata?.(i) },
    namespace: i % 2 ? 'agent-a' : 'agent-b',
    createdAt: i,
    updatedAt: i,
  }))
  return { records, queries: Array.from({ length: parameters.queries }, sample) }
}

function unit(vector: Float32Array): Float32Array {
  let norm = 0
  for (const x of vector) norm += x * x
  return vector.map((x) => x / Math.sqrt(norm))
}

/**
 * Exact cosine top-`k` of every query (brute force; unit vectors kept in one buffer, not as
 * objects on the heap), returned as a function giving recall@k of a result list per query.
 */
export function exactRecall(parameters: {
  records: MemoryRecord[]
  queries: Float32Array[]
  k: number
}): (results: string[][]) => number {
  const { records, queries, k } = parameters
  const dimension = records[0]?.embedding.length ?? 0
  const units = new Float32Array(records.length * dimension)
  records.forEach((record, i) => {
    units.set(unit(record.embedding), i * dimension)
  })
  const truth = queries.map((query) => {
    const q = unit(query)
    const scored = records.map((_, i) => {
      let dot = 0
      const base = i * dimension
      for (let j = 0; j < dimension; j++) dot += (units[base + j] as number) * (q[j] as number)
      return { i, dot }
    })
    scored.sort((a, b) => b.dot - a.dot)
    return new Set(scored.slice(0, k).map((s) => records[s.i]!.id))
  })
  return (results) =>
    results.reduce((sum, ids, q) => sum + ids.filter((id) => truth[q]!.has(id)).length, 0) / (queries.length * k)
}
