import type { JsonValue } from '../crypto/canonical-json.js'
import { canonicalDigest } from '../crypto/canonical-json.js'
import { randomId } from '../crypto/random.js'
import { openExactIndex } from '../memory/exact-index.js'
import type { MemoryRecord, Provenance } from '../memory/record.js'

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
 * An ephemeral memory store (no embeddings, nothing on disk) for tests, benchmarks and scripts that
 * do not need a vault. It is the vault's own exact index searched by text (BM25 over the shared
 * tokenizer, filtered by namespace), so it ranks words the way a vault's text search does.
 *
 * @example
 * ```ts
 * const store = createInMemoryMemoryStore()
 * await store.add({ text: 'The sky is blue', namespace: 'agent:demo' })
 * ```
 */
export function createInMemoryMemoryStore(): CreateInMemoryMemoryStoreReturnType {
  // One-dimensional constant embeddings: the store searches by text only.
  const index = openExactIndex({ dimension: 1 })
  const records = new Map<string, MemoryRecord & { digest: string }>()
  const unit = Float32Array.of(1)
  return {
    specificationVersion: 'v1',
    size: () => records.size,
    async add(parameters) {
      const id = randomId()
      const metadata = parameters.metadata ?? {}
      const digest = memoryDigest({ id, namespace: parameters.namespace, text: parameters.text, metadata })
      const now = Date.now()
      const record = {
        id,
        text: parameters.text,
        embedding: unit,
        metadata,
        namespace: parameters.namespace,
        createdAt: now,
        updatedAt: now,
        provenance: parameters.provenance,
        digest,
      }
      await (await index).upsert([record])
      records.set(id, record)
      return { id, digest }
    },
    async search(parameters) {
      if (parameters.k <= 0) return []
      const hits = await (await index).search({
        mode: 'text',
        text: parameters.query,
        k: parameters.k,
        filter: { namespace: parameters.namespace },
      })
      return hits.flatMap((hit) => {
        const record = records.get(hit.id)
        if (!record) return []
        const { id, text, namespace, metadata, digest, provenance } = record
        return [{ id, text, namespace, metadata, digest, provenance, score: hit.score }]
      })
    },
    async delete(parameters) {
      const record = records.get(parameters.id)
      if (!record || record.namespace !== parameters.namespace) return { deleted: false }
      await (await index).remove([parameters.id])
      records.delete(parameters.id)
      return { deleted: true }
    },
  }
}
