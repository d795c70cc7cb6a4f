import {
  type Data,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
} from 'apache-arrow'
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
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  /** JSON of the record's provenance, or the empty string. */
  provenance: 'provenance',
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
    new Field(COLUMNS.createdAt, new Float64(), false),
    new Field(COLUMNS.updatedAt, new Float64(), false),
    new Field(COLUMNS.provenance, new Utf8(), false),
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
  const created = new Float64Array(count)
  const updated = new Float64Array(count)
  const provenance: string[] = new Array(count)
  for (let index = 0; index < count; index++) {
    const record = records[index] as MemoryRecord
    ids[index] = record.id
    namespaces[index] = record.namespace
    texts[index] = record.text
    metadata[index] = JSON.stringify(record.metadata)
    for (const key of Object.keys(record.metadata)) terms.push(metadataTerm(key, record.metadata[key] as JsonValue))
    termOffsets[index + 1] = terms.length
    vectors.set(record.embedding, index * dimension)
    created[index] = record.createdAt
    updated[index] = record.updatedAt
    provenance[index] = record.provenance ? JSON.stringify(record.provenance) : ''
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
    makeData({ type: new Float64(), length: count, nullCount: 0, data: created }),
    makeData({ type: new Float64(), length: count, nullCount: 0, data: updated }),
    utf8Data(provenance),
  ]
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: count, nullCount: 0, children }))
  return new Table(schema, batch)
}

/** Columns {@link batchToRecords} reads. */
export const RECORD_COLUMNS = [
  COLUMNS.id,
  COLUMNS.namespace,
  COLUMNS.text,
  COLUMNS.metadata,
  COLUMNS.vector,
  COLUMNS.createdAt,
  COLUMNS.updatedAt,
  COLUMNS.provenance,
]

type ColumnVector = NonNullable<ReturnType<RecordBatch['getChild']>>

/**
 * Every string of a UTF-8 column, decoded straight from its value buffer (one `Buffer` slice per
 * row; Arrow's per-row getter goes through a `TextDecoder` and costs several times more).
 */
function utf8Column(vector: ColumnVector, rows: number): string[] {
  const out: string[] = new Array(rows)
  let row = 0
  for (const data of vector.data as Data<Utf8>[]) {
    const offsets = data.valueOffsets
    const values = data.values
    const text = Buffer.from(values.buffer, values.byteOffset, values.byteLength)
    for (let local = 0; local < data.length; local++, row++)
      out[row] =
        data.nullBitmap && data.nullCount > 0 && !data.getValid(local)
          ? ''
          : text.toString('utf8', offsets[data.offset + local] as number, offsets[data.offset + local + 1] as number)
  }
  return out
}

/** Every number of a Float64 column. */
function float64Column(vector: ColumnVector, rows: number): Float64Array {
  if (vector.data.length === 1 && vector.data[0]?.offset === 0) return vector.data[0].values as Float64Array
  const out = new Float64Array(rows)
  for (let row = 0; row < rows; row++) out[row] = vector.get(row) as number
  return out
}

/**
 * Rebuilds {@link MemoryRecord}s from a record batch of the index table (the inverse of
 * {@link recordsToArrow}). Embeddings are views into the batch's vector buffer (no copy); the
 * metadata JSON of the whole batch is parsed in one call.
 *
 * @example
 * ```ts
 * for await (const batch of table.query().select(RECORD_COLUMNS)) records.push(...batchToRecords(batch, 384))
 * ```
 */
export function batchToRecords(batch: RecordBatch, dimension: number): MemoryRecord[] {
  const column = (name: string): ColumnVector => {
    const vector = batch.getChild(name)
    if (!vector) throw new RangeError(`index table batch has no ${name} column`)
    return vector
  }
  const rows = batch.numRows
  const ids = utf8Column(column(COLUMNS.id), rows)
  const namespaces = utf8Column(column(COLUMNS.namespace), rows)
  const texts = utf8Column(column(COLUMNS.text), rows)
  const metadataJson = utf8Column(column(COLUMNS.metadata), rows)
  const provenance = utf8Column(column(COLUMNS.provenance), rows)
  const created = float64Column(column(COLUMNS.createdAt), rows)
  const updated = float64Column(column(COLUMNS.updatedAt), rows)
  // Each entry is one JSON object written by recordsToArrow, so the list is one JSON array.
  const metadata = JSON.parse(`[${metadataJson.join(',')}]`) as Record<string, JsonValue>[]
  if (metadata.length !== rows) throw new RangeError(`index table batch has ${metadata.length} metadata objects for ${rows} rows`)
  const vectorColumn = column(COLUMNS.vector)
  const out: MemoryRecord[] = new Array(rows)
  let row = 0
  for (const data of vectorColumn.data) {
    const child = data.children[0] as Data<Float32>
    // Batches read from LanceDB are unsliced: the floats of row r are values[r*d, (r+1)*d).
    const contiguous = data.offset === 0 && child.offset === 0
    const values = child.values as Float32Array
    for (let local = 0; local < data.length; local++, row++) {
      const provenanceJson = provenance[row] as string
      out[row] = {
        id: ids[row] as string,
        text: texts[row] as string,
        embedding: contiguous
          ? values.subarray(local * dimension, (local + 1) * dimension)
          : Float32Array.from((vectorColumn.get(row) as { toArray(): Float32Array }).toArray()),
        metadata: metadata[row] as Record<string, JsonValue>,
        namespace: namespaces[row] as string,
        createdAt: created[row] as number,
        updatedAt: updated[row] as number,
        ...(provenanceJson ? { provenance: JSON.parse(provenanceJson) as MemoryRecord['provenance'] } : {}),
      }
    }
  }
  return out
}
