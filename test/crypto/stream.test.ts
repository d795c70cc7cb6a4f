import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { concatBytes, utf8ToBytes } from '../../src/crypto/bytes.js'
import { randomBytes } from '../../src/crypto/random.js'
import { streamDecrypt, streamEncrypt } from '../../src/crypto/stream.js'
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
})
