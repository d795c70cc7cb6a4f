import { COLUMNS, metadataTerm } from './lancedb-arrow.js'
import type { JsonValue } from './record.js'
import type { SearchFilter } from './vector-index.js'

/**
 * A SQL string literal for a LanceDB (DataFusion) predicate: single quotes doubled, so any
 * user string (namespace, metadata value, id) is data, never SQL.
 *
 * @example
 * ```ts
 * sqlString("it's") // "'it''s'"
 * ```
 */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/**
 * The LanceDB `where` predicate of a {@link SearchFilter}, or `undefined` for no filter.
 * Namespace is an equality on its column; each metadata entry must appear in the record's
 * `terms` list as the canonical JSON of `[key, value]` (equality on top-level keys; a nested
 * object or array value matches only an identical value).
 *
 * @example
 * ```ts
 * filterPredicate({ namespace: 'agent-1', metadata: { topic: 'billing' } })
 * // "namespace = 'agent-1' AND array_has(terms, '[\"topic\",\"billing\"]')"
 * ```
 */
export function filterPredicate(filter: SearchFilter | undefined): string | undefined {
  if (!filter) return undefined
  const clauses: string[] = []
  if (filter.namespace !== undefined) clauses.push(`${COLUMNS.namespace} = ${sqlString(filter.namespace)}`)
  for (const [key, value] of Object.entries(filter.metadata ?? {}))
    clauses.push(`array_has(${COLUMNS.terms}, ${sqlString(metadataTerm(key, value as JsonValue))})`)
  return clauses.length ? clauses.join(' AND ') : undefined
}

/**
 * A predicate matching any of `ids` (for deletes).
 *
 * @example
 * ```ts
 * idsPredicate(['a', 'b']) // "id IN ('a', 'b')"
 * ```
 */
export function idsPredicate(ids: readonly string[]): string {
  return `${COLUMNS.id} IN (${ids.map(sqlString).join(', ')})`
}
