import { encryptKeystoreJsonSync, Wallet } from 'ethers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ownerGuard } from '../../src/access/owner-guard.js'
import { randomBytes, randomId } from '../../src/crypto/random.js'
import { IntegrityError, InvalidInputError, InvalidStateError, WrongKeyError } from '../../src/errors.js'

const owner = Wallet.createRandom()
const context = { vaultId: randomId(), keyId: randomId() }

/**
 * A stanza wrapped by the guard when its curve arithmetic was @noble/curves (commit 3c96682), for the
 * key 0x42…42, vault id a…a, key id b…b, data key 07…07: the Node ECDH implementation must open it.
 */
const NOBLE_ERA_STANZA = {
  kind: 'owner',
  version: 1,
  keyId: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  recipient: '0x17c5185167401eD00cF5F5b2fc97D9BBfDb7D025',
  params: {
    ephemeralPublicKey: '020e6a695814f777a7c6ae16b15dc1e9f9a44125f287cc0df3be433e23a734099b',
    recipientPublicKey: '0324653eac434488002cc06bbfb7f10fe18991e35f9fe4302dbea6d2353dc0ab1c',
  },
  body: 'ZiMTQUbjElseOGv/ADGBdeR3s80TO8NGgjcUfwD6CVzIaMUPuez7eD0i7fT4/A+Nb2HoFzJzE4q+7/9J',
}

describe('ownerGuard', () => {
  it('opens a stanza wrapped by the earlier noble implementation, with the same address and public key', async () => {
    const guard = ownerGuard({ privateKey: `0x${'42'.repeat(32)}` })
    expect(guard.address).toBe('0x17c5185167401eD00cF5F5b2fc97D9BBfDb7D025')
    expect(guard.publicKey).toBe('0x0324653eac434488002cc06bbfb7f10fe18991e35f9fe4302dbea6d2353dc0ab1c')
    const opened = await guard.unwrap(NOBLE_ERA_STANZA, { vaultId: 'a'.repeat(32), keyId: 'b'.repeat(32) })
    expect(opened).toEqual(new Uint8Array(32).fill(7))
  })

  it('round-trips any data key, and only the owner key unwraps', async () => {
    const guard = ownerGuard({ wallet: owner })
    expect(guard.address).toBe(owner.address)
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (dataKey) => {
        const stanza = await guard.wrap(dataKey, context)
        expect(stanza.recipient).toBe(owner.address)
        expect(await guard.unwrap(stanza, context)).toEqual(dataKey)
      }),
      { numRuns: 20 },
    )
    const stanza = await guard.wrap(randomBytes(32), context)
    await expect(ownerGuard({ wallet: Wallet.createRandom() }).unwrap(stanza, context)).rejects.toBeInstanceOf(WrongKeyError)
  })

  it('wraps from a public key or a signature alone, and opens with the private key or keystore', async () => {
    const dataKey = randomBytes(32)
    const fromPublicKey = ownerGuard({ publicKey: owner.signingKey.publicKey })
    expect(fromPublicKey.canUnwrap).toBe(false)
    const message = 'I own this vault'
    const fromSignature = ownerGuard({ message, signature: await owner.signMessage(message) })
    expect(fromSignature.address).toBe(owner.address)
    const keystore = encryptKeystoreJsonSync({ address: owner.address, privateKey: owner.privateKey }, 'keystore password', {
      scrypt: { N: 1024 },
    })
    for (const wrapper of [fromPublicKey, fromSignature]) {
      const stanza = await wrapper.wrap(dataKey, context)
      await expect(wrapper.unwrap(stanza, context)).rejects.toBeInstanceOf(InvalidStateError)
      expect(await ownerGuard({ privateKey: owner.privateKey }).unwrap(stanza, context)).toEqual(dataKey)
      expect(await ownerGuard({ keystore, password: 'keystore password' }).unwrap(stanza, context)).toEqual(dataKey)
    }
    await expect(async () => ownerGuard({ keystore, password: 'wrong' })).rejects.toBeInstanceOf(InvalidInputError)
  })

  it('refuses an address alone, bad keys, and stanzas moved to another vault or key or altered', async () => {
    expect(() => ownerGuard({ address: owner.address } as never)).toThrow(InvalidInputError)
    expect(() => ownerGuard({ publicKey: '0x1234' })).toThrow(InvalidInputError)
    const guard = ownerGuard({ wallet: owner })
    const stanza = await guard.wrap(randomBytes(32), context)
    await expect(guard.unwrap(stanza, { ...context, vaultId: randomId() })).rejects.toBeInstanceOf(WrongKeyError)
    await expect(guard.unwrap(stanza, { ...context, keyId: randomId() })).rejects.toBeInstanceOf(WrongKeyError)
    const body = Buffer.from(stanza.body, 'base64')
    body[body.length - 1] = (body[body.length - 1] as number) ^ 1
    await expect(guard.unwrap({ ...stanza, body: body.toString('base64') }, context)).rejects.toBeInstanceOf(WrongKeyError)
    await expect(
      guard.unwrap({ ...stanza, params: { ephemeralPublicKey: '02'.padEnd(66, '0') } }, context),
    ).rejects.toBeInstanceOf(IntegrityError)
  })
})
