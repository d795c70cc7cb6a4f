import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { concatBytes, utf8ToBytes } from '../../src/crypto/bytes.js'
import { randomBytes } from '../../src/crypto/random.js'
import { streamDecrypt, streamDecryptChunks, streamEncrypt, streamEncryptAsync } from '../../src/crypto/stream.js'
import { IntegrityError, TruncatedDataError } from '../../src/errors.js'

const key = randomBytes(32)
const associatedData = utf8ToBytes('vault=1;segment=2')

describe('stream (STREAM chunked AEAD)', () => {
  it('round-trips across chunk boundaries (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 16, max: 64 }), (plaintext, chunkSize) => {
        const sealed = streamEncrypt({ key, plaintext, associatedData, chunkSize })
        expect(streamDecrypt({ key, ciphertext: sealed, associatedData, chunkSize })).toEqual(plaintext)
      }),
    )
  })

  it('detects truncation at every chunk boundary, even an exact one', () => {
    const chunkSize = 32
    const plaintext = randomBytes(chunkSize * 4)
    const sealed = streamEncrypt({ key, plaintext, associatedData, chunkSize })
    for (let chunks = 1; chunks < 4; chunks++) {
      const cut = sealed.subarray(0, chunks * (chunkSize + 16))
      expect(() => streamDecrypt({ key, ciphertext: cut, associatedData, chunkSize })).toThrow(TruncatedDataError)
    }
    expect(() => streamDecrypt({ key, ciphertext: sealed.subarray(0, 10), associatedData, chunkSize })).toThrow(
      TruncatedDataError,
    )
  })

  it('detects reordered, duplicated and flipped chunks', () => {
    const chunkSize = 16
    const plaintext = randomBytes(chunkSize * 3)
    const sealed = streamEncrypt({ key, plaintext, associatedData, chunkSize })
    const size = chunkSize + 16
    const [a, b, c] = [0, 1, 2].map((i) => sealed.subarray(i * size, (i + 1) * size)) as [Uint8Array, Uint8Array, Uint8Array]
    expect(() => streamDecrypt({ key, ciphertext: concatBytes(b, a, c), associatedData, chunkSize })).toThrow(IntegrityError)
    expect(() => streamDecrypt({ key, ciphertext: concatBytes(a, a, b, c), associatedData, chunkSize })).toThrow(IntegrityError)
    for (let index = 0; index < sealed.length; index += 7) {
      const bad = sealed.slice()
      bad[index] = (bad[index] ?? 0) ^ 0x10
      expect(() => streamDecrypt({ key, ciphertext: bad, associatedData, chunkSize })).toThrow(IntegrityError)
    }
    expect(() => streamDecrypt({ key, ciphertext: sealed, associatedData: utf8ToBytes('other'), chunkSize })).toThrow(
      IntegrityError,
    )
  })

  it('encrypts the empty plaintext as one final chunk', () => {
    const sealed = streamEncrypt({ key, plaintext: new Uint8Array(0), associatedData })
    expect(sealed.length).toBe(16)
    expect(streamDecrypt({ key, ciphertext: sealed, associatedData }).length).toBe(0)
  })

  it('yields one authenticated plaintext chunk at a time (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 16, max: 64 }), (plaintext, chunkSize) => {
        const sealed = streamEncrypt({ key, plaintext, associatedData, chunkSize })
        const chunks = [...streamDecryptChunks({ key, ciphertext: sealed, associatedData, chunkSize })]
        expect(chunks.length).toBe(Math.max(1, Math.ceil(plaintext.length / chunkSize)))
        for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBe(chunkSize)
        expect(concatBytes(...chunks)).toEqual(plaintext)
      }),
    )
  })

  it('stops at the first modified chunk, having yielded only the intact ones before it', () => {
    const chunkSize = 16
    const plaintext = randomBytes(chunkSize * 4)
    const sealed = streamEncrypt({ key, plaintext, associatedData, chunkSize })
    const bad = sealed.slice()
    bad[2 * (chunkSize + 16) + 3] = (bad[2 * (chunkSize + 16) + 3] as number) ^ 0x80
    const seen: Uint8Array[] = []
    expect(() => {
      for (const chunk of streamDecryptChunks({ key, ciphertext: bad, associatedData, chunkSize })) seen.push(chunk)
    }).toThrow(/chunk 2/)
    expect(concatBytes(...seen)).toEqual(plaintext.subarray(0, 2 * chunkSize))
    // A stream cut after a whole chunk yields that chunk, then reports the truncation at the end.
    const cut = sealed.subarray(0, 2 * (chunkSize + 16))
    const partial: Uint8Array[] = []
    expect(() => {
      for (const chunk of streamDecryptChunks({ key, ciphertext: cut, associatedData, chunkSize })) partial.push(chunk)
    }).toThrow(TruncatedDataError)
    expect(partial.length).toBe(1)
  })

  it('encrypts on the thread pool to exactly the same bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 16, max: 64 }),
        fc.option(fc.uint8Array({ maxLength: 80 }), { nil: undefined }),
        async (plaintext, chunkSize, data) => {
          const chunks = await streamEncryptAsync({ key, plaintext, associatedData: data, chunkSize })
          expect(concatBytes(...chunks)).toEqual(streamEncrypt({ key, plaintext, associatedData: data, chunkSize }))
        },
      ),
      { numRuns: 60 },
    )
    await expect(streamEncryptAsync({ key: key.subarray(0, 16), plaintext: new Uint8Array(1) })).rejects.toThrow(RangeError)
  })
})
