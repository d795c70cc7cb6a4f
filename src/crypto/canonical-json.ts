import canonicalize from 'canonicalize'
import { digest } from './digest.js'

/**
 * A JSON value: what canonical JSON hashes, what memory metadata and trace bodies hold.
 *
 * @example
 * ```ts
 * const metadata: JsonValue = { source: 'chat', tags: ['tea'], score: 0.9 }
 * ```
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): sorted keys, ECMAScript number formatting,
 * minimal string escapes. Uses the `canonicalize` package by the RFC's co-author.
 * Refuses values JSON cannot represent exactly (undefined, functions, non-finite numbers, bigint).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  assertJsonValue(value, '$')
  const text = (canonicalize as unknown as (input: unknown) => string | undefined)(value)
  if (text === undefined) throw new TypeError('canonicalJson: value has no JSON representation')
  return text
}

/**
 * `sha256:` digest of the RFC 8785 canonical form of a JSON value.
 *
 * @example
 * ```ts
 * canonicalDigest({ a: 1 }) === canonicalDigest({ a: 1.0 })
 * ```
 */
export function canonicalDigest(value: unknown): string {
  return digest(canonicalJson(value))
}

function assertJsonValue(value: unknown, path: string): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${path}`)
      return
    case 'object': {
      if (value === null) return
      if (Array.isArray(value)) {
        for (const [index, item] of value.entries()) assertJsonValue(item, `${path}[${index}]`)
        return
      }
      if (value instanceof Uint8Array) throw new TypeError(`canonicalJson: bytes at ${path}; encode them first`)
      const prototype = Object.getPrototypeOf(value)
      if (prototype !== Object.prototype && prototype !== null && typeof (value as { toJSON?: unknown }).toJSON !== 'function')
        throw new TypeError(`canonicalJson: non-plain object at ${path}`)
      for (const [key, item] of Object.entries(value)) {
        if (item === undefined) throw new TypeError(`canonicalJson: undefined at ${path}.${key}`)
        assertJsonValue(item, `${path}.${key}`)
      }
      return
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} at ${path} is not JSON`)
  }
}
