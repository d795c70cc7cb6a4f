import { canonicalDigest } from '../crypto/canonical-json.js'
import { randomId } from '../crypto/random.js'
import type { JsonValue, Provenance } from '../memory/record.js'

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
  const key = (namespace: string, id: string) => `${namespace}\u0000${id}`
  return {
    specificationVersion: 'v1',
    size: () => records.size,
    async add(parameters) {
      const id = randomId()
      const metadata = parameters.metadata ?? {}
      const digest = memoryDigest({ id, namespace: parameters.namespace, text: parameters.text, metadata })
      records.set(key(parameters.namespace, id), {
        id,
        text: parameters.text,
        namespace: parameters.namespace,
        metadata,
        digest,
        provenance: parameters.provenance,
        words: new Set(tokenize(parameters.text)),
      })
      return { id, digest }
    },
    async search(parameters) {
      const query = new Set(tokenize(parameters.query))
      const hits: MemoryHit[] = []
      for (const record of records.values()) {
        if (record.namespace !== parameters.namespace) continue
        let overlap = 0
        for (const word of query) if (record.words.has(word)) overlap++
        if (overlap === 0) continue
        const { words, ...rest } = record
        hits.push({ ...rest, score: overlap / Math.sqrt(words.size * Math.max(1, query.size)) })
      }
      return hits.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)).slice(0, parameters.k)
    },
    async delete(parameters) {
      return { deleted: records.delete(key(parameters.namespace, parameters.id)) }
    },
  }
}

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length >= 3)
}
