import type { JsonValue } from '../crypto/canonical-json.js'
import { canonicalDigest } from '../crypto/canonical-json.js'
import { randomId } from '../crypto/random.js'
import type { Provenance } from '../memory/record.js'

/**
 * The agent runtime's view of memory: add, search and delete text memories in namespaces.
 * The encrypted vault (`src/memory/`) plugs in through an adapter;
 * {@link createInMemoryMemoryStore} is an ephemeral, lexical store for tests and benchmarks.
 */

/** One memory returned by {@link MemoryStore.search}. */
export type MemoryHit = {
  id: string
  text: string
  namespace: string
  metadata: Record<string, JsonValue>
  /** Higher is better; comparable within one result list. */
  score: number
  /** `sha256:` digest that identifies this memory's content (id, namespace, text, metadata). */
  digest: string
  provenance?: Provenance | undefined
}

export type MemoryStoreAddParameters = {
  text: string
  namespace: string
  metadata?: Record<string, JsonValue> | undefined
  provenance?: Provenance | undefined
}
export type MemoryStoreAddReturnType = { id: string; digest: string }
export type MemoryStoreSearchParameters = { query: string; namespace: string; k: number }
export type MemoryStoreDeleteParameters = { id: string; namespace: string }
export type MemoryStoreDeleteReturnType = { deleted: boolean }

/**
 * Memory as the agent uses it.
 *
 * @example
 * ```ts
 * const { id } = await store.add({ text: 'Alice prefers tea', namespace: 'user:alice' })
 * const hits = await store.search({ query: 'what does Alice drink?', namespace: 'user:alice', k: 3 })
 * await store.delete({ id, namespace: 'user:alice' })
 * ```
 */
export interface MemoryStore {
  readonly specificationVersion: 'v1'
  add(parameters: MemoryStoreAddParameters): Promise<MemoryStoreAddReturnType>
  search(parameters: MemoryStoreSearchParameters): Promise<MemoryHit[]>
  delete(parameters: MemoryStoreDeleteParameters): Promise<MemoryStoreDeleteReturnType>
}

/**
 * The digest that identifies a memory in the trace.
 *
 * @example
 * ```ts
 * memoryDigest({ id, namespace: 'agent:demo', text: 'hello', metadata: {} }) // 'sha256:…'
 * ```
 */
export function memoryDigest(memory: {
  id: string
  namespace: string
  text: string
  metadata: Record<string, JsonValue>
}): string {
  return canonicalDigest({ id: memory.id, namespace: memory.namespace, text: memory.text, metadata: memory.metadata })
}

export type CreateInMemoryMemoryStoreReturnType = MemoryStore & { size(): number }

/**
 * An ephemeral memory store ranked by word overlap (no embeddings, nothing on disk): for tests,
 * benchmarks and scripts that do not need a vault.
 *
 * @example
 * ```ts
 * const store = createInMemoryMemoryStore()
 * await store.add({ text: 'The sky is blue', namespace: 'agent:demo' })
 * ```
 */
export function createInMemoryMemoryStore(): CreateInMemoryMemoryStoreReturnType {
  type Stored = Omit<MemoryHit, 'score'> & { words: Set<string> }
  const records = new Map<string, Stored>()
  // Inverted index: namespace -> word -> keys of the records holding it, so a search touches only
  // records that share a word with the query, and builds hit objects only for the top k.
  const postings = new Map<string, Map<string, Set<string>>>()
  const key = (namespace: string, id: string) => `${namespace}\u0000${id}`
  return {
    specificationVersion: 'v1',
    size: () => records.size,
    async add(parameters) {
      const id = randomId()
      const metadata = parameters.metadata ?? {}
      const digest = memoryDigest({ id, namespace: parameters.namespace, text: parameters.text, metadata })
      const words = new Set(tokenize(parameters.text))
      const recordKey = key(parameters.namespace, id)
      records.set(recordKey, {
        id,
        text: parameters.text,
        namespace: parameters.namespace,
        metadata,
        digest,
        provenance: parameters.provenance,
        words,
      })
      let space = postings.get(parameters.namespace)
      if (!space) {
        space = new Map()
        postings.set(parameters.namespace, space)
      }
      for (const word of words) {
        let keys = space.get(word)
        if (!keys) {
          keys = new Set()
          space.set(word, keys)
        }
        keys.add(recordKey)
      }
      return { id, digest }
    },
    async search(parameters) {
      const space = postings.get(parameters.namespace)
      if (!space || parameters.k <= 0) return []
      const query = new Set(tokenize(parameters.query))
      const overlaps = new Map<string, number>()
      for (const word of query)
        for (const recordKey of space.get(word) ?? []) overlaps.set(recordKey, (overlaps.get(recordKey) ?? 0) + 1)
      // Top k by (score desc, id asc), kept in a small sorted array.
      const top: { score: number; record: Stored }[] = []
      const before = (a: { score: number; record: Stored }, b: { score: number; record: Stored }) =>
        a.score > b.score || (a.score === b.score && a.record.id < b.record.id)
      for (const [recordKey, overlap] of overlaps) {
        const record = records.get(recordKey)
        if (!record) continue
        const candidate = { score: overlap / Math.sqrt(record.words.size * Math.max(1, query.size)), record }
        if (top.length === parameters.k && !before(candidate, top[top.length - 1] as (typeof top)[number])) continue
        let index = top.length
        while (index > 0 && before(candidate, top[index - 1] as (typeof top)[number])) index--
        top.splice(index, 0, candidate)
        if (top.length > parameters.k) top.pop()
      }
      return top.map(({ score, record }) => {
        const { words, ...rest } = record
        return { ...rest, score }
      })
    },
    async delete(parameters) {
      const recordKey = key(parameters.namespace, parameters.id)
      const record = records.get(recordKey)
      if (!record) return { deleted: false }
      records.delete(recordKey)
      const space = postings.get(parameters.namespace)
      for (const word of record.words) space?.get(word)?.delete(recordKey)
      return { deleted: true }
    },
  }
}

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length >= 3)
}
