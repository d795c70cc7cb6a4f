import { createHash } from 'node:crypto'
import { fromHex, toHex } from '../crypto/bytes.js'
import { DIGEST_PREFIX, digest } from '../crypto/digest.js'
import { STREAM_CHUNK_SIZE, streamDecrypt, streamDecryptChunks, streamEncryptAsync } from '../crypto/stream.js'
import { IntegrityError, TruncatedDataError, UnsupportedFormatError } from '../errors.js'
import { segmentKey } from './vault-format.js'

/**
 * Segment files: a fixed 72-byte plaintext header followed by a STREAM ciphertext. The header
 * is the associated data of every chunk, so vault id, segment id, sequence, key id and kind are
 * bound to the content. Layout in `docs/vault-format.md`.
 */

/** ASCII `VERITYSG`. */
export const SEGMENT_MAGIC = new Uint8Array([0x56, 0x45, 0x52, 0x49, 0x54, 0x59, 0x53, 0x47])
export const SEGMENT_VERSION = 1
export const SEGMENT_HEADER_LENGTH = 72
/** Segment kinds as stored in byte 10. */
export const SEGMENT_KIND = { operations: 1, 'index-snapshot': 2 } as const
export type SegmentKind = keyof typeof SEGMENT_KIND

export type SegmentHeader = {
  kind: SegmentKind
  vaultId: string
  segmentId: string
  sequence: number
  keyId: string
  chunkSize: number
}

/**
 * Encodes a segment header (72 bytes).
 *
 * @example
 * ```ts
 * const bytes = encodeSegmentHeader({ kind: 'operations', vaultId, segmentId, sequence: 1, keyId, chunkSize: 65536 })
 * ```
 */
export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_LENGTH)
  const view = new DataView(out.buffer)
  out.set(SEGMENT_MAGIC, 0)
  view.setUint16(8, SEGMENT_VERSION, false)
  out[10] = SEGMENT_KIND[header.kind]
  out[11] = 0
  out.set(fromHex(header.vaultId, 'vaultId'), 12)
  out.set(fromHex(header.segmentId, 'segmentId'), 28)
  view.setBigUint64(44, BigInt(header.sequence), false)
  out.set(fromHex(header.keyId, 'keyId'), 52)
  view.setUint32(68, header.chunkSize, false)
  return out
}

/**
 * Decodes and checks a segment header.
 *
 * @example
 * ```ts
 * const header = decodeSegmentHeader(fileBytes, path)
 * ```
 */
export function decodeSegmentHeader(bytes: Uint8Array, where: string): SegmentHeader {
  if (bytes.length < SEGMENT_HEADER_LENGTH)
    throw new TruncatedDataError('Segment file is truncated', {
      details: `${where}: ${bytes.length} bytes, shorter than the ${SEGMENT_HEADER_LENGTH}-byte header`,
      hint: 'The file was cut short; restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
    })
  for (let index = 0; index < SEGMENT_MAGIC.length; index++)
    if (bytes[index] !== SEGMENT_MAGIC[index])
      throw new IntegrityError('Segment file has a wrong magic number', { details: where, docsPath: 'vault-format.md' })
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_LENGTH)
  const version = view.getUint16(8, false)
  if (version !== SEGMENT_VERSION)
    throw new UnsupportedFormatError(`Unsupported segment version ${version}`, {
      details: where,
      hint: 'Upgrade Verity, or restore the vault if the file is damaged.',
      docsPath: 'vault-format.md',
    })
  const kindByte = bytes[10]
  const kind = (Object.keys(SEGMENT_KIND) as SegmentKind[]).find((name) => SEGMENT_KIND[name] === kindByte)
  if (!kind || bytes[11] !== 0)
    throw new IntegrityError('Segment file has an unknown kind', { details: `${where}: kind ${kindByte}` })
  const chunkSize = view.getUint32(68, false)
  if (chunkSize < 16 || chunkSize > 1 << 24)
    throw new IntegrityError('Segment file has an impossible chunk size', {
      details: `${where}: chunk size ${chunkSize} (must be 16..2^24; Verity writes 65536)`,
      docsPath: 'vault-format.md',
    })
  return {
    kind,
    vaultId: toHex(bytes.subarray(12, 28)),
    segmentId: toHex(bytes.subarray(28, 44)),
    sequence: Number(view.getBigUint64(44, false)),
    keyId: toHex(bytes.subarray(52, 68)),
    chunkSize,
  }
}

export type SealSegmentParameters = Omit<SegmentHeader, 'chunkSize'> & { dataKey: Uint8Array; plaintext: Uint8Array }
export type SealSegmentReturnType = Promise<{
  /** The file's bytes in order: the 72-byte header, then each sealed STREAM chunk (write them with `writev`). */
  pieces: Uint8Array[]
  /** Total length of the pieces. */
  length: number
  /** The content address: `sha256:` of the file's bytes. */
  digest: string
}>

/**
 * Encrypts a segment's plaintext into the bytes of its file (as pieces, never joined) and their
 * content address. The encryption runs on the thread pool ({@link streamEncryptAsync}), so the
 * vault builds its search index on this thread meanwhile.
 *
 * @example
 * ```ts
 * const { pieces, digest } = await sealSegment({ kind: 'operations', vaultId, segmentId, sequence, keyId, dataKey, plaintext })
 * ```
 */
export async function sealSegment(parameters: SealSegmentParameters): SealSegmentReturnType {
  const { dataKey, plaintext, ...rest } = parameters
  const header = encodeSegmentHeader({ ...rest, chunkSize: STREAM_CHUNK_SIZE })
  const key = segmentKey(dataKey, rest.vaultId, rest.segmentId)
  let chunks: Uint8Array[]
  try {
    chunks = await streamEncryptAsync({ key, plaintext, associatedData: header, chunkSize: STREAM_CHUNK_SIZE })
  } finally {
    key.fill(0)
  }
  const pieces = [header, ...chunks]
  const hash = createHash('sha256')
  let length = 0
  for (const piece of pieces) {
    hash.update(piece)
    length += piece.length
  }
  return { pieces, length, digest: `${DIGEST_PREFIX}${hash.digest('hex')}` }
}

export type OpenSegmentParameters = {
  bytes: Uint8Array
  /** What the manifest expects of this file. */
  expected: { kind: SegmentKind; vaultId: string; segmentId: string; sequence: number; keyId: string; digest: string }
  dataKey: Uint8Array
  where: string
  /**
   * Also compare the file's SHA-256 with the manifest digest (default true). Decryption alone
   * already authenticates every byte (each STREAM chunk's tag covers its bytes and the 72-byte
   * header as associated data, under a key derived for this segment id only), so a reader that
   * decrypts the whole file may skip this hash; the vault does so when opening large vaults.
   */
  verifyDigest?: boolean | undefined
}

/** Checks the digest (optionally) and the header fields against the manifest; returns the chunk size. */
function checkSegment(parameters: OpenSegmentParameters): number {
  const { bytes, expected, where, verifyDigest = true } = parameters
  const actual = verifyDigest ? digest(bytes) : expected.digest
  if (actual !== expected.digest) {
    // Name the likelier cause: a short file is a truncation, anything else a modification.
    const header = decodeSegmentHeader(bytes, where)
    throw new IntegrityError('Segment file does not match its manifest digest', {
      details: `${where}: digest ${actual}, manifest says ${expected.digest} (segment ${header.segmentId})`,
      hint: 'The segment was modified, truncated or replaced; restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
    })
  }
  const header = decodeSegmentHeader(bytes, where)
  const mismatched = (['kind', 'vaultId', 'segmentId', 'sequence', 'keyId'] as const).filter(
    (field) => header[field] !== expected[field],
  )
  if (mismatched.length)
    throw new IntegrityError('Segment header does not match the manifest', {
      details: `${where}: ${mismatched.map((field) => `${field} is ${header[field]}, expected ${expected[field]}`).join('; ')}`,
      docsPath: 'vault-format.md',
    })
  return header.chunkSize
}

/**
 * Checks a segment file against its manifest entry (digest and header fields) and decrypts it.
 *
 * @example
 * ```ts
 * const plaintext = openSegment({ bytes, expected, dataKey, where: path })
 * ```
 */
export function openSegment(parameters: OpenSegmentParameters): Uint8Array {
  const chunkSize = checkSegment(parameters)
  const { bytes, expected, dataKey, where } = parameters
  const key = segmentKey(dataKey, expected.vaultId, expected.segmentId)
  try {
    return streamDecrypt({
      key,
      ciphertext: bytes.subarray(SEGMENT_HEADER_LENGTH),
      associatedData: bytes.subarray(0, SEGMENT_HEADER_LENGTH),
      chunkSize,
      label: where,
    })
  } finally {
    key.fill(0)
  }
}

export type OpenSegmentChunksParameters = OpenSegmentParameters
export type OpenSegmentChunksReturnType = Generator<Uint8Array, void, undefined>

/**
 * Like {@link openSegment}, but yields the plaintext one authenticated STREAM chunk at a time
 * (64 KiB), so a large segment (an index snapshot) can be written out without holding its
 * plaintext whole. The header is checked before the first chunk; truncation is only known when
 * the generator finishes, so a consumer discards its output if it throws.
 *
 * @example
 * ```ts
 * for (const plain of openSegmentChunks({ bytes, expected, dataKey, where: path })) consume(plain)
 * ```
 */
export function* openSegmentChunks(parameters: OpenSegmentChunksParameters): OpenSegmentChunksReturnType {
  const chunkSize = checkSegment(parameters)
  const { bytes, expected, dataKey, where } = parameters
  const key = segmentKey(dataKey, expected.vaultId, expected.segmentId)
  try {
    yield* streamDecryptChunks({
      key,
      ciphertext: bytes.subarray(SEGMENT_HEADER_LENGTH),
      associatedData: bytes.subarray(0, SEGMENT_HEADER_LENGTH),
      chunkSize,
      label: where,
    })
  } finally {
    key.fill(0)
  }
}
