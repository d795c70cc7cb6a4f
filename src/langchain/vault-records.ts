import { toHex } from '../crypto/bytes.js'
import { sha256 } from '../crypto/digest.js'
import type { JsonValue, MemoryRecord } from '../memory/record.js'
import type { Vault } from '../memory/vault.js'

/** What the LangChain adapters need from an open vault (`createVault` / `openVault`). */
export type AdapterVault = Pick<Vault, 'add' | 'update' | 'get' | 'delete' | 'list' | 'search' | 'info'>

/**
 * A stable vault record id for a structured key (a LangGraph thread/checkpoint, a store item):
 * `prefix-` + the first 40 hex digits of SHA-256 over the key's JSON, so any string is safe.
 *
 * @example
 * ```ts
 * recordId('cp', ['thread-1', '', checkpointId]) // 'cp-3f2a…'
 * ```
 */
export function recordId(prefix: string, key: readonly string[]): string {
  return `${prefix}-${toHex(sha256(JSON.stringify(key))).slice(0, 40)}`
}

/**
 * A fixed unit vector of the vault's dimension, for records that are never searched by
 * meaning (checkpoints): nothing is embedded and nothing about their content leaks into the index geometry.
 *
 * @example
 * ```ts
 * await vault.add({ text, embedding: fixedEmbedding(vault), namespace })
 * ```
 */
export function fixedEmbedding(vault: Pick<Vault, 'info'>): Float32Array {
  const vector = new Float32Array(vault.info().embedder.dimension)
  vector[0] = 1
  return vector
}

/**
 * Adds a record with a caller-chosen id, or replaces it when it exists (the vault's `add`
 * refuses a taken id). Durable when it returns.
 *
 * @example
 * ```ts
 * await upsertRecord(vault, { id: recordId('cp', key), text, namespace, metadata, embedding })
 * ```
 */
export async function upsertRecord(
  vault: AdapterVault,
  record: {
    id: string
    text: string
    namespace: string
    metadata: Record<string, JsonValue>
    embedding?: Float32Array | number[] | undefined
  },
): Promise<MemoryRecord> {
  if (vault.get(record.id) === undefined) return vault.add(record)
  return vault.update(record)
}

/**
 * Every record of one vault namespace (optionally with a metadata equality filter), all pages.
 *
 * @example
 * ```ts
 * for (const record of listAll(vault, 'langgraph:checkpoints')) load(record)
 * ```
 */
export function listAll(
  vault: Pick<Vault, 'list'>,
  namespace: string,
  metadata?: Record<string, JsonValue> | undefined,
): MemoryRecord[] {
  const out: MemoryRecord[] = []
  let cursor: string | undefined
  do {
    const page = vault.list({ namespace, limit: 1000, ...(metadata ? { metadata } : {}), ...(cursor ? { cursor } : {}) })
    out.push(...page.records)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return out
}
