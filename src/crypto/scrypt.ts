import { scrypt as nodeScrypt } from 'node:crypto'
import { assertBytes, utf8ToBytes } from './bytes.js'

/** scrypt cost parameters. `logN` is log2 of the CPU/memory cost N. */
export type ScryptParameters = { logN: number; r: number; p: number }

/** Defaults: N = 2^17, r = 8, p = 1 (128 MiB, ~0.3-0.5 s here), the strength age and libsodium recommend for interactive use. */
export const DEFAULT_SCRYPT: ScryptParameters = { logN: 17, r: 8, p: 1 }

export type DeriveKeyFromPassphraseParameters = {
  passphrase: string
  salt: Uint8Array
  cost?: ScryptParameters | undefined
  length?: number | undefined
}
export type DeriveKeyFromPassphraseReturnType = Promise<Uint8Array>

/**
 * Derives a key from a passphrase with scrypt (RFC 7914) off the main thread (libuv pool).
 *
 * @example
 * ```ts
 * const wrappingKey = await deriveKeyFromPassphrase({ passphrase, salt })
 * ```
 */
export function deriveKeyFromPassphrase(parameters: DeriveKeyFromPassphraseParameters): DeriveKeyFromPassphraseReturnType {
  const { passphrase, salt, cost = DEFAULT_SCRYPT, length = 32 } = parameters
  if (typeof passphrase !== 'string') throw new TypeError('deriveKeyFromPassphrase: passphrase must be a string')
  assertBytes(salt, 'deriveKeyFromPassphrase salt')
  if (!Number.isInteger(cost.logN) || cost.logN < 10 || cost.logN > 22)
    throw new RangeError(`deriveKeyFromPassphrase: logN must be in [10, 22], got ${cost.logN}`)
  if (!Number.isInteger(cost.r) || cost.r < 1 || cost.r > 32)
    throw new RangeError(`deriveKeyFromPassphrase: r out of range: ${cost.r}`)
  if (!Number.isInteger(cost.p) || cost.p < 1 || cost.p > 16)
    throw new RangeError(`deriveKeyFromPassphrase: p out of range: ${cost.p}`)
  const N = 2 ** cost.logN
  const maxmem = 128 * N * cost.r * 2 + 1024 * 1024
  return new Promise((resolve, reject) => {
    nodeScrypt(utf8ToBytes(passphrase.normalize('NFKC')), salt, length, { N, r: cost.r, p: cost.p, maxmem }, (error, key) => {
      if (error) reject(error)
      else resolve(new Uint8Array(key))
    })
  })
}
