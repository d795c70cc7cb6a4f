import { randomBytes as nodeRandomBytes } from 'node:crypto'

/**
 * Cryptographically secure random bytes from the operating system.
 *
 * @example
 * ```ts
 * const dataKey = randomBytes(32)
 * ```
 */
export function randomBytes(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 1 << 20)
    throw new RangeError(`randomBytes: length must be an integer in [0, 2^20], got ${length}`)
  return new Uint8Array(nodeRandomBytes(length))
}

/**
 * A random identifier: 16 random bytes as 32 lower-case hex characters (128 bits, never reused).
 *
 * @example
 * ```ts
 * randomId() // '9f86d081884c7d659a2feaa0c55ad015'
 * ```
 */
export function randomId(): string {
  return nodeRandomBytes(16).toString('hex')
}
