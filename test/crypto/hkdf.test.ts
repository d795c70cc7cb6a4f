import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../src/crypto/bytes.js'
import { hkdf } from '../../src/crypto/hkdf.js'

describe('hkdf (RFC 5869)', () => {
  it('matches RFC 5869 test case 1 (SHA-256, basic)', () => {
    const okm = hkdf({
      key: fromHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
      salt: fromHex('000102030405060708090a0b0c'),
      info: fromHex('f0f1f2f3f4f5f6f7f8f9'),
      length: 42,
    })
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
  })

  it('matches RFC 5869 test case 3 (zero-length salt and info)', () => {
    const okm = hkdf({ key: fromHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'), info: new Uint8Array(0), length: 42 })
    expect(toHex(okm)).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8')
  })

  it('separates keys by info and refuses bad lengths', () => {
    const key = new Uint8Array(32).fill(7)
    expect(toHex(hkdf({ key, info: 'a' }))).not.toBe(toHex(hkdf({ key, info: 'b' })))
    expect(() => hkdf({ key, info: 'a', length: 0 })).toThrow(RangeError)
    expect(() => hkdf({ key, info: 'a', length: 9000 })).toThrow(RangeError)
  })
})
