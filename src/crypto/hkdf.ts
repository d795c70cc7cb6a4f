import { hkdfSync } from 'node:crypto'
import { assertBytes, utf8ToBytes } from './bytes.js'

export type HkdfParameters = {
  /** Input keying material. */
  key: Uint8Array
  /** Optional salt (RFC 5869 §2.2); empty when absent. */
  salt?: Uint8Array | undefined
  /** Context and application specific information, as bytes or a UTF-8 string. */
  info: Uint8Array | string
  /** Output length in bytes (default 32). */
  length?: number | undefined
}
export type HkdfReturnType = Uint8Array

/**
 * HKDF-SHA256 (RFC 5869), extract then expand.
 *
 * @example
 * ```ts
 * const segmentKey = hkdf({ key: dataKey, salt: vaultId, info: `verity/segment/${segmentId}` })
 * ```
 */
export function hkdf(parameters: HkdfParameters): HkdfReturnType {
  const { key, salt = new Uint8Array(0), info, length = 32 } = parameters
  assertBytes(key, 'hkdf key')
  assertBytes(salt, 'hkdf salt')
  const infoBytes = typeof info === 'string' ? utf8ToBytes(info) : info
  assertBytes(infoBytes, 'hkdf info')
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32)
    throw new RangeError(`hkdf: length must be in [1, 8160], got ${length}`)
  return new Uint8Array(hkdfSync('sha256', key, salt, infoBytes, length))
}
