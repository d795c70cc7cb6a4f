import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashAccessControlConditions } from '@lit-protocol/access-control-conditions'
import { LitNodeClientNodeJs } from '@lit-protocol/lit-node-client'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { verifyMessage, Wallet } from 'ethers'
import { SiweMessage } from 'siwe'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { litGuard } from '../../src/access/lit-guard.js'
import { fileLitKeyCache, memoryLitKeyCache } from '../../src/access/lit-key-cache.js'
import { dealShares, LIT_BLS_DST } from '../../src/access/lit-local/threshold-bls.js'
import { litNodeNetwork } from '../../src/access/lit-node-network.js'
import { fromHex, toHex } from '../../src/crypto/bytes.js'
import { randomBytes, randomId } from '../../src/crypto/random.js'
import { AccessDeniedError, InvalidInputError, NetworkError, type VerityError, WrongKeyError } from '../../src/errors.js'

/**
 * The public Lit network is not reachable here, so these tests run Lit's real `LitNodeClientNodeJs`
 * v7 (parameter checks, condition formatting and hashing, session key and ReCap handling, SIWE
 * verification, share combination and decryption in `@lit-protocol/wasm`) and replace only its
 * network edges: `connect` (the handshake), `getLatestBlockhash` (an RPC call) and
 * `generatePromise` (one HTTP request to one node), which answers as a Lit node does.
 */

const conditions = {
  accessControlConditions: [
    {
      contractAddress: '',
      standardContractType: '',
      chain: 'ethereum',
      method: '',
      parameters: [':userAddress'],
      returnValueTest: { comparator: '=', value: '0x50e2dac5e78B5905CB09495547452cEE64426db2' },
    },
  ],
}

type NodeRequest = { url: string; body: Record<string, unknown>; wallet: string; sessionKey: string }
type NodeRefusal = { errorKind: string; errorCode: string; status: number; message: string }

/** A real Lit client whose network edges answer like a 3-node, threshold-2 Lit network. */
function edgeStubbedClient(parameters: {
  refuse?: (request: NodeRequest) => NodeRefusal | undefined
  failConnect?: number
  withoutKey?: boolean
}) {
  const dealt = dealShares({ nodes: 3, threshold: 2 })
  const urls = ['https://node-1.lit.test:443', 'https://node-2.lit.test:443', 'https://node-3.lit.test:443']
  const edges = { connects: 0, blockhashes: 0, requests: [] as NodeRequest[] }
  let connectFailures = parameters.failConnect ?? 0
  const client = new LitNodeClientNodeJs({ litNetwork: 'datil-dev', debug: false })
  const internals = client as unknown as Record<string, unknown> & { config: { minNodeCount: number } }
  internals.connect = async () => {
    edges.connects++
    if (connectFailures-- > 0) throw new Error('fetch failed: getaddrinfo ENOTFOUND datil-dev')
    internals.ready = true
    internals.subnetPubKey = parameters.withoutKey ? null : dealt.publicKey
    internals.networkPubKey = parameters.withoutKey ? null : dealt.publicKey
    internals.connectedNodes = new Set(urls)
    internals._epochCache = { currentNumber: 7, startTime: 0 }
    internals.config.minNodeCount = 2
  }
  internals.getLatestBlockhash = async () => {
    edges.blockhashes++
    return '0x8f0c5a0ae8b1e2f3c1d6d9b0a4e1c2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9'
  }
  internals.generatePromise = async (url: string, body: Record<string, unknown>) => {
    const node = urls.findIndex((candidate) => url.startsWith(candidate))
    const share = dealt.shares[node]
    if (!share) throw new Error(`request to an unknown node ${url}`)
    // As a node: the session signature must be for this node, signed by the session key, and
    // carry the wallet's SIWE message delegating to that session key.
    const sessionSig = body.authSig as { sig: string; signedMessage: string; address: string; algo: string }
    expect(sessionSig.algo).toBe('ed25519')
    const signed = JSON.parse(sessionSig.signedMessage) as {
      nodeAddress: string
      sessionKey: string
      expiration: string
      capabilities: { sig: string; signedMessage: string; address: string }[]
    }
    expect(signed.nodeAddress).toBe(urls[node])
    expect(signed.sessionKey).toBe(sessionSig.address)
    expect(
      ed25519.verify(fromHex(sessionSig.sig), new TextEncoder().encode(sessionSig.signedMessage), fromHex(sessionSig.address)),
    ).toBe(true)
    const walletSig = signed.capabilities.at(-1) as { sig: string; signedMessage: string; address: string }
    expect(verifyMessage(walletSig.signedMessage, walletSig.sig)).toBe(walletSig.address)
    expect(new SiweMessage(walletSig.signedMessage).uri).toBe(`lit:session:${sessionSig.address}`)
    const request = { url: urls[node] as string, body, wallet: walletSig.address, sessionKey: sessionSig.address }
    edges.requests.push(request)
    const refusal = parameters.refuse?.(request)
    if (refusal) throw refusal
    const hash = toHex(new Uint8Array(await hashAccessControlConditions(body.accessControlConditions as never)))
    const identity = new TextEncoder().encode(`lit-accesscontrolcondition://${hash}/${String(body.dataToEncryptHash)}`)
    const point = bls12_381.G2.hashToCurve(identity, { DST: LIT_BLS_DST }).multiply(
      bls12_381.fields.Fr.fromBytes(fromHex(share.secret)),
    )
    return {
      result: 'success',
      curveType: 'BLS',
      shareIndex: share.index - 1,
      signatureShare: { ProofOfPossession: toHex(new Uint8Array([share.index, ...point.toBytes(true)])) },
    }
  }
  return { client, edges, publicKey: dealt.publicKey }
}

/** An ethers wallet that counts how often it is asked to sign (one SIWE per session). */
function countingWallet() {
  const wallet = Wallet.createRandom()
  const counter = { signatures: 0 }
  const signMessage = wallet.signMessage.bind(wallet)
  wallet.signMessage = async (message) => {
    counter.signatures++
    return signMessage(message)
  }
  return { wallet, counter }
}

/** The wallet's SIWE message inside a node request's session signature. */
function walletSiwe(request: NodeRequest | undefined): SiweMessage {
  if (!request) throw new Error('no node request was made')
  const signed = JSON.parse((request.body.authSig as { signedMessage: string }).signedMessage) as {
    capabilities: { signedMessage: string }[]
  }
  return new SiweMessage((signed.capabilities.at(-1) as { signedMessage: string }).signedMessage)
}

const context = () => ({ vaultId: randomId(), keyId: randomId() })

afterEach(() => {
  vi.useRealTimers()
})

describe('litNodeNetwork: the public Lit network adapter (real LitNodeClient, network edges stubbed)', () => {
  it("passes Lit's exact decrypt parameters and opens the key through Lit's own share combination", async () => {
    const { client, edges } = edgeStubbedClient({})
    const network = litNodeNetwork({ network: 'datil-dev', client })
    const { wallet, counter } = countingWallet()
    const ctx = context()
    const dataKey = randomBytes(32)
    const stanza = await litGuard({ network, conditions }).wrap(dataKey, ctx)
    const opened = await litGuard({ network, signer: wallet }).unwrap(stanza, ctx)
    expect(opened).toEqual(dataKey)

    // one wallet signature (the SIWE was accepted by Lit's checkNeedToResignSessionKey, else it re-asks)
    expect(counter.signatures).toBe(1)
    expect(edges.requests.length).toBeGreaterThanOrEqual(2)
    const params = stanza.params as { ciphertext: string; dataToEncryptHash: string; conditionsHash: string }
    for (const request of edges.requests) {
      expect(request.wallet).toBe(wallet.address)
      expect(request.body).toMatchObject({
        chain: 'ethereum',
        dataToEncryptHash: params.dataToEncryptHash,
        epoch: 7,
        accessControlConditions: conditions.accessControlConditions,
      })
      expect(request.body.evmContractConditions).toBeUndefined()
      expect(request.body.unifiedAccessControlConditions).toBeUndefined()
      const hash = toHex(new Uint8Array(await hashAccessControlConditions(request.body.accessControlConditions as never)))
      expect(hash).toBe(params.conditionsHash)
    }
    // the wallet's SIWE message: Lit's nonce (latest blockhash) and a ReCap for decryption of any condition
    const siwe = walletSiwe(edges.requests[0])
    const recap = siwe.resources?.find((resource) => resource.startsWith('urn:recap:')) as string
    const decoded = JSON.parse(Buffer.from(recap.slice('urn:recap:'.length), 'base64url').toString('utf8')) as {
      att: Record<string, Record<string, unknown>>
    }
    expect(Object.keys(decoded.att['lit-accesscontrolcondition://*'] ?? {})).toContain('Threshold/Decryption')
    expect(edges.connects).toBe(1)
  })

  it('reuses the session while it is fresh and renews it renewBeforeSeconds before it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const start = new Date('2026-03-01T12:00:00.000Z').getTime()
    vi.setSystemTime(start)
    const { client, edges } = edgeStubbedClient({})
    const network = litNodeNetwork({ network: 'datil-dev', client, sessionTtlSeconds: 600, renewBeforeSeconds: 120 })
    const { wallet, counter } = countingWallet()
    const ctx = context()
    const dataKey = randomBytes(32)
    const stanza = await litGuard({ network, conditions }).wrap(dataKey, ctx)
    const guard = litGuard({ network, signer: wallet })

    await guard.unwrap(stanza, ctx)
    const firstSession = edges.requests[0]?.sessionKey
    const siwe = walletSiwe(edges.requests[0])
    expect(new Date(siwe.expirationTime as string).getTime()).toBe(start + 600_000)

    vi.setSystemTime(start + 470_000) // 130 s left: still fresh
    expect(await guard.unwrap(stanza, ctx)).toEqual(dataKey)
    expect(counter.signatures).toBe(1)
    expect(edges.requests.at(-1)?.sessionKey).toBe(firstSession)

    vi.setSystemTime(start + 490_000) // 110 s left: inside the renewal window
    expect(await guard.unwrap(stanza, ctx)).toEqual(dataKey)
    expect(counter.signatures).toBe(2)
    expect(edges.requests.at(-1)?.sessionKey).not.toBe(firstSession)
  })

  it('pins the network key: later writes need no handshake, and a stanza for another key is refused', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'verity-lit-keys-'))
    try {
      const keyCache = fileLitKeyCache({ path: join(folder, 'lit-keys.json') })
      const first = edgeStubbedClient({})
      const ctx = context()
      const dataKey = randomBytes(32)
      const stanza = await litGuard({
        network: litNodeNetwork({ network: 'datil-dev', client: first.client }),
        conditions,
        keyCache,
      }).wrap(dataKey, ctx)
      expect(first.edges.connects).toBe(1)
      expect(keyCache.get('datil-dev')).toBe(first.publicKey)

      // a new process (new client, same cache file): wrapping does not connect at all
      const later = edgeStubbedClient({})
      const laterStanza = await litGuard({
        network: litNodeNetwork({ network: 'datil-dev', client: later.client }),
        conditions,
        keyCache,
      }).wrap(dataKey, ctx)
      expect(later.edges.connects).toBe(0)
      expect(laterStanza.params.networkPublicKey).toBe(first.publicKey)

      // a network that now presents another key: refused before any node is asked
      const impostor = edgeStubbedClient({})
      const error = await litGuard({
        network: litNodeNetwork({ network: 'datil-dev', client: impostor.client }),
        signer: Wallet.createRandom(),
        keyCache: memoryLitKeyCache(),
      })
        .unwrap(stanza, ctx)
        .catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(WrongKeyError)
      expect(impostor.edges.requests).toHaveLength(0)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it("maps Lit's failures to typed errors", async () => {
    const ctx = context()
    const dataKey = randomBytes(32)
    const wrapWith = async (client: LitNodeClientNodeJs) =>
      litGuard({ network: litNodeNetwork({ network: 'datil-dev', client }), conditions }).wrap(dataKey, ctx)

    // nodes say the conditions are not met (the error code Lit nodes use)
    const denied = edgeStubbedClient({
      refuse: () => ({
        errorKind: 'Validation',
        errorCode: 'NodeAccessControlConditionsReturnedNotAuthorized',
        status: 401,
        message: 'The access control condition check returned that you are not permitted to access this content',
      }),
    })
    const deniedNetwork = litNodeNetwork({ network: 'datil-dev', client: denied.client })
    const deniedStanza = await litGuard({ network: deniedNetwork, conditions }).wrap(dataKey, ctx)
    const refused = await litGuard({ network: deniedNetwork, signer: Wallet.createRandom() })
      .unwrap(deniedStanza, ctx)
      .catch((caught: unknown) => caught)
    expect(refused).toBeInstanceOf(AccessDeniedError)
    expect((refused as VerityError).meta?.reason).toBe('conditions-not-met')

    // nodes fail for another reason: a network error, not a denial
    const broken = edgeStubbedClient({
      refuse: () => ({ errorKind: 'Unexpected', errorCode: 'NodeUnknownError', status: 500, message: 'internal error' }),
    })
    const brokenNetwork = litNodeNetwork({ network: 'datil-dev', client: broken.client })
    const brokenStanza = await litGuard({ network: brokenNetwork, conditions }).wrap(dataKey, ctx)
    const failed = await litGuard({ network: brokenNetwork, signer: Wallet.createRandom() })
      .unwrap(brokenStanza, ctx)
      .catch((caught: unknown) => caught)
    expect(failed).toBeInstanceOf(NetworkError)
    expect(failed).not.toBeInstanceOf(AccessDeniedError)

    // the handshake fails once: NetworkError, and the next call connects again
    const flaky = edgeStubbedClient({ failConnect: 1 })
    await expect(wrapWith(flaky.client)).rejects.toBeInstanceOf(NetworkError)
    const network = litNodeNetwork({ network: 'datil-dev', client: edgeStubbedClient({ failConnect: 1 }).client })
    await expect(network.getNetworkPublicKey()).rejects.toBeInstanceOf(NetworkError)
    expect(await network.getNetworkPublicKey()).toMatch(/^[0-9a-f]{96}$/)

    // connected, but no network key
    await expect(wrapWith(edgeStubbedClient({ withoutKey: true }).client)).rejects.toBeInstanceOf(NetworkError)

    // the wallet refuses to sign the session
    const healthy = edgeStubbedClient({})
    const healthyNetwork = litNodeNetwork({ network: 'datil-dev', client: healthy.client })
    const healthyStanza = await litGuard({ network: healthyNetwork, conditions }).wrap(dataKey, ctx)
    const unwilling = Wallet.createRandom()
    unwilling.signMessage = async () => {
      throw new Error('user rejected the request')
    }
    const unsigned = await litGuard({ network: healthyNetwork, signer: unwilling })
      .unwrap(healthyStanza, ctx)
      .catch((caught: unknown) => caught)
    expect(unsigned).toBeInstanceOf(AccessDeniedError)
    expect((unsigned as VerityError).meta?.reason).toBe('session-refused')
    expect(healthy.edges.requests).toHaveLength(0)

    // bad configuration
    expect(() => litNodeNetwork({ network: 'mainnet' as never })).toThrow(InvalidInputError)
  })
})
