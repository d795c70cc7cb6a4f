import { createHash } from 'node:crypto'
import { assertBytes, toHex, utf8ToBytes } from './bytes.js'

/** Prefix of Verity's digest strings. */
export const DIGEST_PREFIX = 'sha256:'

/**
 * SHA-256 of bytes (or of a UTF-8 string).
 *
 * @example
 * ```ts
 * sha256(utf8ToBytes('abc'))
 * ```
 */
export function sha256(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === 'string' ? utf8ToBytes(data) : data
  assertBytes(bytes, 'sha256')
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/**
 * A content address: `sha256:` followed by 64 lower-case hex characters.
 *
 * @example
 * ```ts
 * digest(fileBytes) // 'sha256:ba7816bf...'
 * ```
 */
export function digest(data: Uint8Array | string): string {
  return `${DIGEST_PREFIX}${toHex(sha256(data))}`
}

/**
 * True when `value` has the form of a Verity digest string.
 *
 * @example
 * ```ts
 * isDigest('sha256:' + '0'.repeat(64)) // true
 * ```
 */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && /^sha256:[0-9a-f]{64}$/.test(value)
}
