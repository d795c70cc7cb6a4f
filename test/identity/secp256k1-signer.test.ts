import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { Signature, TypedDataEncoder, verifyTypedData, Wallet } from 'ethers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex, utf8ToBytes } from '../../src/crypto/bytes.js'
import { InvalidInputError } from '../../src/errors.js'
import { agentDomain, agentDomainSeparator, typedDataDigest } from '../../src/identity/agent-domain.js'
import { createKeySigner, recoverDigestSigner, splitSignature } from '../../src/identity/secp256k1-signer.js'
import { TRACE_ENTRY_TYPES, traceEntryStructHash } from '../../src/trace/typed-data.js'

// The EIP-712 specification's own example (eips.ethereum.org/EIPS/eip-712, assets/eip-712/Example.js).
const mailDomain = {
  name: 'Ether Mail',
  version: '1',
  chainId: 1,
  verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
}
const mailTypes = {
  Person: [
    { name: 'name', type: 'string' },
    { name: 'wallet', type: 'address' },
  ],
  Mail: [
    { name: 'from', type: 'Person' },
    { name: 'to', type: 'Person' },
    { name: 'contents', type: 'string' },
  ],
}
const mail = {
  from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
  to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
  contents: 'Hello, Bob!',
}
const cowKey = keccak_256(utf8ToBytes('cow'))

describe('EIP-712 known answers (the specification Mail example)', () => {
  it('the cow key is the spec key and has the spec address', () => {
    expect(toHex(cowKey)).toBe('c85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4')
    expect(createKeySigner({ privateKey: cowKey }).address).toBe('0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826')
  })

  it('domain separator, struct hash and digest match the specification', () => {
    expect(TypedDataEncoder.hashDomain(mailDomain)).toBe('0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f')
    expect(TypedDataEncoder.from(mailTypes).hash(mail)).toBe('0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e')
    const digest = typedDataDigest(
      fromHex('f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f'),
      fromHex('c52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e'),
    )
    expect(toHex(digest)).toBe('be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2')
  })

  it('the signature of the cow key matches the specification (v=28, r, s)', () => {
    const signature = createKeySigner({ privateKey: cowKey }).signDigest(
      fromHex('be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2'),
    )
    expect(signature[64]).toBe(28)
    expect(toHex(signature.subarray(0, 32))).toBe('4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d')
    expect(toHex(signature.subarray(32, 64))).toBe('07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562')
  })
})

describe('createKeySigner', () => {
  it('signs byte-identically to ethers signTypedData and @noble/curves, and recovers the signer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        async (seed, seq, prev, entry, chainId) => {
          const wallet = new Wallet(`0x${toHex(keccak_256(seed))}`)
          const signer = createKeySigner({ privateKey: wallet.privateKey })
          expect(signer.address).toBe(wallet.address)
          const domain = agentDomain({ agent: wallet.address, chainId })
          const message = { seq, prevHash: `0x${toHex(prev)}`, entryHash: `0x${toHex(entry)}` }
          const digest = typedDataDigest(agentDomainSeparator(domain), traceEntryStructHash(message))
          expect(`0x${toHex(digest)}`).toBe(TypedDataEncoder.hash(domain, TRACE_ENTRY_TYPES, message))
          const ours = `0x${toHex(signer.signDigest(digest))}`
          const theirs = await wallet.signTypedData(domain, TRACE_ENTRY_TYPES, message)
          expect(ours).toBe(theirs)
          const noble = secp256k1.sign(digest, fromHex(wallet.privateKey), { prehash: false, format: 'recovered' })
          // noble's recovered format is recovery || r || s
          expect(toHex(noble.subarray(1))).toBe(ours.slice(2, 130))
          expect((noble[0] as number) + 27).toBe(Number.parseInt(ours.slice(130), 16))
          expect(recoverDigestSigner({ digest, signature: fromHex(ours) })).toBe(wallet.address)
          expect(verifyTypedData(domain, TRACE_ENTRY_TYPES, message, ours)).toBe(wallet.address)
        },
      ),
      { numRuns: 25 },
    )
  })

  it('refuses invalid keys with a typed error', () => {
    expect(() => createKeySigner({ privateKey: new Uint8Array(32) })).toThrow(InvalidInputError)
    expect(() => createKeySigner({ privateKey: new Uint8Array(31).fill(1) })).toThrow(InvalidInputError)
    expect(() => createKeySigner({ privateKey: `0x${'ff'.repeat(32)}` })).toThrow(InvalidInputError)
  })

  it('does not expose the key', () => {
    const signer = createKeySigner({ privateKey: cowKey })
    expect(JSON.stringify(signer)).not.toContain('c85ef7d7')
    expect(Object.values(signer).some((value) => value instanceof Uint8Array)).toBe(false)
  })
})

describe('recoverDigestSigner', () => {
  const signer = createKeySigner({ privateKey: cowKey })
  const digest = keccak_256(utf8ToBytes('message'))
  const signature = signer.signDigest(digest)

  it('names another signer for another digest and undefined for malformed signatures', () => {
    expect(recoverDigestSigner({ digest, signature })).toBe(signer.address)
    expect(recoverDigestSigner({ digest: keccak_256(utf8ToBytes('other')), signature })).not.toBe(signer.address)
    expect(recoverDigestSigner({ digest, signature: signature.subarray(0, 64) })).toBeUndefined()
    const badV = new Uint8Array(signature)
    badV[64] = 29
    expect(recoverDigestSigner({ digest, signature: badV })).toBeUndefined()
    const flippedV = new Uint8Array(signature)
    flippedV[64] = signature[64] === 27 ? 28 : 27
    expect(recoverDigestSigner({ digest, signature: flippedV })).not.toBe(signer.address)
  })

  it('refuses the malleable high-s twin of a valid signature', () => {
    const parsed = Signature.from(`0x${toHex(signature)}`)
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const highS = fromHex(
      `${parsed.r.slice(2)}${(n - BigInt(parsed.s)).toString(16).padStart(64, '0')}${parsed.v === 27 ? '1c' : '1b'}`,
    )
    expect(splitSignature(highS)).toBeUndefined()
    expect(recoverDigestSigner({ digest, signature: highS })).toBeUndefined()
  })
})
