import { describe, expect, it } from 'vitest'
import { toHex, utf8ToBytes } from '../../src/crypto/bytes.js'
import { deriveKeyFromPassphrase } from '../../src/crypto/scrypt.js'

describe('deriveKeyFromPassphrase (scrypt, RFC 7914)', () => {
  it('matches RFC 7914 §12 vector 2 (password / NaCl, N=1024, r=8, p=16)', async () => {
    const key = await deriveKeyFromPassphrase({
      passphrase: 'password',
      salt: utf8ToBytes('NaCl'),
      cost: { logN: 10, r: 8, p: 16 },
      length: 64,
    })
    expect(toHex(key)).toBe(
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    )
  })

  it('refuses weak or absurd costs', () => {
    expect(() => deriveKeyFromPassphrase({ passphrase: 'x', salt: new Uint8Array(16), cost: { logN: 4, r: 8, p: 1 } })).toThrow(
      RangeError,
    )
  })
})
