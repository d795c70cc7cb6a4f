import type { Callbacks } from '@langchain/core/callbacks/manager'
import { Document, type DocumentInterface } from '@langchain/core/documents'
import type { EmbeddingsInterface } from '@langchain/core/embeddings'
import { maximalMarginalRelevance } from '@langchain/core/utils/math'
import { type MaxMarginalRelevanceSearchOptions, VectorStore } from '@langchain/core/vectorstores'
import { z } from 'zod'
import { EmbedderMismatchError } from '../errors.js'
import type { JsonValue } from '../memory/record.js'
import type { SearchResult } from '../memory/vault.js'
import { parseInput } from '../validation.js'
import type { AdapterVault } from './vault-records.js'

/** The vault's own filters: a namespace and metadata equality (`{ metadata: { topic: 'billing' } }`). */
export type VerityVectorStoreFilter = {
  namespace?: string | undefined
  metadata?: Record<string, JsonValue> | undefined
}

export type VerityVectorStoreParameters = {
  /** An open vault (`createVault` / `openVault`). */
  vault: AdapterVault
  /** Namespace written to and searched by default (default `default`, the vault's own default). */
  namespace?: string | undefined
}

const parametersSchema = z.object({
  vault: z.custom<AdapterVault>(
    (value) => typeof value === 'object' && value !== null && typeof (value as AdapterVault).search === 'function',
    'an open vault (createVault / openVault)',
  ),
  namespace: z.string().min(1).max(128).optional(),
})
const filterSchema = z
  .object({ namespace: z.string().min(1).max(128).optional(), metadata: z.record(z.string(), z.json()).optional() })
  .strict()
  .optional()

/**
 * LangChain's `VectorStore` over a Verity vault: documents are vault memories (encrypted at rest,
 * searched by the vault's LanceDB index), so the vault drops into retrieval chains and
 * `asRetriever()`. Filters are the vault's own: a namespace and metadata equality. Scores are the
 * vault's (cosine similarity: higher is closer).
 *
 * @example
 * ```ts
 * const store = new VerityVectorStore(embedder, { vault })
 * await store.addDocuments([new Document({ pageContent: 'The user prefers tea', metadata: { topic: 'drinks' } })])
 * const retriever = store.asRetriever({ k: 3, filter: { metadata: { topic: 'drinks' } } })
 * const docs = await retriever.invoke('what does the user drink?')
 * ```
 */
export class VerityVectorStore extends VectorStore {
  declare FilterType: VerityVectorStoreFilter
  readonly vault: AdapterVault
  readonly namespace: string

  constructor(embeddings: EmbeddingsInterface, parameters: VerityVectorStoreParameters) {
    const options = parseInput(parametersSchema, parameters, {
      what: 'VerityVectorStore parameters',
      hint: 'new VerityVectorStore(embedder, { vault, namespace? })',
      docsPath: 'agent.md',
    })
    super(embeddings, {})
    this.vault = parameters.vault
    this.namespace = options.namespace ?? 'default'
    const recorded = this.vault.info().embedder
    const offered = embeddings as Partial<{ id: string; dimension: number }>
    if (typeof offered.id === 'string' && typeof offered.dimension === 'number')
      if (offered.id !== recorded.id || offered.dimension !== recorded.dimension)
        throw new EmbedderMismatchError('Embeddings do not match the vault', {
          details: `the vault was written with '${recorded.id}' (${recorded.dimension}); offered '${offered.id}' (${offered.dimension})`,
          hint: `Pass the embedder the vault was created with ('${recorded.id}').`,
          docsPath: 'vault-format.md',
        })
  }

  _vectorstoreType(): string {
    return 'verity'
  }

  async addVectors(
    vectors: number[][],
    documents: DocumentInterface[],
    options?: { ids?: string[] | undefined; namespace?: string | undefined },
  ): Promise<string[]> {
    if (vectors.length !== documents.length)
      throw parseInput(z.never(), 'mismatch', {
        what: `addVectors input: ${vectors.length} vectors for ${documents.length} documents`,
        hint: 'Pass one vector per document.',
      })
    if (documents.length === 0) return []
    const records = await this.vault.add(
      documents.map((document, index) => ({
        ...((options?.ids?.[index] ?? document.id) ? { id: options?.ids?.[index] ?? document.id } : {}),
        text: document.pageContent,
        embedding: vectors[index] as number[],
        metadata: (document.metadata ?? {}) as Record<string, JsonValue>,
        namespace: options?.namespace ?? this.namespace,
      })),
    )
    return records.map((record) => record.id)
  }

  async addDocuments(
    documents: DocumentInterface[],
    options?: { ids?: string[] | undefined; namespace?: string | undefined },
  ): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((document) => document.pageContent))
    return this.addVectors(vectors, documents, options)
  }

  #search(parameters: { query?: string; vector?: number[]; k: number; filter?: VerityVectorStoreFilter | undefined }) {
    const filter = parseInput(filterSchema, parameters.filter, {
      what: 'VerityVectorStore filter',
      hint: "Filters are { namespace?, metadata? } (metadata equality), e.g. { metadata: { topic: 'billing' } }.",
    })
    return this.vault.search({
      ...(parameters.query === undefined ? {} : { query: parameters.query }),
      ...(parameters.vector === undefined ? {} : { vector: parameters.vector }),
      k: parameters.k,
      mode: 'vector',
      namespace: filter?.namespace ?? this.namespace,
      ...(filter?.metadata ? { metadata: filter.metadata as Record<string, JsonValue> } : {}),
    })
  }

  async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: VerityVectorStoreFilter,
  ): Promise<[DocumentInterface, number][]> {
    return (await this.#search({ vector: query, k, filter })).map(toScoredDocument)
  }

  /** Embeds the query once, with the vault's own search path (no detour through a second embedding call). */
  override async similaritySearchWithScore(
    query: string,
    k = 4,
    filter?: VerityVectorStoreFilter,
    _callbacks?: Callbacks,
  ): Promise<[DocumentInterface, number][]> {
    return (await this.#search({ vector: await this.embeddings.embedQuery(query), k, filter })).map(toScoredDocument)
  }

  override async similaritySearch(
    query: string,
    k = 4,
    filter?: VerityVectorStoreFilter,
    _callbacks?: Callbacks,
  ): Promise<DocumentInterface[]> {
    return (await this.similaritySearchWithScore(query, k, filter)).map(([document]) => document)
  }

  /** Maximal marginal relevance over the vault's `fetchK` nearest memories (their stored embeddings). */
  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<VerityVectorStoreFilter>,
    _callbacks?: Callbacks,
  ): Promise<DocumentInterface[]> {
    const k = options.k ?? 4
    const vector = await this.embeddings.embedQuery(query)
    const hits = await this.#search({ vector, k: options.fetchK ?? Math.max(20, k), filter: options.filter })
    if (hits.length === 0) return []
    const chosen = maximalMarginalRelevance(
      vector,
      hits.map((hit) => Array.from(hit.record.embedding)),
      options.lambda ?? 0.5,
      k,
    )
    return chosen.map((index) => toScoredDocument(hits[index] as SearchResult)[0])
  }

  /** Deletes memories by id (`{ ids }`) or every memory matching a filter (`{ filter }`). */
  override async delete(parameters?: {
    ids?: string[] | undefined
    filter?: VerityVectorStoreFilter | undefined
  }): Promise<void> {
    const ids = [...(parameters?.ids ?? [])]
    if (parameters?.filter) {
      const filter = parseInput(filterSchema, parameters.filter, { what: 'VerityVectorStore delete filter' })
      let cursor: string | undefined
      do {
        const page = this.vault.list({
          namespace: filter?.namespace ?? this.namespace,
          ...(filter?.metadata ? { metadata: filter.metadata as Record<string, JsonValue> } : {}),
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        })
        ids.push(...page.records.map((record) => record.id))
        cursor = page.nextCursor
      } while (cursor !== undefined)
    }
    const present = ids.filter((id) => this.vault.get(id) !== undefined)
    if (present.length > 0) await this.vault.delete(present)
  }

  /**
   * Adds texts to a vault and returns the store.
   *
   * @example
   * ```ts
   * const store = await VerityVectorStore.fromTexts(['tea', 'coffee'], [{ n: 1 }, { n: 2 }], embedder, { vault })
   * ```
   */
  static override async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: EmbeddingsInterface,
    parameters: VerityVectorStoreParameters,
  ): Promise<VerityVectorStore> {
    const documents = texts.map(
      (text, index) =>
        new Document({
          pageContent: text,
          metadata: (Array.isArray(metadatas) ? metadatas[index] : metadatas) ?? {},
        }),
    )
    return VerityVectorStore.fromDocuments(documents, embeddings, parameters)
  }

  /**
   * Adds documents to a vault and returns the store.
   *
   * @example
   * ```ts
   * const store = await VerityVectorStore.fromDocuments(docs, embedder, { vault, namespace: 'kb' })
   * ```
   */
  static override async fromDocuments(
    documents: DocumentInterface[],
    embeddings: EmbeddingsInterface,
    parameters: VerityVectorStoreParameters,
  ): Promise<VerityVectorStore> {
    const store = new VerityVectorStore(embeddings, parameters)
    await store.addDocuments(documents)
    return store
  }
}

function toScoredDocument(hit: SearchResult): [DocumentInterface, number] {
  return [new Document({ id: hit.record.id, pageContent: hit.record.text, metadata: { ...hit.record.metadata } }), hit.score]
}
