import { z } from 'zod'

/**
 * The `Guard` extension point: something that wraps a vault's data key under an access
 * policy and unwraps it for whoever satisfies that policy. Versioned by
 * `specificationVersion` so plugins can ship guards of their own.
 */

/** A wrapped data key as stored in a vault header. Everything but `body` is public. */
export type Stanza = {
  /** The guard kind that made it: `passphrase`, `owner`, `lit`, or a plugin's kind. */
  kind: string
  /** Stanza format version of that kind. */
  version: number
  /** Which data key (generation) this stanza wraps. */
  keyId: string
  /** Who can open it, for listing grants (an address, `passphrase`, a conditions digest). */
  recipient: string
  /** Kind-specific public parameters (salt, cost, ephemeral public key, conditions...). */
  params: Record<string, unknown>
  /** The wrapped key, base64. */
  body: string
}

/** zod schema of {@link Stanza}, for validating headers read from disk. */
export const stanzaSchema = z.object({
  kind: z.string().min(1).max(64),
  version: z.number().int().min(1),
  keyId: z.string().regex(/^[0-9a-f]{32}$/),
  recipient: z.string().min(1).max(512),
  params: z.record(z.string(), z.unknown()),
  body: z.string().max(1 << 20),
})

/** What a stanza is bound to: it cannot be moved to another vault or key generation. */
export type GuardContext = {
  vaultId: string
  keyId: string
}

/**
 * A guard, version 1.
 *
 * @example
 * ```ts
 * const guard: Guard = passphraseGuard({ passphrase: 'correct horse battery staple' })
 * const stanza = await guard.wrap(dataKey, { vaultId, keyId })
 * const again = await guard.unwrap(stanza, { vaultId, keyId })
 * ```
 */
export interface Guard {
  readonly specificationVersion: 'v1'
  /** Matches {@link Stanza.kind} of the stanzas this guard makes and opens. */
  readonly kind: string
  /** Wraps `dataKey` for this guard's recipient. */
  wrap(dataKey: Uint8Array, context: GuardContext): Promise<Stanza>
  /**
   * Unwraps a stanza of this guard's kind. Throws `WrongKeyError` when these credentials
   * do not open it, `AccessDeniedError` when a policy refuses.
   */
  unwrap(stanza: Stanza, context: GuardContext): Promise<Uint8Array>
}
