import { z } from 'zod'
import { parseInput } from '../validation.js'
import { snapshotReader } from './index-snapshot-files.js'
import { compareHits, fuseRankings } from './rank-fusion.js'
import type { MemoryRecord } from './record.js'
import { decodeOperations, encodeOperations } from './segment-codec.js'
import { tokenize } from './tokenize.js'
import type {
  IndexHit,
  IndexSearchParameters,
  IndexSnapshot,
  IndexSnapshotReader,
  SearchFilter,
  VectorIndex,
} from './vector-index.js'

/**
 * An exact (brute-force) in-memory {@link VectorIndex}: cosine similarity over every record,
 * BM25 over tokens for text, reciprocal-rank fusion for hybrid. Right for small vaults, tests
 * and as the ground truth of recall measurements; it never touches the disk.
 */

/** Moved beside {@link VectorIndex}; re-exported here so older imports keep working. */
import type { VectorIndexFactory } from './vector-index.js'

export type { VectorIndexFactory }

const SNAPSHOT_FILE = 'exact-index.records'

type Entry = { record: MemoryRecord; unit: Float32Array; tokens: Map<string, number>; length: number }

function unitVector(vector: Float32Array): Float32Array {
  let norm = 0
  for (let index = 0; index < vector.length; index++) norm += (vector[index] as number) ** 2
  norm = Math.sqrt(norm) || 1
  const out = new Float32Array(vector.length)
  for (let index = 0; index < vector.length; index++) out[index] = (vector[index] as number) / norm
  return out
}

/**
 * True when a record passes a {@link SearchFilter} (namespace and metadata equality).
 *
 * @example
 * ```ts
 * matchesFilter(record, { namespace: 'notes', metadata: { topic: 'billing' } })
 * ```
 */
export function matchesFilter(record: MemoryRecord, filter: SearchFilter | undefined): boolean {
  if (!filter) return true
  if (filter.namespace !== undefined && record.namespace !== filter.namespace) return false
  if (filter.metadata)
    for (const [key, value] of Object.entries(filter.metadata))
      if (JSON.stringify(record.metadata[key]) !== JSON.stringify(value)) return false
  return true
}

const openSchema = z.object({ dimension: z.number().int().min(1).max(65536), snapshot: z.unknown().optional() })

export type OpenExactIndexParameters = { dimension: number; snapshot?: IndexSnapshot | IndexSnapshotReader | undefined }
export type OpenExactIndexReturnType = Promise<VectorIndex>

/**
 * Opens an exact in-memory index, optionally restoring a snapshot it wrote before.
 *
 * @example
 * ```ts
 * const index = await openExactIndex({ dimension: 384 })
 * await index.upsert([record])
 * const hits = await index.search({ vector, k: 10, mode: 'vector' })
 * ```
 */
export async function openExactIndex(parameters: OpenExactIndexParameters): OpenExactIndexReturnType {
  const { dimension } = parseInput(openSchema, parameters, { what: 'openExactIndex parameters' })
  const entries = new Map<string, Entry>()
  const documentFrequency = new Map<string, number>()
  let totalLength = 0

  const removeOne = (id: string) => {
    const entry = entries.get(id)
    if (!entry) return
    entries.delete(id)
    totalLength -= entry.length
    for (const token of entry.tokens.keys()) {
      const count = (documentFrequency.get(token) ?? 1) - 1
      if (count) documentFrequency.set(token, count)
      else documentFrequency.delete(token)
    }
  }
  const upsertOne = (record: MemoryRecord) => {
    if (record.embedding.length !== dimension)
      throw new RangeError(
        `exact index: embedding of ${record.id} has ${record.embedding.length} dimensions, expected ${dimension}`,
      )
    removeOne(record.id)
    const tokens = new Map<string, number>()
    const words = tokenize(record.text)
    for (const word of words) tokens.set(word, (tokens.get(word) ?? 0) + 1)
    for (const token of tokens.keys()) documentFrequency.set(token, (documentFrequency.get(token) ?? 0) + 1)
    totalLength += words.length
    entries.set(record.id, { record, unit: unitVector(record.embedding), tokens, length: words.length })
  }

  const snapshotFile = parameters.snapshot ? snapshotReader(parameters.snapshot).readFiles().get(SNAPSHOT_FILE) : undefined
  if (snapshotFile)
    for (const operation of decodeOperations(snapshotFile, dimension, 'exact index snapshot'))
      if (operation.type === 'put') upsertOne(operation.record)

  const vectorRanking = (vector: Float32Array, filter: SearchFilter | undefined): IndexHit[] => {
    if (vector.length !== dimension)
      throw new RangeError(`exact index: query vector has ${vector.length} dimensions, expected ${dimension}`)
    const query = unitVector(vector)
    const hits: IndexHit[] = []
    for (const entry of entries.values()) {
      if (!matchesFilter(entry.record, filter)) continue
      let dot = 0
      const unit = entry.unit
      for (let index = 0; index < dimension; index++) dot += (unit[index] as number) * (query[index] as number)
      hits.push({ id: entry.record.id, score: dot, distance: 1 - dot })
    }
    return hits.sort(compareHits)
  }

  const textRanking = (text: string, filter: SearchFilter | undefined): IndexHit[] => {
    const terms = [...new Set(tokenize(text))]
    const count = entries.size
    const average = count ? totalLength / count : 0
    const hits: IndexHit[] = []
    for (const entry of entries.values()) {
      if (!matchesFilter(entry.record, filter)) continue
      let score = 0
      for (const term of terms) {
        const frequency = entry.tokens.get(term)
        if (!frequency) continue
        const documents = documentFrequency.get(term) ?? 0
        const idf = Math.log(1 + (count - documents + 0.5) / (documents + 0.5))
        score += (idf * frequency * 2.2) / (frequency + 1.2 * (0.25 + (0.75 * entry.length) / (average || 1)))
      }
      if (score > 0) hits.push({ id: entry.record.id, score })
    }
    return hits.sort(compareHits)
  }

  return {
    dimension,
    async upsert(records) {
      for (const record of records) upsertOne(record)
    },
    async remove(ids) {
      for (const id of ids) removeOne(id)
    },
    async search(search: IndexSearchParameters) {
      const { k, mode, filter } = search
      if (mode === 'vector') {
        if (!search.vector) throw new RangeError('exact index: vector search needs a vector')
        return vectorRanking(search.vector, filter).slice(0, k)
      }
      if (mode === 'text') {
        if (search.text === undefined) throw new RangeError('exact index: text search needs text')
        return textRanking(search.text, filter).slice(0, k)
      }
      if (!search.vector || search.text === undefined) throw new RangeError('exact index: hybrid search needs a vector and text')
      return fuseRankings({ rankings: [vectorRanking(search.vector, filter), textRanking(search.text, filter)], k })
    },
    async count() {
      return entries.size
    },
    async readRecords() {
      return [...entries.values()].map((entry) => entry.record)
    },
    async snapshot(sequence) {
      const puts = [...entries.values()].map((entry) => ({ type: 'put' as const, record: entry.record }))
      return { sequence, files: new Map([[SNAPSHOT_FILE, encodeOperations(puts, dimension)]]) }
    },
    async close() {
      entries.clear()
      documentFrequency.clear()
    },
  }
}

/**
 * The exact index as a {@link VectorIndexFactory} for `createVault` / `openVault`.
 *
 * @example
 * ```ts
 * const vault = await openVault({ path, guards, index: exactIndexFactory })
 * ```
 */
export const exactIndexFactory: VectorIndexFactory = { id: 'verity/exact-index@1', open: openExactIndex }
