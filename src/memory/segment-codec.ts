import { bytesToUtf8, utf8ToBytes } from '../crypto/bytes.js'
import { IntegrityError } from '../errors.js'
import type { MemoryOperation, MemoryRecord } from './record.js'
import type { IndexSnapshot } from './vector-index.js'

/**
 * Plaintext encodings of segments (before encryption). All integers are big-endian except
 * embedding floats, which are IEEE 754 binary32 little-endian. Layout in `docs/vault-format.md`.
 */

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const OPERATION_PUT = 1
const OPERATION_DELETE = 2

class Writer {
  private buffer: Buffer
  private view: DataView
  length = 0
  constructor(initial: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(64, initial))
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength)
  }
  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < this.length + extra) size *= 2
    const next = Buffer.allocUnsafe(size)
    next.set(this.buffer.subarray(0, this.length))
    this.buffer = next
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength)
  }
  /** `u32 byte length || UTF-8 bytes`, encoded straight into the buffer. */
  sizedUtf8(value: string): void {
    this.reserve(4 + value.length * 3)
    const written = this.buffer.write(value, this.length + 4, 'utf8')
    this.view.setUint32(this.length, written, false)
    this.length += 4 + written
  }
  u8(value: number): void {
    this.reserve(1)
    this.buffer[this.length++] = value
  }
  u32(value: number): void {
    this.reserve(4)
    this.view.setUint32(this.length, value, false)
    this.length += 4
  }
  u64(value: number): void {
    this.reserve(8)
    this.view.setBigUint64(this.length, BigInt(value), false)
    this.length += 8
  }
  bytes(value: Uint8Array): void {
    this.reserve(value.length)
    this.buffer.set(value, this.length)
    this.length += value.length
  }
  floats(value: Float32Array): void {
    this.reserve(value.length * 4)
    if (LITTLE_ENDIAN_HOST) {
      this.buffer.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), this.length)
      this.length += value.length * 4
      return
    }
    for (let index = 0; index < value.length; index++) this.view.setFloat32(this.length + index * 4, value[index] as number, true)
    this.length += value.length * 4
  }
  result(): Uint8Array {
    return new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, this.length)
  }
}

class Reader {
  private offset = 0
  private readonly view: DataView
  private readonly text: Buffer
  constructor(
    private readonly data: Uint8Array,
    private readonly where: string,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    this.text = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  }
  /** `count` bytes decoded as UTF-8 (invalid sequences become U+FFFD, which then fails JSON parsing). */
  utf8(count: number): string {
    this.need(count)
    const value = this.text.toString('utf8', this.offset, this.offset + count)
    this.offset += count
    return value
  }
  private need(count: number): void {
    if (this.offset + count > this.data.length)
      throw new IntegrityError('Segment plaintext is malformed', {
        details: `${this.where}: needs ${count} bytes at offset ${this.offset}, has ${this.data.length - this.offset}`,
        docsPath: 'vault-format.md',
      })
  }
  u8(): number {
    this.need(1)
    return this.data[this.offset++] as number
  }
  u32(): number {
    this.need(4)
    const value = this.view.getUint32(this.offset, false)
    this.offset += 4
    return value
  }
  u64(): number {
    this.need(8)
    const value = Number(this.view.getBigUint64(this.offset, false))
    this.offset += 8
    return value
  }
  bytes(count: number): Uint8Array {
    this.need(count)
    const out = this.data.subarray(this.offset, this.offset + count)
    this.offset += count
    return out
  }
  /** `count` little-endian floats, copied into `out` (a fresh array when not given). */
  floats(count: number, out: Float32Array = new Float32Array(count)): Float32Array {
    this.need(count * 4)
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(out.buffer, out.byteOffset, count * 4).set(this.data.subarray(this.offset, this.offset + count * 4))
      this.offset += count * 4
      return out
    }
    for (let index = 0; index < count; index++) out[index] = this.view.getFloat32(this.offset + index * 4, true)
    this.offset += count * 4
    return out
  }
  end(): void {
    if (this.offset !== this.data.length)
      throw new IntegrityError('Segment plaintext has trailing bytes', { details: `${this.where}: at offset ${this.offset}` })
  }
}

/**
 * Encodes operations: `u32 dimension, u32 count`, then per operation `u8 type, u32 json length,
 * json` and, for a put, `dimension` little-endian float32s.
 *
 * @example
 * ```ts
 * const plaintext = encodeOperations([{ type: 'put', record }], 384)
 * ```
 */
export function encodeOperations(operations: readonly MemoryOperation[], dimension: number): Uint8Array {
  const writer = new Writer(operations.length * (dimension * 4 + 256) + 8)
  writer.u32(dimension)
  writer.u32(operations.length)
  for (const operation of operations) {
    if (operation.type === 'put') {
      const { record } = operation
      writer.u8(OPERATION_PUT)
      writer.sizedUtf8(
        JSON.stringify({
          id: record.id,
          text: record.text,
          metadata: record.metadata,
          namespace: record.namespace,
          createdAt: record.createdAt,
          updatedAt: record.updatedAt,
          ...(record.provenance ? { provenance: record.provenance } : {}),
        }),
      )
      writer.floats(record.embedding)
    } else {
      writer.u8(OPERATION_DELETE)
      writer.sizedUtf8(JSON.stringify({ id: operation.id, namespace: operation.namespace, deletedAt: operation.deletedAt }))
    }
  }
  return writer.result()
}

/**
 * Decodes what {@link encodeOperations} wrote.
 *
 * @example
 * ```ts
 * const operations = decodeOperations(plaintext, 384, path)
 * ```
 */
export function decodeOperations(plaintext: Uint8Array, dimension: number, where: string): MemoryOperation[] {
  const reader = new Reader(plaintext, where)
  const stored = reader.u32()
  if (stored !== dimension)
    throw new IntegrityError('Segment dimension differs from the vault header', {
      details: `${where}: segment dimension ${stored}, header ${dimension}`,
    })
  const count = reader.u32()
  if (count * 5 > plaintext.length)
    throw new IntegrityError('Segment plaintext is malformed', {
      details: `${where}: claims ${count} operations in ${plaintext.length} bytes`,
      docsPath: 'vault-format.md',
    })
  const out: MemoryOperation[] = []
  // One buffer for every embedding of the segment (a typed array per record costs far more).
  const vectors = new Float32Array(Math.min(count, Math.floor(plaintext.length / (dimension * 4 + 5))) * dimension)
  let puts = 0
  for (let index = 0; index < count; index++) {
    const type = reader.u8()
    const length = reader.u32()
    let json: Record<string, unknown>
    try {
      json = JSON.parse(reader.utf8(length)) as Record<string, unknown>
    } catch (cause) {
      if (cause instanceof IntegrityError) throw cause
      throw new IntegrityError('Segment operation is not valid JSON', { details: `${where}: operation ${index}`, cause })
    }
    if (type === OPERATION_PUT) {
      const slot = puts < vectors.length / dimension ? vectors.subarray(puts * dimension, (puts + 1) * dimension) : undefined
      puts++
      const embedding = reader.floats(dimension, slot)
      out.push({
        type: 'put',
        record: {
          id: json.id as string,
          text: json.text as string,
          metadata: json.metadata as MemoryRecord['metadata'],
          namespace: json.namespace as string,
          createdAt: json.createdAt as number,
          updatedAt: json.updatedAt as number,
          embedding,
          ...(json.provenance ? { provenance: json.provenance as MemoryRecord['provenance'] } : {}),
        },
      })
    } else if (type === OPERATION_DELETE) {
      out.push({
        type: 'delete',
        id: json.id as string,
        namespace: json.namespace as string,
        deletedAt: json.deletedAt as number,
      })
    } else
      throw new IntegrityError('Segment has an unknown operation type', { details: `${where}: operation ${index}, type ${type}` })
  }
  reader.end()
  return out
}

/**
 * Encodes an index snapshot: `u64 sequence, u32 file count`, then per file `u32 path length,
 * path (UTF-8), u64 size, bytes`.
 *
 * @example
 * ```ts
 * const plaintext = encodeSnapshot(await index.snapshot(sequence))
 * ```
 */
export function encodeSnapshot(snapshot: IndexSnapshot): Uint8Array {
  let size = 12
  for (const [path, bytes] of snapshot.files) size += 12 + utf8ToBytes(path).length + bytes.length
  const writer = new Writer(size)
  writer.u64(snapshot.sequence)
  writer.u32(snapshot.files.size)
  for (const [path, bytes] of snapshot.files) {
    const name = utf8ToBytes(path)
    writer.u32(name.length)
    writer.bytes(name)
    writer.u64(bytes.length)
    writer.bytes(bytes)
  }
  return writer.result()
}

/**
 * Decodes what {@link encodeSnapshot} wrote.
 *
 * @example
 * ```ts
 * const snapshot = decodeSnapshot(plaintext, path)
 * ```
 */
export function decodeSnapshot(plaintext: Uint8Array, where: string): IndexSnapshot {
  const reader = new Reader(plaintext, where)
  const sequence = reader.u64()
  const count = reader.u32()
  const files = new Map<string, Uint8Array>()
  for (let index = 0; index < count; index++) {
    const path = bytesToUtf8(reader.bytes(reader.u32()))
    files.set(path, reader.bytes(reader.u64()))
  }
  reader.end()
  return { sequence, files }
}
