import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encryptString } from '@lit-protocol/encryption'
import { LitNodeClientNodeJs } from '@lit-protocol/lit-node-client'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import type { Contract, Signer, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashLitConditions, parseLitConditions } from '../../src/access/lit-conditions.js'
import { litGuard } from '../../src/access/lit-guard.js'
import { startLitLocalNetwork } from '../../src/access/lit-local/launch.js'
import { litLocalNetwork, requestSignatureShare } from '../../src/access/lit-local/lit-local-network.js'
import { createSession, signRequest } from '../../src/access/lit-local/session-signature.js'
import { toHex } from '../../src/crypto/bytes.js'
import { randomBytes, randomId } from '../../src/crypto/random.js'
import { AccessDeniedError, InvalidInputError, NetworkError, type VerityError } from '../../src/errors.js'
import { startTestChain, type TestChain } from './helpers/evm.js'
import { startTestLitNetwork, type TestLitNetwork } from './helpers/lit-local.js'

let chain: TestChain
let lit: TestLitNetwork
let nft: { address: string; contract: Contract }
let token: { address: string; contract: Contract }
let deployer: Wallet
let holder: Wallet
let other: Wallet

const context = () => ({ vaultId: randomId(), keyId: randomId() })
const holdsNft = (address: string) => ({
  accessControlConditions: [
    {
      contractAddress: address,
      standardContractType: 'ERC721',
      chain: 'ethereum',
      method: 'ownerOf',
      parameters: ['1'],
      returnValueTest: { comparator: '=', value: ':userAddress' },
    },
  ],
})

async function expectError<E extends VerityError>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(type)
  return error as E
}

beforeAll(async () => {
  chain = await startTestChain()
  ;[deployer, holder, other] = chain.wallets as [Wallet, Wallet, Wallet]
  nft = await chain.deploy('TestNft')
  token = await chain.deploy('TestToken')
  await (await nft.contract.getFunction('mint')(holder.address, 1n)).wait()
  lit = await startTestLitNetwork({
    chains: {
      ethereum: { rpcUrl: chain.rpcUrl, chainId: chain.chainId },
      sepolia: { rpcUrl: 'http://127.0.0.1:9', chainId: 11155111 },
    },
  })
}, 120_000)

afterAll(async () => {
  await lit?.cleanup()
  await chain?.close()
})

const network = () => litLocalNetwork({ nodes: lit.urls, network: lit.network })

describe('lit guard on the local Lit network (3 nodes, threshold 2)', () => {
  it('opens for the ERC-721 holder, not for another wallet, and transferring the token flips that', async () => {
    const shared = network()
    const wrapper = litGuard({ network: shared, conditions: holdsNft(nft.address) })
    const ctx = context()
    const dataKey = randomBytes(32)
    const stanza = await wrapper.wrap(dataKey, ctx)
    expect(stanza.recipient).toMatch(/^lit:[0-9a-f]{64}$/)
    expect(await litGuard({ network: shared, signer: holder }).unwrap(stanza, ctx)).toEqual(dataKey)
    const denied = await expectError(litGuard({ network: shared, signer: other }).unwrap(stanza, ctx), AccessDeniedError)
    expect(denied.meta?.reason).toBe('conditions-not-met')

    await (await (nft.contract.connect(holder) as Contract).getFunction('transferFrom')(holder.address, other.address, 1n)).wait()
    try {
      expect(await litGuard({ network: shared, signer: other }).unwrap(stanza, ctx)).toEqual(dataKey)
      await expectError(litGuard({ network: shared, signer: holder }).unwrap(stanza, ctx), AccessDeniedError)
    } finally {
      await (
        await (nft.contract.connect(other) as Contract).getFunction('transferFrom')(other.address, holder.address, 1n)
      ).wait()
    }
  })

  it('evaluates :userAddress, native balance, ERC-20 balance, a contract view call, and and/or', async () => {
    const shared = network()
    await (await token.contract.getFunction('mint')(holder.address, 5n * 10n ** 18n)).wait()
    await (await token.contract.getFunction('setScore')(holder.address, 42n)).wait()
    const fresh = (await import('ethers')).Wallet.createRandom()
    const cases: { conditions: Record<string, unknown>; allowed: Signer[]; denied: Signer[] }[] = [
      {
        conditions: {
          accessControlConditions: [
            {
              contractAddress: '',
              standardContractType: '',
              chain: 'ethereum',
              method: '',
              parameters: [':userAddress'],
              returnValueTest: { comparator: '=', value: holder.address },
            },
          ],
        },
        allowed: [holder],
        denied: [other],
      },
      {
        conditions: {
          accessControlConditions: [
            {
              contractAddress: '',
              standardContractType: '',
              chain: 'ethereum',
              method: 'eth_getBalance',
              parameters: [':userAddress', 'latest'],
              returnValueTest: { comparator: '>=', value: '1000000000000000000' },
            },
          ],
        },
        allowed: [other],
        denied: [fresh],
      },
      {
        conditions: {
          accessControlConditions: [
            {
              contractAddress: token.address,
              standardContractType: 'ERC20',
              chain: 'ethereum',
              method: 'balanceOf',
              parameters: [':userAddress'],
              returnValueTest: { comparator: '>', value: '0' },
            },
          ],
        },
        allowed: [holder],
        denied: [other],
      },
      {
        conditions: {
          evmContractConditions: [
            {
              contractAddress: token.address,
              functionName: 'score',
              functionParams: [':userAddress'],
              functionAbi: {
                name: 'score',
                type: 'function',
                stateMutability: 'view',
                inputs: [{ name: 'who', type: 'address', internalType: 'address' }],
                outputs: [{ name: '', type: 'uint256', internalType: 'uint256' }],
              },
              chain: 'ethereum',
              returnValueTest: { key: '', comparator: '>=', value: '40' },
            },
          ],
        },
        allowed: [holder],
        denied: [other],
      },
      {
        conditions: {
          unifiedAccessControlConditions: [
            {
              conditionType: 'evmBasic',
              contractAddress: nft.address,
              standardContractType: 'ERC721',
              chain: 'ethereum',
              method: 'balanceOf',
              parameters: [':userAddress'],
              returnValueTest: { comparator: '>', value: '0' },
            },
            { operator: 'or' },
            {
              conditionType: 'evmBasic',
              contractAddress: '',
              standardContractType: '',
              chain: 'ethereum',
              method: '',
              parameters: [':userAddress'],
              returnValueTest: { comparator: '=', value: other.address },
            },
          ],
        },
        allowed: [holder, other],
        denied: [deployer],
      },
      {
        conditions: {
          accessControlConditions: [
            {
              contractAddress: nft.address,
              standardContractType: 'ERC721',
              chain: 'ethereum',
              method: 'balanceOf',
              parameters: [':userAddress'],
              returnValueTest: { comparator: '>', value: '0' },
            },
            { operator: 'and' },
            {
              contractAddress: token.address,
              standardContractType: 'ERC20',
              chain: 'ethereum',
              method: 'balanceOf',
              parameters: [':userAddress'],
              returnValueTest: { comparator: '>=', value: '10000000000000000000' },
            },
          ],
        },
        allowed: [],
        denied: [holder, other],
      },
    ]
    for (const [position, testCase] of cases.entries()) {
      const ctx = context()
      const dataKey = randomBytes(32)
      const stanza = await litGuard({ network: shared, conditions: testCase.conditions }).wrap(dataKey, ctx)
      for (const signer of testCase.allowed)
        expect(await litGuard({ network: shared, signer }).unwrap(stanza, ctx), `case ${position}`).toEqual(dataKey)
      for (const signer of testCase.denied)
        await expectError(litGuard({ network: shared, signer }).unwrap(stanza, ctx), AccessDeniedError)
    }
  })

  it("decrypts a ciphertext made by Lit's own encryptString path with the local network's key", async () => {
    const client = new LitNodeClientNodeJs({ litNetwork: 'custom', debug: false })
    const internals = client as unknown as { ready: boolean; subnetPubKey: string }
    internals.ready = true
    internals.subnetPubKey = lit.network.networkPublicKey
    const conditions = holdsNft(nft.address)
    const { ciphertext, dataToEncryptHash } = await encryptString(
      { ...conditions, dataToEncrypt: 'memories belong to their user' },
      client,
    )
    const plaintext = await network().decrypt({
      ciphertext,
      dataToEncryptHash,
      conditions: await parseLitConditions(conditions),
      signer: holder,
    })
    expect(new TextDecoder().decode(plaintext)).toBe('memories belong to their user')
  })

  it('refuses malformed condition JSON with InvalidInputError, before and at the nodes', async () => {
    await expectError(parseLitConditions({ accessControlConditions: [{ contractAddress: 1 }] }), InvalidInputError)
    await expectError(parseLitConditions('not json conditions'), InvalidInputError)
    await expectError(
      litGuard({ network: network(), conditions: { accessControlConditions: [] } }).wrap(randomBytes(32), context()),
      InvalidInputError,
    )
    const url = lit.urls[0] as string
    const session = await createSession({ signer: holder })
    const body = { accessControlConditions: [{ nonsense: true }], chain: 'ethereum', dataToEncryptHash: toHex(randomBytes(32)) }
    const error = await expectError(
      requestSignatureShare({ url, body, sessionSig: signRequest({ session, nodeUrl: url, body }) }),
      InvalidInputError,
    )
    expect(error.meta?.reason).toBe('malformed-conditions')
  })

  it('refuses forged, expired, other-address and replayed authentication with AccessDeniedError', async () => {
    const url = lit.urls[0] as string
    const body = { ...holdsNft(nft.address), chain: 'ethereum', dataToEncryptHash: toHex(randomBytes(32)) }
    const reasonOf = async (sessionSig: ReturnType<typeof signRequest>) =>
      (await expectError(requestSignatureShare({ url, body, sessionSig }), AccessDeniedError)).meta?.reason

    // forged: the SIWE text is altered after the wallet signed it
    const forged = await createSession({ signer: holder })
    forged.capability = {
      ...forged.capability,
      signedMessage: forged.capability.signedMessage.replace('allow this session key', 'allow ANY session key'),
    }
    expect(await reasonOf(signRequest({ session: forged, nodeUrl: url, body }))).toBe('bad-signature')

    // expired SIWE session
    const expired = await createSession({ signer: holder, ttlSeconds: 60, now: Date.now() - 3_600_000 })
    expect(await reasonOf(signRequest({ session: expired, nodeUrl: url, body, now: Date.now() }))).toBe('expired')

    // a SIWE message naming the holder, signed by another wallet
    const impostor = {
      getAddress: async () => holder.address,
      signMessage: (message: string) => other.signMessage(message),
    } as unknown as Signer
    expect(await reasonOf(signRequest({ session: await createSession({ signer: impostor }), nodeUrl: url, body }))).toBe(
      'bad-signature',
    )

    // wrong SIWE domain
    expect(
      await reasonOf(
        signRequest({ session: await createSession({ signer: holder, domain: 'evil.example' }), nodeUrl: url, body }),
      ),
    ).toBe('wrong-domain')

    // a request signed for another node
    expect(
      await reasonOf(signRequest({ session: await createSession({ signer: holder }), nodeUrl: lit.urls[1] as string, body })),
    ).toBe('wrong-node')

    // replay: the same signed request twice
    const sessionSig = signRequest({ session: await createSession({ signer: holder }), nodeUrl: url, body })
    const first = await requestSignatureShare({ url, body, sessionSig })
    expect(first.signatureShare).toMatch(/^[0-9a-f]{192}$/)
    expect(await reasonOf(sessionSig)).toBe('replay')
  })

  it('refuses a SIWE capability with a foreign chain id, foreign resources, or resources that do not cover the request', async () => {
    const url = lit.urls[0] as string
    const conditions = holdsNft(nft.address)
    const body = { ...conditions, chain: 'ethereum', dataToEncryptHash: toHex(randomBytes(32)) }
    const ask = async (session: Awaited<ReturnType<typeof createSession>>) =>
      requestSignatureShare({ url, body, sessionSig: signRequest({ session, nodeUrl: url, body }) })
    const reasonOf = async (session: Awaited<ReturnType<typeof createSession>>) =>
      (await expectError(ask(session), AccessDeniedError)).meta?.reason

    expect(await reasonOf(await createSession({ signer: holder, chainId: 137 }))).toBe('wrong-chain')
    expect(await reasonOf(await createSession({ signer: holder, resources: ['https://bank.example/transfer'] }))).toBe(
      'wrong-resource',
    )
    expect(
      await reasonOf(
        await createSession({ signer: holder, resources: ['litEncryptionCondition://*', 'urn:recap:foreign-capability'] }),
      ),
    ).toBe('wrong-resource')
    expect(
      await reasonOf(await createSession({ signer: holder, resources: [`litEncryptionCondition://${'ab'.repeat(32)}`] })),
    ).toBe('wrong-resource')
    // A session scoped to exactly these conditions, and the default any-conditions session, are granted.
    const conditionsHash = await hashLitConditions(await parseLitConditions({ ...conditions, chain: 'ethereum' }))
    const scoped = await ask(await createSession({ signer: holder, resources: [`litEncryptionCondition://${conditionsHash}`] }))
    expect(scoped.signatureShare).toMatch(/^[0-9a-f]{192}$/)
    expect((await ask(await createSession({ signer: holder }))).signatureShare).toMatch(/^[0-9a-f]{192}$/)
  })

  it('refuses conditions on an unreachable chain with NetworkError', async () => {
    const conditions = {
      accessControlConditions: [
        {
          contractAddress: '',
          standardContractType: '',
          chain: 'sepolia',
          method: 'eth_getBalance',
          parameters: [':userAddress', 'latest'],
          returnValueTest: { comparator: '>=', value: '0' },
        },
      ],
    }
    const ctx = context()
    const stanza = await litGuard({ network: network(), conditions }).wrap(randomBytes(32), ctx)
    const error = await expectError(litGuard({ network: network(), signer: holder }).unwrap(stanza, ctx), NetworkError)
    expect(error.meta?.reason).toBe('chain-unreachable')
  })

  it('renews a session before it expires', async () => {
    const shared = litLocalNetwork({ nodes: lit.urls, network: lit.network, sessionTtlSeconds: 30, renewBeforeSeconds: 29 })
    const first = await shared.session(holder)
    expect(await shared.session(holder)).toBe(first)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const second = await shared.session(holder)
    expect(second).not.toBe(first)
    expect(second.expiresAt).toBeGreaterThan(first.expiresAt)
  })

  it('detects and excludes a bad share from a malicious node', async () => {
    const evil = await startTestLitNetwork({
      chains: { ethereum: { rpcUrl: chain.rpcUrl, chainId: chain.chainId } },
      prepare: async (directory) => {
        const path = join(directory, 'node-2', 'share.json')
        const share = JSON.parse(await readFile(path, 'utf8'))
        share.secret = toHex(bls12_381.fields.Fr.toBytes(bls12_381.fields.Fr.fromBytes(bls12_381.utils.randomSecretKey())))
        await writeFile(path, JSON.stringify(share))
      },
    })
    try {
      const client = litLocalNetwork({ nodes: evil.urls, network: evil.network })
      const ctx = context()
      const dataKey = randomBytes(32)
      const stanza = await litGuard({ network: client, conditions: holdsNft(nft.address) }).wrap(dataKey, ctx)
      // two honest nodes out of three: the bad share is excluded and decryption succeeds
      expect(await litGuard({ network: client, signer: holder }).unwrap(stanza, ctx)).toEqual(dataKey)
      // with an honest node down, the bad share is not enough: a clear error naming it
      await evil.nodes[0]?.stop()
      const error = await expectError(litGuard({ network: client, signer: holder }).unwrap(stanza, ctx), NetworkError)
      expect(error.meta?.reason).toBe('threshold')
      expect(error.meta?.badShares).toEqual([evil.urls[1]])
    } finally {
      await evil.cleanup()
    }
  }, 60_000)

  it('works with one node down and fails clearly with two down', async () => {
    const client = network()
    const ctx = context()
    const dataKey = randomBytes(32)
    const stanza = await litGuard({ network: client, conditions: holdsNft(nft.address) }).wrap(dataKey, ctx)
    await client.describe()
    await lit.nodes[2]?.stop()
    expect(await litGuard({ network: client, signer: holder }).unwrap(stanza, ctx)).toEqual(dataKey)
    await lit.nodes[1]?.stop()
    const error = await expectError(litGuard({ network: client, signer: holder }).unwrap(stanza, ctx), NetworkError)
    expect(error.meta).toMatchObject({ reason: 'threshold', valid: 1, threshold: 2, total: 3 })
  })
})

describe('lit-local nodes remember used request nonces across a restart', () => {
  it('a request captured before a node restart is refused as a replay after it', async () => {
    const single = await startTestLitNetwork({
      chains: { ethereum: { rpcUrl: chain.rpcUrl, chainId: chain.chainId } },
      nodes: 1,
      threshold: 1,
    })
    let restarted: Awaited<ReturnType<typeof startLitLocalNetwork>> | undefined
    try {
      const url = single.urls[0] as string
      const body = { ...holdsNft(nft.address), chain: 'ethereum', dataToEncryptHash: toHex(randomBytes(32)) }
      const sessionSig = signRequest({ session: await createSession({ signer: holder }), nodeUrl: url, body })
      expect((await requestSignatureShare({ url, body, sessionSig })).signatureShare).toMatch(/^[0-9a-f]{192}$/)
      // The node process stops and a new one starts on the same URL with the same state folder.
      await single.stop()
      restarted = await startLitLocalNetwork({
        directory: single.directory,
        chains: { ethereum: { rpcUrl: chain.rpcUrl, chainId: chain.chainId } },
        basePort: Number(new URL(url).port),
      })
      expect(restarted.urls).toEqual([url])
      const error = await expectError(requestSignatureShare({ url, body, sessionSig }), AccessDeniedError)
      expect(error.meta?.reason).toBe('replay')
      // A fresh request still works: the node is up, only the captured one is refused.
      const fresh = signRequest({ session: await createSession({ signer: holder }), nodeUrl: url, body })
      expect((await requestSignatureShare({ url, body, sessionSig: fresh })).signatureShare).toMatch(/^[0-9a-f]{192}$/)
    } finally {
      await restarted?.stop()
      await single.cleanup()
    }
  }, 60_000)
})
