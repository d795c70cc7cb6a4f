import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../src/crypto/bytes.js'
import { canonicalDigest, canonicalJson } from '../../src/crypto/canonical-json.js'
import { digest, isDigest, sha256 } from '../../src/crypto/digest.js'

describe('canonicalJson (RFC 8785)', () => {
  it('matches the RFC 8785 §3.2.2 example', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    )
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    )
  })

  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    // Object.keys would move the integer-like key '1' first, so read the order off the text.
    const text = canonicalJson(input)
    const order = ['Carriage Return', 'One', 'Control', 'Diaeresis', 'Euro Sign', 'Grinning Face', 'Dagesh'].map((name) =>
      text.indexOf(name),
    )
    expect(order.every((position) => position > 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    expect(text.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')).toBe(true)
  })

  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ a: undefined })).toThrow(TypeError)
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/)
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError)
    expect(() => canonicalJson(new Uint8Array(2))).toThrow(/bytes/)
  })

  it('is stable under key order and re-parsing (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value)
        expect(canonicalJson(JSON.parse(text))).toBe(text)
        expect(canonicalDigest(JSON.parse(text))).toBe(canonicalDigest(value))
      }),
    )
  })
})

describe('digest', () => {
  it('is SHA-256 (FIPS 180-2 "abc" vector) with a sha256: prefix', () => {
    expect(toHex(sha256('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(digest('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(isDigest(digest('abc'))).toBe(true)
    expect(isDigest('sha256:xyz')).toBe(false)
  })
})
