import { type Data, Field, FixedSizeList, Float32, List, makeData, RecordBatch, Schema, Struct, Table, Utf8 } from 'apache-arrow'
import { canonicalJson } from '../crypto/canonical-json.js'
import type { JsonValue, MemoryRecord } from './record.js'

/**
 * The Arrow side of the LanceDB index: the table schema and a fast, copy-light conversion of
 * {@link MemoryRecord}s into one Arrow record batch (the vectors of a batch are copied once
 * into one contiguous `Float32Array`; strings are encoded straight into one UTF-8 buffer).
 */

/** Columns of the index table. */
export const COLUMNS = {
  id: 'id',
  namespace: 'namespace',
  text: 'text',
  metadata: 'metadata',
  terms: 'terms',
  vector: 'vector',
} as const

/**
 * The index table's schema for a given embedding dimension.
 *
 * @example
 * ```ts
 * const schema = indexSchema(384)
 * ```
 */
export function indexSchema(dimension: number): Schema {
  return new Schema([
    new Field(COLUMNS.id, new Utf8(), false),
    new Field(COLUMNS.namespace, new Utf8(), false),
    new Field(COLUMNS.text, new Utf8(), false),
    new Field(COLUMNS.metadata, new Utf8(), false),
    new Field(COLUMNS.terms, new List(new Field('item', new Utf8(), true)), false),
    new Field(COLUMNS.vector, new FixedSizeList(dimension, new Field('item', new Float32(), true)), false),
  ])
}

/**
 * The filter term of one metadata entry: the canonical JSON (RFC 8785) of `[key, value]`.
 * Equal keys with equal JSON values give equal terms, and no two different pairs collide.
 *
 * @example
 * ```ts
 * metadataTerm('topic', 'billing') // '["topic","billing"]'
 * ```
 */
export function metadataTerm(key: string, value: JsonValue): string {
  // For scalars RFC 8785 is exactly ECMAScript JSON.stringify (strings, numbers, literals).
  if (value === null || typeof value !== 'object') return JSON.stringify([key, value])
  return canonicalJson([key, value])
}

function utf8Data(strings: readonly string[]): Data<Utf8> {
  const offsets = new Int32Array(strings.length + 1)
  let total = 0
  for (let index = 0; index < strings.length; index++) {
    total += Buffer.byteLength(strings[index] as string, 'utf8')
    offsets[index + 1] = total
  }
  const bytes = Buffer.allocUnsafe(total)
  for (let index = 0; index < strings.length; index++) bytes.write(strings[index] as string, offsets[index] as number, 'utf8')
  return makeData({
    type: new Utf8(),
    length: strings.length,
    nullCount: 0,
    valueOffsets: offsets,
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  })
}

/**
 * Converts records into an Arrow table matching {@link indexSchema}. The caller has checked
 * each embedding's length.
 *
 * @example
 * ```ts
 * await table.add(recordsToArrow(records, 384))
 * ```
 */
export function recordsToArrow(records: readonly MemoryRecord[], dimension: number): Table {
  const schema = indexSchema(dimension)
  const count = records.length
  const ids: string[] = new Array(count)
  const namespaces: string[] = new Array(count)
  const texts: string[] = new Array(count)
  const metadata: string[] = new Array(count)
  const terms: string[] = []
  const termOffsets = new Int32Array(count + 1)
  const vectors = new Float32Array(count * dimension)
  for (let index = 0; index < count; index++) {
    const record = records[index] as MemoryRecord
    ids[index] = record.id
    namespaces[index] = record.namespace
    texts[index] = record.text
    metadata[index] = JSON.stringify(record.metadata)
    for (const key of Object.keys(record.metadata)) terms.push(metadataTerm(key, record.metadata[key] as JsonValue))
    termOffsets[index + 1] = terms.length
    vectors.set(record.embedding, index * dimension)
  }
  const vectorType = schema.fields[5]?.type as FixedSizeList<Float32>
  const listType = schema.fields[4]?.type as List<Utf8>
  const children: Data[] = [
    utf8Data(ids),
    utf8Data(namespaces),
    utf8Data(texts),
    utf8Data(metadata),
    makeData({ type: listType, length: count, nullCount: 0, valueOffsets: termOffsets, child: utf8Data(terms) }),
    makeData({
      type: vectorType,
      length: count,
      nullCount: 0,
      child: makeData({ type: new Float32(), length: count * dimension, nullCount: 0, data: vectors }),
    }),
  ]
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: count, nullCount: 0, children }))
  return new Table(schema, batch)
}
