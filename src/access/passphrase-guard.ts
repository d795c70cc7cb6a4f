import { z } from 'zod'
import { fromBase64, toBase64 } from '../crypto/bytes.js'
import { randomBytes } from '../crypto/random.js'
import { DEFAULT_SCRYPT, deriveKeyFromPassphrase, type ScryptParameters } from '../crypto/scrypt.js'
import { AccessDeniedError, WrongKeyError } from '../errors.js'
import { parseInput } from '../validation.js'
import type { Guard } from './guard.js'
import { openStanza, readStanzaBody, sealStanza } from './stanza-seal.js'

const parametersSchema = z.object({
  passphrase: z.string().min(1, 'passphrase must not be empty').max(4096),
  cost: z
    .object({ logN: z.number().int().min(10).max(22), r: z.number().int().min(1).max(32), p: z.number().int().min(1).max(16) })
    .optional(),
  maxLogN: z.number().int().min(10).max(22).optional(),
})

/** Default bound on a stanza's scrypt work when unwrapping: N·r·p at most 2^18·8 (256 MiB, about 1 s). */
export const DEFAULT_MAX_SCRYPT_LOG_N = 18

const stanzaParamsSchema = z.object({
  salt: z.string(),
  logN: z.number().int().min(10).max(22),
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(16),
})

export type PassphraseGuardParameters = {
  passphrase: string
  /** scrypt cost for new stanzas (default N=2^17, r=8, p=1). Unwrapping uses the stanza's own cost. */
  cost?: ScryptParameters | undefined
  /**
   * Largest scrypt work a stanza may ask for when unwrapping, as log2 of N at r = 8, p = 1 (default
   * 18, or `cost.logN` if larger). The cost is read from the stanza before anything can be
   * authenticated, so an attacker who writes the vault could otherwise make every open burn
   * seconds and gigabytes; a stanza above the bound is refused without running scrypt.
   */
  maxLogN?: number | undefined
}
export type PassphraseGuardReturnType = Guard

/**
 * A guard that releases the data key to whoever knows a passphrase: scrypt (RFC 7914)
 * derives a wrapping key from the passphrase and a random salt; AES-256-GCM wraps the data key,
 * bound to the vault id and key id.
 *
 * @example
 * ```ts
 * const vault = await createVault({ path: './memory', guards: [passphraseGuard({ passphrase: process.env.VERITY_PASSPHRASE! })] })
 * ```
 */
export function passphraseGuard(parameters: PassphraseGuardParameters): PassphraseGuardReturnType {
  const {
    passphrase,
    cost = DEFAULT_SCRYPT,
    maxLogN,
  } = parseInput(parametersSchema, parameters, {
    what: 'passphraseGuard parameters',
    hint: 'Pass a non-empty passphrase (e.g. from VERITY_PASSPHRASE).',
    docsPath: 'access.md',
  })
  const workBound = 2 ** Math.max(maxLogN ?? DEFAULT_MAX_SCRYPT_LOG_N, cost.logN) * 8
  return {
    specificationVersion: 'v1',
    kind: 'passphrase',
    async wrap(dataKey, context) {
      const salt = randomBytes(16)
      const wrappingKey = await deriveKeyFromPassphrase({ passphrase, salt, cost })
      const header = {
        kind: 'passphrase',
        version: 1,
        keyId: context.keyId,
        recipient: 'passphrase',
        params: { salt: toBase64(salt), logN: cost.logN, r: cost.r, p: cost.p },
      }
      return sealStanza({ header, context, wrappingKey, dataKey })
    },
    async unwrap(stanza, context) {
      const body = readStanzaBody(stanza, 'passphrase')
      const params = parseInput(stanzaParamsSchema, stanza.params, { what: 'passphrase stanza parameters' })
      const work = 2 ** params.logN * params.r * params.p
      if (work > Math.max(workBound, 2 ** cost.logN * cost.r * cost.p))
        throw new AccessDeniedError('The passphrase stanza asks for more scrypt work than allowed', {
          details: `logN ${params.logN}, r ${params.r}, p ${params.p} (N·r·p = 2^${Math.log2(work).toFixed(1)}); the bound is 2^${Math.log2(workBound).toFixed(1)}`,
          hint: 'Someone may have raised the cost in the vault header to slow every open down. If you chose this cost yourself, pass `maxLogN` to passphraseGuard.',
          docsPath: 'access.md',
          meta: { reason: 'scrypt-cost', logN: params.logN, r: params.r, p: params.p },
        })
      const wrappingKey = await deriveKeyFromPassphrase({
        passphrase,
        salt: fromBase64(params.salt, 'passphrase stanza salt'),
        cost: { logN: params.logN, r: params.r, p: params.p },
      })
      try {
        return openStanza({ stanza, body, context, wrappingKey })
      } catch (cause) {
        throw new WrongKeyError('Wrong passphrase', {
          details: `the passphrase does not open key ${context.keyId} of vault ${context.vaultId}`,
          hint: 'Check VERITY_PASSPHRASE, or open the vault with another guard that was granted access.',
          docsPath: 'access.md',
          cause,
        })
      }
    },
  }
}
