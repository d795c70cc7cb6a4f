import { aeadDecrypt, aeadEncrypt } from '../crypto/aead.js'
import { concatBytes, fromBase64, toBase64, utf8ToBytes } from '../crypto/bytes.js'
import { canonicalJson } from '../crypto/canonical-json.js'
import { randomBytes } from '../crypto/random.js'
import { IntegrityError, InvalidInputError, UnsupportedFormatError } from '../errors.js'
import type { GuardContext, Stanza } from './guard.js'

/**
 * What every guard shares: a stanza body is `nonce (12) || AES-256-GCM(wrappingKey, dataKey)`,
 * authenticated together with the stanza's public fields and its vault/key ids. Guards differ only
 * in how they obtain the wrapping key (scrypt, ECDH, Lit threshold decryption).
 */

/** Stanza fields without the wrapped key. */
export type StanzaHeader = Omit<Stanza, 'body'>

/**
 * Associated data binding a stanza to its vault, key generation and public parameters.
 *
 * @example
 * ```ts
 * const associatedData = stanzaAssociatedData(stanza, { vaultId, keyId })
 * ```
 */
export function stanzaAssociatedData(stanza: StanzaHeader, context: GuardContext): Uint8Array {
  return utf8ToBytes(
    canonicalJson({
      kind: stanza.kind,
      version: stanza.version,
      keyId: context.keyId,
      vaultId: context.vaultId,
      params: stanza.params,
    }),
  )
}

export type SealStanzaParameters = { header: StanzaHeader; context: GuardContext; wrappingKey: Uint8Array; dataKey: Uint8Array }

/**
 * Wraps `dataKey` under `wrappingKey` (fresh random nonce) and returns the finished stanza.
 * Zeroes `wrappingKey` afterwards.
 *
 * @example
 * ```ts
 * return sealStanza({ header, context, wrappingKey, dataKey })
 * ```
 */
export function sealStanza(parameters: SealStanzaParameters): Stanza {
  const { header, context, wrappingKey, dataKey } = parameters
  try {
    const nonce = randomBytes(12)
    const sealed = aeadEncrypt({
      key: wrappingKey,
      nonce,
      plaintext: dataKey,
      associatedData: stanzaAssociatedData(header, context),
    })
    return { ...header, body: toBase64(concatBytes(nonce, sealed)) }
  } finally {
    wrappingKey.fill(0)
  }
}

/**
 * Checks that a stanza is of `kind` and of a version this build reads, and returns its decoded
 * body (typed errors for a foreign kind, a newer version, or a truncated body).
 *
 * @example
 * ```ts
 * const body = readStanzaBody(stanza, 'owner')
 * ```
 */
export function readStanzaBody(stanza: Stanza, kind: string): Uint8Array {
  if (stanza.kind !== kind) throw new InvalidInputError(`${kind} guard cannot open a '${stanza.kind}' stanza`)
  if (stanza.version !== 1)
    throw new UnsupportedFormatError(`Unsupported ${kind} stanza version ${stanza.version}`, {
      hint: 'Upgrade Verity to open this vault.',
    })
  const body = fromBase64(stanza.body, `${kind} stanza body`)
  if (body.length < 12 + 16) throw new IntegrityError(`${kind} stanza is truncated`, { details: `${body.length} bytes` })
  return body
}

export type OpenStanzaParameters = { stanza: Stanza; body: Uint8Array; context: GuardContext; wrappingKey: Uint8Array }

/**
 * Unwraps the data key from a body read by {@link readStanzaBody}; throws `IntegrityError` when the
 * wrapping key is wrong or anything bound to the stanza changed (callers turn that into their own
 * `WrongKeyError`). Zeroes `wrappingKey` afterwards.
 *
 * @example
 * ```ts
 * const dataKey = openStanza({ stanza, body, context, wrappingKey })
 * ```
 */
export function openStanza(parameters: OpenStanzaParameters): Uint8Array {
  const { stanza, body, context, wrappingKey } = parameters
  try {
    return aeadDecrypt({
      key: wrappingKey,
      nonce: body.subarray(0, 12),
      ciphertext: body.subarray(12),
      associatedData: stanzaAssociatedData(stanza, context),
    })
  } finally {
    wrappingKey.fill(0)
  }
}
