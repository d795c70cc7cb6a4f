import { describe, expect, it } from 'vitest'
import { passphraseGuard } from '../../src/access/passphrase-guard.js'
import { randomBytes, randomId } from '../../src/crypto/random.js'
import { InvalidInputError, WrongKeyError } from '../../src/errors.js'

const cost = { logN: 10, r: 8, p: 1 }

describe('passphraseGuard', () => {
  it('wraps and unwraps the data key, bound to vault and key id', async () => {
    const guard = passphraseGuard({ passphrase: 'correct horse battery staple', cost })
    const dataKey = randomBytes(32)
    const context = { vaultId: randomId(), keyId: randomId() }
    const stanza = await guard.wrap(dataKey, context)
    expect(stanza.kind).toBe('passphrase')
    expect(stanza.body).not.toContain(Buffer.from(dataKey).toString('base64'))
    expect(await guard.unwrap(stanza, context)).toEqual(dataKey)
    await expect(guard.unwrap(stanza, { ...context, vaultId: randomId() })).rejects.toThrow(WrongKeyError)
    await expect(guard.unwrap({ ...stanza, params: { ...stanza.params, logN: 11 } }, context)).rejects.toThrow(WrongKeyError)
  })

  it('refuses a wrong passphrase with a typed error and a hint', async () => {
    const context = { vaultId: randomId(), keyId: randomId() }
    const stanza = await passphraseGuard({ passphrase: 'right', cost }).wrap(randomBytes(32), context)
    const error = await passphraseGuard({ passphrase: 'wrong', cost })
      .unwrap(stanza, context)
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(WrongKeyError)
    expect((error as WrongKeyError).hint).toMatch(/VERITY_PASSPHRASE/)
  })

  it('validates its parameters', () => {
    expect(() => passphraseGuard({ passphrase: '' })).toThrow(InvalidInputError)
  })
})
