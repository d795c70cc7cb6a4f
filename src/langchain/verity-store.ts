import {
  BaseStore,
  type GetOperation,
  getTextAtPath,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from '@langchain/langgraph-checkpoint'
import { z } from 'zod'
import { InvalidInputError } from '../errors.js'
import type { JsonValue, MemoryRecord } from '../memory/record.js'
import { parseInput } from '../validation.js'
import { type AdapterVault, fixedEmbedding, listAll, recordId, upsertRecord } from './vault-records.js'

/** The vault namespace that holds LangGraph store items. */
export const STORE_NAMESPACE = 'langgraph:store'

export type VerityStoreParameters = {
  /** An open vault whose embedder ranks semantic searches (`createVault` / `openVault`). */
  vault: AdapterVault
  /** Vault namespace for the items (default {@link STORE_NAMESPACE}). */
  namespace?: string | undefined
  /**
   * Which fields of a value are embedded for semantic search (LangGraph paths such as
   * `'text'`, `'facts[*].text'`; default `['$']`, the whole value as JSON). `put(..., index)` overrides per item.
   */
  fields?: string[] | undefined
}

type StoredItem = { namespace: string[]; key: string; value: Record<string, JsonValue>; indexed: boolean }

const parametersSchema = z.object({
  vault: z.custom<AdapterVault>(
    (value) => typeof value === 'object' && value !== null && typeof (value as AdapterVault).search === 'function',
    'an open vault (createVault / openVault)',
  ),
  namespace: z.string().min(1).max(128).optional(),
  fields: z.array(z.string().min(1)).min(1).optional(),
})

/**
 * LangGraph's `BaseStore` (long-term memory) over a Verity vault: each item is one encrypted
 * vault record, so items travel with `vault export` and only the vault's guards release them.
 * Tuple namespaces with prefix/suffix listing, `get`/`put`/`delete`, semantic `search` ranked by the
 * vault's index (query + value filter + limit/offset), and `batch`. Pass it as `createAgent({ store })`.
 *
 * @example
 * ```ts
 * const store = new VerityStore({ vault, fields: ['text'] })
 * await store.put(['user-1', 'memories'], 'tea', { text: 'Prefers green tea' })
 * const hits = await store.search(['user-1'], { query: 'drinks', limit: 3 })
 * const agent = createAgent({ model, tools, store })
 * ```
 */
export class VerityStore extends BaseStore {
  readonly vault: AdapterVault
  readonly namespace: string
  readonly fields: string[]

  constructor(parameters: VerityStoreParameters) {
    super()
    const options = parseInput(parametersSchema, parameters, {
      what: 'VerityStore parameters',
      hint: 'new VerityStore({ vault, namespace?, fields? })',
      docsPath: 'agent.md',
    })
    this.vault = parameters.vault
    this.namespace = options.namespace ?? STORE_NAMESPACE
    this.fields = options.fields ?? ['$']
  }

  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const results: unknown[] = []
    for (const operation of operations) {
      if ('value' in operation) results.push(await this.#put(operation as PutOperation))
      else if ('namespacePrefix' in operation) results.push(await this.#search(operation as SearchOperation))
      else if ('key' in operation) results.push(this.#get(operation as GetOperation))
      else if ('limit' in operation) results.push(this.#listNamespaces(operation as ListNamespacesOperation))
      else
        throw new InvalidInputError('Unknown store operation', {
          details: JSON.stringify(Object.keys(operation)),
          hint: 'Operations are get, put, search or listNamespaces (as LangGraph builds them).',
        })
    }
    return results as OperationResults<Op>
  }

  #id(namespace: string[], key: string): string {
    return recordId('st', [JSON.stringify(namespace), key])
  }

  #get(operation: GetOperation): Item | null {
    const record = this.vault.get(this.#id(operation.namespace, operation.key))
    return record && record.namespace === this.namespace ? toItem(record) : null
  }

  async #put(operation: PutOperation): Promise<void> {
    const id = this.#id(operation.namespace, operation.key)
    if (operation.value === null) {
      if (this.vault.get(id) !== undefined) await this.vault.delete(id)
      return
    }
    const value = operation.value as Record<string, JsonValue>
    const fields = operation.index === false ? [] : (operation.index ?? this.fields)
    const texts = fields.flatMap((field) => (field === '$' ? [JSON.stringify(value)] : getTextAtPath(value, field)))
    const indexed = texts.some((text) => text.trim().length > 0)
    const stored: StoredItem = { namespace: operation.namespace, key: operation.key, value, indexed }
    await upsertRecord(this.vault, {
      id,
      // The embedded text is what semantic search ranks; an item that is not indexed gets a fixed vector.
      text: indexed ? texts.join('\n') : operation.key,
      namespace: this.namespace,
      metadata: { item: stored as unknown as JsonValue },
      ...(indexed ? {} : { embedding: fixedEmbedding(this.vault) }),
    })
  }

  #items(): MemoryRecord[] {
    return listAll(this.vault, this.namespace)
  }

  async #search(operation: SearchOperation): Promise<SearchItem[]> {
    const limit = operation.limit ?? 10
    const offset = operation.offset ?? 0
    const keep = (record: MemoryRecord) => {
      const item = stored(record)
      return hasPrefix(item.namespace, operation.namespacePrefix) && matchesFilter(item.value, operation.filter)
    }
    if (operation.query === undefined || operation.query.trim() === '') {
      // Newest first; on a tie (same millisecond) the later write first.
      const records = this.#items()
        .map((record, position) => ({ record, position }))
        .filter(({ record }) => keep(record))
        .sort((a, b) => b.record.updatedAt - a.record.updatedAt || b.position - a.position)
        .map(({ record }) => record)
      return records.slice(offset, offset + limit).map(toItem)
    }
    const total = this.#items().length
    if (total === 0) return []
    const hits = await this.vault.search({
      query: operation.query,
      k: Math.min(total, 10_000),
      mode: 'vector',
      namespace: this.namespace,
    })
    const ranked = hits.filter((hit) => keep(hit.record))
    // Items stored with `index: false` have no meaning to rank: they follow the ranked ones, unscored.
    const scored = ranked.filter((hit) => stored(hit.record).indexed)
    const unscored = ranked.filter((hit) => !stored(hit.record).indexed)
    return [
      ...scored.map((hit) => ({ ...toItem(hit.record), score: hit.score })),
      ...unscored.map((hit) => toItem(hit.record)),
    ].slice(offset, offset + limit)
  }

  #listNamespaces(operation: ListNamespacesOperation): string[][] {
    const seen = new Map<string, string[]>()
    for (const record of this.#items()) {
      let namespace = stored(record).namespace
      if (!(operation.matchConditions ?? []).every((condition) => matches(condition, namespace))) continue
      if (operation.maxDepth !== undefined) namespace = namespace.slice(0, operation.maxDepth)
      seen.set(JSON.stringify(namespace), namespace)
    }
    const namespaces = [...seen.values()].sort((a, b) => a.join('\u0000').localeCompare(b.join('\u0000')))
    return namespaces.slice(operation.offset, operation.offset + operation.limit)
  }
}

function stored(record: MemoryRecord): StoredItem {
  return record.metadata.item as unknown as StoredItem
}

function toItem(record: MemoryRecord): Item {
  const item = stored(record)
  return {
    namespace: [...item.namespace],
    key: item.key,
    value: structuredClone(item.value),
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  }
}

function hasPrefix(namespace: string[], prefix: string[]): boolean {
  return prefix.length <= namespace.length && prefix.every((part, index) => part === '*' || namespace[index] === part)
}

function matches(condition: MatchCondition, namespace: string[]): boolean {
  if (condition.matchType === 'prefix') return hasPrefix(namespace, condition.path)
  const offset = namespace.length - condition.path.length
  return offset >= 0 && condition.path.every((part, index) => part === '*' || namespace[offset + index] === part)
}

/** LangGraph's filter language: equality, or `{ $eq | $ne | $gt | $gte | $lt | $lte: value }` per field. */
function matchesFilter(value: Record<string, JsonValue>, filter: Record<string, unknown> | undefined): boolean {
  if (!filter) return true
  return Object.entries(filter).every(([field, expected]) => {
    const actual = value[field]
    if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
      const operators = Object.entries(expected as Record<string, unknown>)
      if (operators.length > 0 && operators.every(([operator]) => operator.startsWith('$')))
        return operators.every(([operator, operand]) => compare(actual, operator, operand))
    }
    return JSON.stringify(actual) === JSON.stringify(expected)
  })
}

function compare(actual: JsonValue | undefined, operator: string, operand: unknown): boolean {
  switch (operator) {
    case '$eq':
      return JSON.stringify(actual) === JSON.stringify(operand)
    case '$ne':
      return JSON.stringify(actual) !== JSON.stringify(operand)
    case '$gt':
      return actual !== undefined && actual !== null && (actual as number) > (operand as number)
    case '$gte':
      return actual !== undefined && actual !== null && (actual as number) >= (operand as number)
    case '$lt':
      return actual !== undefined && actual !== null && (actual as number) < (operand as number)
    case '$lte':
      return actual !== undefined && actual !== null && (actual as number) <= (operand as number)
    default:
      throw new InvalidInputError('Unknown filter operator', {
        details: operator,
        hint: 'Use equality or one of $eq, $ne, $gt, $gte, $lt, $lte.',
      })
  }
}
