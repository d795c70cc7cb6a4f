/**
 * `verity/crypto`: the primitives every room builds on.
 *
 * @example
 * ```ts
 * import { aeadEncrypt, hkdf, canonicalJson, digest } from 'verity/crypto'
 * ```
 */

export type { AeadDecryptParameters, AeadDecryptReturnType, AeadEncryptParameters, AeadEncryptReturnType } from './aead.js'
export { AEAD_ALGORITHM, AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, aeadDecrypt, aeadEncrypt } from './aead.js'
export {
  bytesToUtf8,
  concatBytes,
  constantTimeEqual,
  fromBase64,
  fromHex,
  toBase64,
  toHex,
  utf8ToBytes,
} from './bytes.js'
export type { JsonValue } from './canonical-json.js'
export { canonicalDigest, canonicalJson } from './canonical-json.js'
export { DIGEST_PREFIX, digest, isDigest, sha256 } from './digest.js'
export type { HkdfParameters, HkdfReturnType } from './hkdf.js'
export { hkdf } from './hkdf.js'
export { randomBytes, randomId } from './random.js'
export type { DeriveKeyFromPassphraseParameters, ScryptParameters } from './scrypt.js'
export { DEFAULT_SCRYPT, deriveKeyFromPassphrase } from './scrypt.js'
export type {
  StreamDecryptChunksParameters,
  StreamDecryptParameters,
  StreamEncryptAsyncParameters,
  StreamEncryptParameters,
} from './stream.js'
export { STREAM_CHUNK_SIZE, streamDecrypt, streamDecryptChunks, streamEncrypt, streamEncryptAsync } from './stream.js'
