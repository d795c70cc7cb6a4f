import { createCipheriv, webcrypto } from 'node:crypto'
import { IntegrityError, TruncatedDataError } from '../errors.js'
import { AEAD_ALGORITHM, AEAD_KEY_LENGTH, AEAD_TAG_LENGTH, aeadDecrypt } from './aead.js'
import { assertBytes } from './bytes.js'

/**
 * Chunked authenticated encryption in the manner of age's STREAM construction
 * (Hoang, Reyhanitabar, Rogaway, Vizár 2015): the plaintext is cut into chunks of
 * `chunkSize` bytes; chunk `i` is sealed with AES-256-GCM under nonce
 * `i as 11-byte big-endian || lastFlag` where `lastFlag` is 0x01 on the final chunk and 0x00
 * otherwise. Reordering, dropping, duplicating or truncating chunks is therefore detected.
 *
 * The key MUST be used for one stream only (derive it per object with HKDF), so nonces never repeat.
 */

/** Default plaintext bytes per chunk (64 KiB, as in age). */
export const STREAM_CHUNK_SIZE = 64 * 1024

export type StreamEncryptParameters = {
  key: Uint8Array
  plaintext: Uint8Array
  associatedData?: Uint8Array | undefined
  chunkSize?: number | undefined
}
export type StreamEncryptReturnType = Uint8Array

function chunkNonce(index: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12)
  const view = new DataView(nonce.buffer)
  // 11-byte counter; indexes stay far below 2^53 so the top bytes are zero.
  view.setUint32(3, Math.floor(index / 2 ** 32), false)
  view.setUint32(7, index >>> 0, false)
  nonce[11] = last ? 1 : 0
  return nonce
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < 16 || chunkSize > 1 << 24)
    throw new RangeError(`stream: chunkSize must be an integer in [16, 2^24], got ${chunkSize}`)
}

/**
 * Encrypts `plaintext` as a sequence of STREAM chunks. Output length is
 * `plaintext.length + 16 * max(1, ceil(plaintext.length / chunkSize))`.
 *
 * @example
 * ```ts
 * const sealed = streamEncrypt({ key: segmentKey, plaintext, associatedData })
 * ```
 */
export function streamEncrypt(parameters: StreamEncryptParameters): StreamEncryptReturnType {
  const { key, plaintext, associatedData, chunkSize = STREAM_CHUNK_SIZE } = parameters
  assertBytes(key, 'streamEncrypt key', AEAD_KEY_LENGTH)
  assertBytes(plaintext, 'streamEncrypt plaintext')
  if (associatedData) assertBytes(associatedData, 'streamEncrypt associatedData')
  checkChunkSize(chunkSize)
  const chunkCount = Math.max(1, Math.ceil(plaintext.length / chunkSize))
  const out = new Uint8Array(plaintext.length + chunkCount * AEAD_TAG_LENGTH)
  let offset = 0
  for (let index = 0; index < chunkCount; index++) {
    const start = index * chunkSize
    const chunk = plaintext.subarray(start, Math.min(start + chunkSize, plaintext.length))
    // Same construction as aeadEncrypt, writing body and tag straight into `out` (no extra copy).
    const cipher = createCipheriv(AEAD_ALGORITHM, key, chunkNonce(index, index === chunkCount - 1), {
      authTagLength: AEAD_TAG_LENGTH,
    })
    if (associatedData) cipher.setAAD(associatedData)
    const body = cipher.update(chunk)
    out.set(body, offset)
    offset += body.length
    const tail = cipher.final()
    out.set(tail, offset)
    offset += tail.length
    out.set(cipher.getAuthTag(), offset)
    offset += AEAD_TAG_LENGTH
  }
  return out
}

export type StreamEncryptAsyncParameters = StreamEncryptParameters
/** The sealed chunks in order (`ciphertext || tag` each); concatenated they equal {@link streamEncrypt}'s output. */
export type StreamEncryptAsyncReturnType = Promise<Uint8Array[]>

/**
 * {@link streamEncrypt} on the libuv thread pool: every chunk is sealed by WebCrypto's AES-GCM as
 * its own job, so a large object is encrypted on other cores while this thread does other work
 * (the vault builds its search index meanwhile). Same construction, byte for byte: the chunks,
 * concatenated, are exactly what `streamEncrypt` returns (a property test checks this).
 *
 * @example
 * ```ts
 * const chunks = await streamEncryptAsync({ key: segmentKey, plaintext, associatedData })
 * await file.writev(chunks)
 * ```
 */
export async function streamEncryptAsync(parameters: StreamEncryptAsyncParameters): StreamEncryptAsyncReturnType {
  const { key, plaintext, associatedData, chunkSize = STREAM_CHUNK_SIZE } = parameters
  assertBytes(key, 'streamEncryptAsync key', AEAD_KEY_LENGTH)
  assertBytes(plaintext, 'streamEncryptAsync plaintext')
  if (associatedData) assertBytes(associatedData, 'streamEncryptAsync associatedData')
  checkChunkSize(chunkSize)
  const cryptoKey = await webcrypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt'])
  const chunkCount = Math.max(1, Math.ceil(plaintext.length / chunkSize))
  const jobs: Promise<ArrayBuffer>[] = new Array(chunkCount)
  for (let index = 0; index < chunkCount; index++) {
    const start = index * chunkSize
    jobs[index] = webcrypto.subtle.encrypt(
      {
        name: 'AES-GCM',
        iv: chunkNonce(index, index === chunkCount - 1),
        tagLength: AEAD_TAG_LENGTH * 8,
        ...(associatedData ? { additionalData: associatedData } : {}),
      },
      cryptoKey,
      plaintext.subarray(start, Math.min(start + chunkSize, plaintext.length)),
    )
  }
  return (await Promise.all(jobs)).map((sealed) => new Uint8Array(sealed))
}

export type StreamDecryptParameters = {
  key: Uint8Array
  ciphertext: Uint8Array
  associatedData?: Uint8Array | undefined
  chunkSize?: number | undefined
  /** Named in errors (e.g. the segment file). */
  label?: string | undefined
}
export type StreamDecryptReturnType = Uint8Array
export type StreamDecryptChunksParameters = StreamDecryptParameters
export type StreamDecryptChunksReturnType = Generator<Uint8Array, void, undefined>

/**
 * Decrypts a STREAM ciphertext chunk by chunk, yielding each plaintext chunk as soon as its tag
 * has been checked, so a large object can be written out without ever being held whole. Every
 * yielded chunk is authentic, but the stream as a whole is only known to be complete (not
 * truncated) when the generator finishes: a consumer must discard what it wrote if it throws.
 * Throws {@link TruncatedDataError} when the stream ends before its final chunk and
 * {@link IntegrityError} on any other change.
 *
 * @example
 * ```ts
 * for (const plain of streamDecryptChunks({ key, ciphertext, associatedData })) writeSync(fd, plain)
 * ```
 */
export function* streamDecryptChunks(parameters: StreamDecryptChunksParameters): StreamDecryptChunksReturnType {
  const { key, ciphertext, associatedData, chunkSize = STREAM_CHUNK_SIZE, label = 'stream' } = parameters
  assertBytes(ciphertext, 'streamDecrypt ciphertext')
  checkChunkSize(chunkSize)
  const sealedChunk = chunkSize + AEAD_TAG_LENGTH
  if (ciphertext.length < AEAD_TAG_LENGTH)
    throw new TruncatedDataError('Encrypted stream is truncated', {
      details: `${label}: ${ciphertext.length} bytes, less than one chunk tag`,
    })
  const chunkCount = Math.max(1, Math.ceil(ciphertext.length / sealedChunk))
  for (let index = 0; index < chunkCount; index++) {
    const start = index * sealedChunk
    const chunk = ciphertext.subarray(start, Math.min(start + sealedChunk, ciphertext.length))
    const last = index === chunkCount - 1
    if (chunk.length < AEAD_TAG_LENGTH)
      throw new TruncatedDataError('Encrypted stream is truncated', {
        details: `${label}: chunk ${index} has ${chunk.length} bytes`,
      })
    let plain: Uint8Array
    try {
      plain = aeadDecrypt({
        key,
        nonce: chunkNonce(index, last),
        ciphertext: chunk,
        associatedData,
        label: `${label} chunk ${index}`,
      })
    } catch (error) {
      if (last && chunk.length === sealedChunk && isIntactNonFinal(key, index, chunk, associatedData))
        throw new TruncatedDataError('Encrypted stream is truncated', {
          details: `${label}: ends after chunk ${index}, which is not the final chunk`,
          hint: 'The file was cut short (an interrupted copy or write); restore it from a good copy.',
        })
      if (error instanceof IntegrityError)
        throw new IntegrityError('Encrypted stream failed authentication', {
          details: `${label}: chunk ${index} (bytes ${start}..${start + chunk.length}) was modified`,
          hint: 'The data was tampered with or corrupted; restore it from a good copy.',
          cause: error,
        })
      throw error
    }
    yield plain
  }
}

/**
 * Decrypts a STREAM ciphertext into one buffer. Throws {@link TruncatedDataError} when the
 * stream ends before its final chunk and {@link IntegrityError} on any other change.
 *
 * @example
 * ```ts
 * const plaintext = streamDecrypt({ key: segmentKey, ciphertext: sealed, associatedData })
 * ```
 */
export function streamDecrypt(parameters: StreamDecryptParameters): StreamDecryptReturnType {
  const chunkSize = parameters.chunkSize ?? STREAM_CHUNK_SIZE
  checkChunkSize(chunkSize)
  assertBytes(parameters.ciphertext, 'streamDecrypt ciphertext')
  const chunkCount = Math.max(1, Math.ceil(parameters.ciphertext.length / (chunkSize + AEAD_TAG_LENGTH)))
  const out = new Uint8Array(Math.max(0, parameters.ciphertext.length - chunkCount * AEAD_TAG_LENGTH))
  let written = 0
  for (const plain of streamDecryptChunks(parameters)) {
    out.set(plain, written)
    written += plain.length
  }
  return out
}

function isIntactNonFinal(key: Uint8Array, index: number, chunk: Uint8Array, associatedData: Uint8Array | undefined): boolean {
  try {
    aeadDecrypt({ key, nonce: chunkNonce(index, false), ciphertext: chunk, associatedData })
    return true
  } catch {
    return false
  }
}
