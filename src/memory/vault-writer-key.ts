import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { concatBytes, fromHex, toHex, utf8ToBytes } from '../crypto/bytes.js'
import { canonicalJson } from '../crypto/canonical-json.js'
import { randomBytes } from '../crypto/random.js'
import { IntegrityError } from '../errors.js'

/**
 * The vault's writer key: an Ed25519 key pair whose public half is in the header
 * (`header.writer.publicKey`) and whose 32-byte seed only writers hold (a writer's stanza wraps
 * `data key || writer seed`, a reader's only the data key). Every commit is signed with it, so a
 * reader, or a party revoked after reading, cannot forge a manifest even with every data key.
 * Byte-level description: `docs/vault-format.md` ("Writer key and signature").
 */

/** Domain prefix of the signed commit message. */
export const COMMIT_SIGNATURE_DOMAIN = 'verity/vault/v2/commit\n'

const PKCS8_ED25519_PREFIX = fromHex('302e020100300506032b657004220420')
const SPKI_ED25519_PREFIX = fromHex('302a300506032b6570032100')

/** A writer key pair: 32-byte seed and its 32-byte public key (hex). */
export type WriterKey = { seed: Uint8Array; publicKey: string }

/**
 * A fresh writer key pair.
 *
 * @example
 * ```ts
 * const writer = newWriterKey()
 * ```
 */
export function newWriterKey(): WriterKey {
  const seed = randomBytes(32)
  return { seed, publicKey: writerPublicKey(seed) }
}

/**
 * The public key (64 lower-case hex) of a writer seed.
 *
 * @example
 * ```ts
 * if (writerPublicKey(seed) !== header.writer.publicKey) throw ...
 * ```
 */
export function writerPublicKey(seed: Uint8Array): string {
  const key = createPublicKey(
    createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_ED25519_PREFIX, seed)), format: 'der', type: 'pkcs8' }),
  )
  const der = key.export({ format: 'der', type: 'spki' })
  return toHex(new Uint8Array(der.subarray(der.length - 32)))
}

/**
 * The bytes a commit signature covers: `utf8("verity/vault/v2/commit\n") || utf8(canonicalJson({ header, manifest }))`.
 *
 * @example
 * ```ts
 * const message = commitSignatureMessage({ header, manifest })
 * ```
 */
export function commitSignatureMessage(document: { header: unknown; manifest: unknown }): Uint8Array {
  return concatBytes(
    utf8ToBytes(COMMIT_SIGNATURE_DOMAIN),
    utf8ToBytes(canonicalJson({ header: document.header, manifest: document.manifest })),
  )
}

/**
 * Signs a commit's header and manifest with the writer seed (Ed25519, RFC 8032); 128 hex.
 *
 * @example
 * ```ts
 * const signature = signCommit({ header, manifest }, writer.seed)
 * ```
 */
export function signCommit(document: { header: unknown; manifest: unknown }, seed: Uint8Array): string {
  const key = createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_ED25519_PREFIX, seed)), format: 'der', type: 'pkcs8' })
  return toHex(new Uint8Array(sign(null, commitSignatureMessage(document), key)))
}

/**
 * Verifies a commit signature against the header's writer public key; throws {@link IntegrityError}.
 *
 * @example
 * ```ts
 * verifyCommitSignature({ header, manifest, signature }, where)
 * ```
 */
export function verifyCommitSignature(
  document: { header: { writer: { publicKey: string } }; manifest: { sequence: number }; signature: string },
  where: string,
): void {
  const publicKey = createPublicKey({
    key: Buffer.from(concatBytes(SPKI_ED25519_PREFIX, fromHex(document.header.writer.publicKey, 'writer public key'))),
    format: 'der',
    type: 'spki',
  })
  let valid = false
  try {
    valid = verify(null, commitSignatureMessage(document), publicKey, fromHex(document.signature, 'commit signature'))
  } catch {
    valid = false
  }
  if (!valid)
    throw new IntegrityError('Vault commit signature does not verify', {
      details: `${where}: the writer's Ed25519 signature over header and manifest does not match (sequence ${document.manifest.sequence})`,
      hint: 'The commit file was changed by someone without the writer key (a reader or a revoked party); restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
      meta: { reason: 'signature' },
    })
}

/**
 * Splits an unwrapped stanza payload: 32 bytes (a reader: the data key) or 64 bytes (a writer:
 * data key || writer seed).
 *
 * @example
 * ```ts
 * const { dataKey, writerSeed } = splitStanzaPayload(payload)
 * ```
 */
export function splitStanzaPayload(payload: Uint8Array): { dataKey: Uint8Array; writerSeed: Uint8Array | undefined } {
  if (payload.length === 32) return { dataKey: payload, writerSeed: undefined }
  if (payload.length === 64) return { dataKey: payload.slice(0, 32), writerSeed: payload.slice(32) }
  throw new IntegrityError('Unwrapped data key has the wrong length', {
    details: `${payload.length} bytes (expected 32 for a reader, 64 for a writer)`,
  })
}
