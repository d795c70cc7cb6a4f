import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesToUtf8, constantTimeEqual, fromBase64, fromHex, toBase64, toHex, u32be } from '../../src/crypto/bytes.js'

describe('bytes', () => {
  it('round-trips hex and base64 (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(fromHex(toHex(bytes))).toEqual(bytes)
        expect(fromHex(`0x${toHex(bytes)}`)).toEqual(bytes)
        expect(fromBase64(toBase64(bytes))).toEqual(bytes)
      }),
    )
  })

  it('labels malformed input (must-fail vectors)', () => {
    expect(() => fromHex('abc')).toThrow(TypeError)
    expect(() => fromHex('zz')).toThrow(TypeError)
    expect(() => fromBase64('a$==')).toThrow(TypeError)
    expect(() => bytesToUtf8(new Uint8Array([0xff, 0xfe]))).toThrow(TypeError)
    expect(() => u32be(-1)).toThrow(RangeError)
    expect(() => u32be(2 ** 32)).toThrow(RangeError)
  })

  it('compares in constant time and by length', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true)
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false)
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false)
  })
})
