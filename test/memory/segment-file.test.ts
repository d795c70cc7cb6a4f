import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { concatBytes } from '../../src/crypto/bytes.js'
import { digest } from '../../src/crypto/digest.js'
import { randomBytes, randomId } from '../../src/crypto/random.js'
import { STREAM_CHUNK_SIZE, streamEncrypt } from '../../src/crypto/stream.js'
import { IntegrityError, TruncatedDataError } from '../../src/errors.js'
import { encodeSegmentHeader, openSegment, openSegmentChunks, sealSegment } from '../../src/memory/segment-file.js'
import { segmentKey } from '../../src/memory/vault-format.js'

const dataKey = randomBytes(32)
const vaultId = randomId()
const keyId = randomId()
/** Byte equality without a deep element-by-element diff (slow on large arrays). */
const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')

describe('segment files', () => {
  it('seals to the 72-byte header followed by the STREAM of the plaintext, addressed by its SHA-256 (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200_000 }), fc.nat({ max: 1000 }), async (plaintext, sequence) => {
        const fields = { kind: 'operations' as const, vaultId, segmentId: randomId(), sequence, keyId }
        const sealed = await sealSegment({ ...fields, dataKey, plaintext })
        const header = encodeSegmentHeader({ ...fields, chunkSize: STREAM_CHUNK_SIZE })
        const expected = concatBytes(
          header,
          streamEncrypt({ key: segmentKey(dataKey, vaultId, fields.segmentId), plaintext, associatedData: header }),
        )
        const file = concatBytes(...sealed.pieces)
        expect(hex(file)).toBe(hex(expected))
        expect(sealed.length).toBe(expected.length)
        expect(sealed.digest).toBe(digest(expected))
        expect(hex(openSegment({ bytes: file, expected: { ...fields, digest: sealed.digest }, dataKey, where: 'test' }))).toBe(
          hex(plaintext),
        )
      }),
      { numRuns: 25 },
    )
  })

  it('opens chunk by chunk to the same plaintext, and stops at damage', async () => {
    const plaintext = randomBytes(300_000) // five 64 KiB chunks
    const segmentId = randomId()
    const sealed = await sealSegment({ kind: 'index-snapshot', vaultId, segmentId, sequence: 4, keyId, dataKey, plaintext })
    const bytes = concatBytes(...sealed.pieces)
    const expected = { kind: 'index-snapshot' as const, vaultId, segmentId, sequence: 4, keyId, digest: sealed.digest }
    const chunks = [...openSegmentChunks({ bytes, expected, dataKey, where: 'test' })]
    expect(chunks.length).toBe(5)
    expect(hex(concatBytes(...chunks))).toBe(hex(plaintext))
    expect(hex(openSegment({ bytes, expected, dataKey, where: 'test' }))).toBe(hex(plaintext))
    // A header field that differs from the manifest fails before any plaintext is produced.
    const yielded: Uint8Array[] = []
    expect(() => {
      for (const chunk of openSegmentChunks({ bytes, expected: { ...expected, sequence: 5 }, dataKey, where: 'test' }))
        yielded.push(chunk)
    }).toThrow(/does not match the manifest/)
    expect(yielded).toHaveLength(0)
    const flipped = bytes.slice()
    flipped[72 + 65_536 + 16 + 9] = (flipped[72 + 65_536 + 16 + 9] as number) ^ 1
    expect(() => [...openSegmentChunks({ bytes: flipped, expected, dataKey, where: 'test', verifyDigest: false })]).toThrow(
      IntegrityError,
    )
    const cut = bytes.subarray(0, 72 + 2 * (65_536 + 16))
    expect(() => [...openSegmentChunks({ bytes: cut, expected, dataKey, where: 'test', verifyDigest: false })]).toThrow(
      TruncatedDataError,
    )
  })
})
