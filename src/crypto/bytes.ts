import { timingSafeEqual } from 'node:crypto'

/**
 * Byte helpers shared by every room. Bad input gets a labelled `TypeError` or `RangeError`
 * (programming errors), never a silent coercion.
 */

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Throws a labelled `TypeError` unless `value` is a `Uint8Array`.
 *
 * @example
 * ```ts
 * assertBytes(key, 'key', 32)
 * ```
 */
export function assertBytes(value: unknown, label: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${label}: expected Uint8Array, got ${describe(value)}`)
  if (length !== undefined && value.length !== length)
    throw new RangeError(`${label}: expected ${length} bytes, got ${value.length}`)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value
}

/**
 * Lower-case hex without a `0x` prefix.
 *
 * @example
 * ```ts
 * toHex(new Uint8Array([1, 255])) // '01ff'
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'toHex')
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/**
 * Parses hex (with or without `0x`). Throws `TypeError` on odd length or non-hex characters.
 *
 * @example
 * ```ts
 * fromHex('0x01ff') // Uint8Array [1, 255]
 * ```
 */
export function fromHex(hex: string, label = 'fromHex'): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`${label}: expected hex string, got ${describe(hex)}`)
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body))
    throw new TypeError(`${label}: invalid hex string of length ${hex.length}`)
  return new Uint8Array(Buffer.from(body, 'hex'))
}

/**
 * Standard base64 with padding.
 *
 * @example
 * ```ts
 * toBase64(utf8ToBytes('hi')) // 'aGk='
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  assertBytes(bytes, 'toBase64')
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/**
 * Parses standard base64 strictly (re-encodes and compares, so junk is refused).
 *
 * @example
 * ```ts
 * fromBase64('aGk=') // bytes of 'hi'
 * ```
 */
export function fromBase64(text: string, label = 'fromBase64'): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`${label}: expected base64 string, got ${describe(text)}`)
  const bytes = Buffer.from(text, 'base64')
  if (bytes.toString('base64') !== text) throw new TypeError(`${label}: invalid base64`)
  return new Uint8Array(bytes)
}

/**
 * UTF-8 encode.
 *
 * @example
 * ```ts
 * utf8ToBytes('é').length // 2
 * ```
 */
export function utf8ToBytes(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`utf8ToBytes: expected string, got ${describe(text)}`)
  return textEncoder.encode(text)
}

/**
 * Strict UTF-8 decode: invalid sequences throw `TypeError`.
 *
 * @example
 * ```ts
 * bytesToUtf8(utf8ToBytes('hi')) // 'hi'
 * ```
 */
export function bytesToUtf8(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytesToUtf8')
  return textDecoder.decode(bytes)
}

/**
 * Concatenates byte arrays.
 *
 * @example
 * ```ts
 * concatBytes(a, b).length === a.length + b.length
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const [index, part] of parts.entries()) {
    assertBytes(part, `concatBytes[${index}]`)
    length += part.length
  }
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * Constant-time equality for secrets and MACs. Different lengths return false (length is not secret).
 *
 * @example
 * ```ts
 * constantTimeEqual(tagA, tagB)
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'constantTimeEqual(a)')
  assertBytes(b, 'constantTimeEqual(b)')
  if (a.length !== b.length) return false
  return timingSafeEqual(a, b)
}

/**
 * Big-endian unsigned 32-bit integer as 4 bytes.
 *
 * @example
 * ```ts
 * u32be(1) // [0, 0, 0, 1]
 * ```
 */
export function u32be(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`u32be: out of range: ${value}`)
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value, false)
  return out
}

/**
 * Big-endian unsigned 64-bit integer (safe integer range) as 8 bytes.
 *
 * @example
 * ```ts
 * u64be(1) // [0, 0, 0, 0, 0, 0, 0, 1]
 * ```
 */
export function u64be(value: number | bigint): Uint8Array {
  const big = BigInt(value)
  if (big < 0n || big > 0xffffffffffffffffn) throw new RangeError(`u64be: out of range: ${value}`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, big, false)
  return out
}
