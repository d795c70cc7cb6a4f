import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { aeadDecrypt, aeadEncrypt } from '../../src/crypto/aead.js'
import { fromHex, toHex } from '../../src/crypto/bytes.js'
import { IntegrityError } from '../../src/errors.js'

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Test Case 16 (AES-256, 96-bit IV, with AAD).
const tc16 = {
  key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
  iv: 'cafebabefacedbaddecaf888',
  plaintext:
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
  ciphertext:
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
  tag: '76fc6ece0f4e1768cddf8853bb2d551b',
}

describe('aead (AES-256-GCM)', () => {
  it('matches the GCM spec known-answer vector (test case 16)', () => {
    const sealed = aeadEncrypt({
      key: fromHex(tc16.key),
      nonce: fromHex(tc16.iv),
      plaintext: fromHex(tc16.plaintext),
      associatedData: fromHex(tc16.aad),
    })
    expect(toHex(sealed)).toBe(tc16.ciphertext + tc16.tag)
    const opened = aeadDecrypt({
      key: fromHex(tc16.key),
      nonce: fromHex(tc16.iv),
      ciphertext: sealed,
      associatedData: fromHex(tc16.aad),
    })
    expect(toHex(opened)).toBe(tc16.plaintext)
  })

  it('refuses any flipped bit of ciphertext, tag or associated data', () => {
    const key = fromHex(tc16.key)
    const nonce = fromHex(tc16.iv)
    const associatedData = fromHex(tc16.aad)
    const sealed = aeadEncrypt({ key, nonce, plaintext: fromHex(tc16.plaintext), associatedData })
    for (let index = 0; index < sealed.length; index++) {
      const bad = sealed.slice()
      bad[index] = (bad[index] ?? 0) ^ 1
      expect(() => aeadDecrypt({ key, nonce, ciphertext: bad, associatedData })).toThrow(IntegrityError)
    }
    const badAad = associatedData.slice()
    badAad[0] = (badAad[0] ?? 0) ^ 0x80
    expect(() => aeadDecrypt({ key, nonce, ciphertext: sealed, associatedData: badAad })).toThrow(IntegrityError)
    expect(() => aeadDecrypt({ key, nonce, ciphertext: sealed.subarray(0, 10), associatedData })).toThrow(IntegrityError)
  })

  it('labels bad key and nonce lengths', () => {
    expect(() => aeadEncrypt({ key: new Uint8Array(16), nonce: new Uint8Array(12), plaintext: new Uint8Array() })).toThrow(
      RangeError,
    )
    expect(() => aeadEncrypt({ key: new Uint8Array(32), nonce: new Uint8Array(8), plaintext: new Uint8Array() })).toThrow(/nonce/)
    // @ts-expect-error: wrong type on purpose
    expect(() => aeadEncrypt({ key: 'k', nonce: new Uint8Array(12), plaintext: new Uint8Array() })).toThrow(TypeError)
  })

  it('round-trips arbitrary plaintexts and associated data (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 512 }),
        fc.uint8Array({ maxLength: 64 }),
        (key, nonce, plaintext, associatedData) => {
          const sealed = aeadEncrypt({ key, nonce, plaintext, associatedData })
          expect(sealed.length).toBe(plaintext.length + 16)
          expect(aeadDecrypt({ key, nonce, ciphertext: sealed, associatedData })).toEqual(plaintext)
        },
      ),
    )
  })
})
