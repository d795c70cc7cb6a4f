import type { Signer } from 'ethers'
import { z } from 'zod'
import { fromBase64, fromHex } from '../../crypto/bytes.js'
import { AccessDeniedError, IntegrityError, InvalidInputError, NetworkError } from '../../errors.js'
import { parseInput } from '../../validation.js'
import { hashLitConditions, litIdentity } from '../lit-conditions.js'
import type { LitDecryptParameters, LitNetwork } from '../lit-network.js'
import { litWasm } from '../lit-sdk.js'
import { ENCRYPTION_SIGN_PATH, INFO_PATH, LIT_LOCAL_PROTOCOL } from './protocol.js'
import type { Session, SessionSig } from './session-signature.js'
import type { NetworkFile } from './share-file.js'

const parametersSchema = z.object({
  nodes: z.array(z.string().url()).min(1).max(64),
  network: z
    .object({
      networkPublicKey: z.string().regex(/^[0-9a-f]{96}$/),
      threshold: z.number().int().min(1),
      nodes: z.array(z.object({ index: z.number().int().min(1), publicKey: z.string().regex(/^[0-9a-f]{96}$/) })),
    })
    .passthrough()
    .optional(),
  domain: z.string().min(1).optional(),
  timeoutMs: z.number().int().min(100).optional(),
  sessionTtlSeconds: z.number().int().min(10).optional(),
  renewBeforeSeconds: z.number().int().min(0).optional(),
  verifyEveryShare: z.boolean().optional(),
})

export type LitLocalNetworkParameters = {
  /** Node URLs (`http://127.0.0.1:port`). */
  nodes: string[]
  /** The dealt network's public description (`network.json`); pins keys without trusting the nodes' word. */
  network?: Pick<NetworkFile, 'networkPublicKey' | 'threshold' | 'nodes'> | undefined
  /** SIWE domain the nodes expect (default `localhost`). */
  domain?: string | undefined
  /** Per-request timeout, ms (default 10 000). */
  timeoutMs?: number | undefined
  /** Session lifetime, seconds (default 3600). */
  sessionTtlSeconds?: number | undefined
  /** Renew a session this long before it expires, seconds (default 60). */
  renewBeforeSeconds?: number | undefined
  /**
   * Wait for every node and pairing-check each share before combining (default false: combine the
   * first `threshold` shares and check the result once, falling back to per-share checks only when
   * it fails). Slower; useful to audit nodes, since every bad share is then reported.
   */
  verifyEveryShare?: boolean | undefined
}

export type LitLocalNetworkReturnType = LitNetwork & {
  /** Public facts learnt at the handshake. */
  describe(): Promise<{ networkPublicKey: string; threshold: number; nodes: { url: string; index: number; publicKey: string }[] }>
  /** The session for a signer (renewed before expiry). */
  session(signer: Signer): Promise<Session>
}

type NodeInfo = { url: string; index: number; publicKey: string }

/**
 * A client of the local Lit-compatible network: fetches a signature share from every node,
 * verifies each against the node's public share (a bad share from a malicious node is
 * excluded), combines `threshold` of them, checks the result against the network key and
 * decrypts with `@lit-protocol/wasm` `blsDecrypt`, exactly as Lit's SDK does with its network.
 *
 * @example
 * ```ts
 * const network = litLocalNetwork({ nodes: ['http://127.0.0.1:7470', 'http://127.0.0.1:7471', 'http://127.0.0.1:7472'] })
 * const guard = litGuard({ network, conditions, signer: wallet })
 * ```
 */
export function litLocalNetwork(parameters: LitLocalNetworkParameters): LitLocalNetworkReturnType {
  const options = parseInput(parametersSchema, parameters, {
    what: 'litLocalNetwork parameters',
    hint: 'Pass { nodes: [url, ...] } as printed by `verity lit-local start`.',
    docsPath: 'access.md',
  })
  const urls = options.nodes.map((url) => url.replace(/\/+$/, ''))
  const domain = options.domain ?? 'localhost'
  const timeoutMs = options.timeoutMs ?? 10_000
  const ttl = options.sessionTtlSeconds ?? 3600
  const renewBefore = (options.renewBeforeSeconds ?? 60) * 1000
  const sessions = new Map<string, Session>()
  let handshake: Promise<{ networkPublicKey: string; threshold: number; nodes: NodeInfo[] }> | undefined

  const describe = () => {
    handshake ??= (async () => {
      const answers = await Promise.all(
        urls.map((url) => fetchJson(`${url}${INFO_PATH}`, undefined, timeoutMs).catch(() => undefined)),
      )
      const infos: (NodeInfo & { networkPublicKey: string; threshold: number })[] = []
      for (const [position, answer] of answers.entries()) {
        const body = answer?.body as Record<string, unknown> | undefined
        if (answer?.status !== 200 || body?.protocol !== LIT_LOCAL_PROTOCOL) continue
        infos.push({
          url: urls[position] as string,
          index: Number(body.index),
          publicKey: String(body.sharePublicKey),
          networkPublicKey: String(body.networkPublicKey),
          threshold: Number(body.threshold),
        })
      }
      const pinned = options.network
      const networkPublicKey = pinned?.networkPublicKey ?? infos[0]?.networkPublicKey
      const threshold = pinned?.threshold ?? infos[0]?.threshold
      if (!networkPublicKey || !threshold)
        throw new NetworkError('No lit-local node answered', {
          details: `tried ${urls.join(', ')}`,
          hint: 'Start the network with `verity lit-local start` and check the URLs.',
          docsPath: 'access.md',
        })
      const nodes: NodeInfo[] = []
      for (const info of infos) {
        const expected = pinned?.nodes.find((node) => node.index === info.index)?.publicKey
        if (info.networkPublicKey !== networkPublicKey || (expected && expected !== info.publicKey)) continue // a node that lies is not used
        nodes.push({ url: info.url, index: info.index, publicKey: expected ?? info.publicKey })
      }
      // Loaded here, not at import: `verity/access` stays light for a passphrase guard (BLS, ethers, SIWE are heavy).
      const { publicSharesMatch } = await import('./threshold-bls.js')
      if (!pinned && nodes.length >= threshold && !publicSharesMatch({ publicKey: networkPublicKey, threshold, shares: nodes }))
        throw new IntegrityError('lit-local nodes disagree about the network key', {
          hint: "Pass the dealer's network.json as { network } so each node's public share is pinned.",
          docsPath: 'access.md',
        })
      return { networkPublicKey, threshold, nodes }
    })().catch((error: unknown) => {
      handshake = undefined
      throw error
    })
    return handshake
  }

  const session = async (signer: Signer): Promise<Session> => {
    const [{ getAddress }, { createSession }] = await Promise.all([import('ethers'), import('./session-signature.js')])
    const address = getAddress(await signer.getAddress())
    const existing = sessions.get(address)
    if (existing && existing.expiresAt - Date.now() > renewBefore) return existing
    const fresh = await createSession({ signer, domain, ttlSeconds: ttl })
    sessions.set(address, fresh)
    return fresh
  }

  return {
    specificationVersion: 'v1',
    name: 'lit-local',
    describe,
    session,
    async getNetworkPublicKey() {
      return (await describe()).networkPublicKey
    },
    async decrypt(request: LitDecryptParameters) {
      const facts = await describe()
      const { conditions, dataToEncryptHash } = request
      const identity = litIdentity({ conditionsHash: await hashLitConditions(conditions), dataToEncryptHash })
      const body = {
        ...(conditions.accessControlConditions ? { accessControlConditions: conditions.accessControlConditions } : {}),
        ...(conditions.evmContractConditions ? { evmContractConditions: conditions.evmContractConditions } : {}),
        ...(conditions.unifiedAccessControlConditions
          ? { unifiedAccessControlConditions: conditions.unifiedAccessControlConditions }
          : {}),
        chain: conditions.chain,
        dataToEncryptHash,
      }
      const current = await session(request.signer)
      const { signRequest } = await import('./session-signature.js')
      type Outcome =
        | { url: string; kind: 'share'; index: number; signature: string }
        | { url: string; kind: 'bad-share' }
        | { url: string; kind: 'error'; error: unknown }
      // Ask every node at once; go on as soon as `threshold` shares are in (the slowest node is not waited for).
      const outcomes: Outcome[] = []
      let enough: () => void = () => {}
      const firstShares = new Promise<void>((resolve) => {
        enough = resolve
      })
      const all = Promise.all(
        urls.map(async (url): Promise<void> => {
          const node = facts.nodes.find((candidate) => candidate.url === url)
          let outcome: Outcome
          try {
            const share = await requestSignatureShare({
              url,
              body,
              sessionSig: signRequest({ session: current, nodeUrl: url, body }),
              timeoutMs,
            })
            outcome =
              node && share.shareIndex === node.index && /^[0-9a-f]{192}$/.test(share.signatureShare)
                ? { url, kind: 'share', index: node.index, signature: share.signatureShare }
                : { url, kind: 'bad-share' }
          } catch (error) {
            outcome = { url, kind: 'error', error }
          }
          outcomes.push(outcome)
          if (outcomes.filter((entry) => entry.kind === 'share').length >= facts.threshold) enough()
        }),
      ).then(() => enough())
      await firstShares
      const received = () =>
        outcomes.flatMap((outcome) =>
          outcome.kind === 'share' ? [{ url: outcome.url, index: outcome.index, signature: outcome.signature }] : [],
        )
      // Optimistic path: combine the first `threshold` shares and check the result with one pairing.
      let signature: Uint8Array | undefined
      const first = received().slice(0, facts.threshold)
      if (!options.verifyEveryShare && first.length === facts.threshold) {
        const candidate = await combineSharesWasm(first)
        if (candidate && (await verifySignatureWasm({ publicKey: facts.networkPublicKey, identity, signature: candidate })))
          signature = candidate
      }
      const badShares: string[] = []
      if (!signature) {
        // Some share is bad (or too few came): wait for every node, verify each share against its
        // node's public share, exclude the bad ones and combine verified shares only.
        await all
        const verified: { index: number; signature: string }[] = []
        for (const share of received()) {
          const node = facts.nodes.find((candidate) => candidate.url === share.url)
          if (
            node &&
            (await verifySignatureWasm({ publicKey: node.publicKey, identity, signature: fromHex(share.signature, 'share') }))
          )
            verified.push(share)
          else badShares.push(share.url)
        }
        badShares.push(...outcomes.filter((outcome) => outcome.kind === 'bad-share').map((outcome) => outcome.url))
        const errors = outcomes.flatMap((outcome) => (outcome.kind === 'error' ? [outcome.error] : []))
        if (verified.length < facts.threshold)
          throw summarize({ errors, badShares, valid: verified.length, threshold: facts.threshold, total: urls.length })
        signature = await combineSharesWasm(verified.slice(0, facts.threshold))
        if (!signature || !(await verifySignatureWasm({ publicKey: facts.networkPublicKey, identity, signature })))
          throw new IntegrityError('Combined Lit signature does not verify', {
            details: 'verified shares combined into an invalid signature',
          })
      }
      try {
        return await litWasm().blsDecrypt('Bls12381G2', fromBase64(request.ciphertext, 'Lit ciphertext'), signature)
      } catch (cause) {
        throw new IntegrityError('Lit ciphertext does not decrypt', {
          details: 'the ciphertext was altered, or was made for other conditions, data hash or network key',
          docsPath: 'access.md',
          cause,
        })
      }
    },
  }
}

const policyReasons = new Set(['conditions-not-met'])
const authReasons = new Set([
  'bad-signature',
  'expired',
  'wrong-domain',
  'wrong-chain',
  'wrong-resource',
  'wrong-node',
  'body-mismatch',
  'malformed-auth',
  'replay',
])
const inputReasons = new Set(['malformed-conditions', 'unsupported-chain', 'unsupported-condition', 'malformed-request'])

function summarize(parameters: {
  errors: unknown[]
  badShares: string[]
  valid: number
  threshold: number
  total: number
}): Error {
  const { errors, badShares, valid, threshold, total } = parameters
  const typed = errors.filter(
    (error): error is AccessDeniedError | NetworkError | InvalidInputError =>
      error instanceof AccessDeniedError || error instanceof NetworkError || error instanceof InvalidInputError,
  )
  const reasonOf = (error: unknown) => String((error as { meta?: { reason?: unknown } }).meta?.reason ?? '')
  const meta = { valid, threshold, total, badShares, reasons: typed.map(reasonOf) }
  for (const group of [inputReasons, authReasons, policyReasons]) {
    const hit = typed.find((error) => group.has(reasonOf(error)))
    if (hit) return withMeta(hit, meta)
  }
  const chain = typed.find((error) => reasonOf(error) === 'chain-unreachable')
  if (chain) return withMeta(chain, meta)
  return new NetworkError(`Too few Lit nodes gave a valid share: ${valid} of ${total}, need ${threshold}`, {
    details: [
      badShares.length ? `bad shares (excluded) from ${badShares.join(', ')}` : '',
      typed.length ? typed.map((error) => error.shortMessage).join('; ') : '',
    ]
      .filter(Boolean)
      .join('; '),
    hint: 'Start more lit-local nodes (`verity lit-local start`) or check that they are reachable.',
    docsPath: 'access.md',
    meta: { ...meta, reason: 'threshold' },
  })
}

function withMeta<E extends AccessDeniedError | NetworkError | InvalidInputError>(error: E, meta: Record<string, unknown>): E {
  const Constructor = error.constructor as new (message: string, parameters: Record<string, unknown>) => E
  return new Constructor(error.shortMessage, {
    details: error.details,
    hint: error.hint,
    docsPath: error.docsPath,
    cause: error.cause,
    meta: { ...error.meta, ...meta },
  })
}

export type RequestSignatureShareParameters = {
  url: string
  body: unknown
  sessionSig: SessionSig
  timeoutMs?: number | undefined
}
export type RequestSignatureShareReturnType = { shareIndex: number; signatureShare: string }

/**
 * One share request to one node. Throws `AccessDeniedError` (conditions not met, bad or
 * expired auth, replay), `InvalidInputError` (conditions the node cannot evaluate) or
 * `NetworkError` (node or chain unreachable), each with `meta.reason` as the node said it.
 *
 * @example
 * ```ts
 * const share = await requestSignatureShare({ url, body, sessionSig: signRequest({ session, nodeUrl: url, body }) })
 * ```
 */
export async function requestSignatureShare(
  parameters: RequestSignatureShareParameters,
): Promise<RequestSignatureShareReturnType> {
  const { url, body, sessionSig, timeoutMs = 10_000 } = parameters
  let answer: { status: number; body: unknown }
  try {
    answer = await fetchJson(`${url}${ENCRYPTION_SIGN_PATH}`, { ...(body as object), authSig: sessionSig }, timeoutMs)
  } catch (cause) {
    throw new NetworkError(`Lit node ${url} is unreachable`, {
      cause,
      meta: { reason: 'node-unreachable', url },
      docsPath: 'access.md',
    })
  }
  const result = answer.body as {
    signatureShare?: unknown
    shareIndex?: unknown
    error?: { reason?: unknown; message?: unknown }
  }
  if (answer.status === 200 && typeof result.signatureShare === 'string' && typeof result.shareIndex === 'number')
    return { shareIndex: result.shareIndex, signatureShare: result.signatureShare }
  const reason = String(result?.error?.reason ?? 'bad-response')
  const message = String(result?.error?.message ?? `HTTP ${answer.status}`)
  const details = `${url}: ${message}`
  const meta = { reason, url }
  if (reason === 'conditions-not-met')
    return Promise.reject(
      new AccessDeniedError('Access conditions not met', {
        details,
        hint: "This wallet does not satisfy the vault's Lit conditions.",
        docsPath: 'access.md',
        meta,
      }),
    )
  if (reason === 'replay')
    return Promise.reject(
      new AccessDeniedError('Replayed Lit request refused', {
        details,
        hint: 'Every request needs a fresh session signature.',
        meta,
      }),
    )
  if (authReasons.has(reason))
    return Promise.reject(
      new AccessDeniedError('Lit authentication refused', {
        details,
        hint: 'Sign a fresh SIWE session with the requesting wallet (sessions expire).',
        docsPath: 'access.md',
        meta,
      }),
    )
  if (inputReasons.has(reason))
    return Promise.reject(
      new InvalidInputError('Lit node cannot evaluate these conditions', {
        details,
        hint: 'Check the chain name and condition types the nodes serve.',
        docsPath: 'access.md',
        meta,
      }),
    )
  if (reason === 'chain-unreachable')
    return Promise.reject(
      new NetworkError('The chain named in the conditions is unreachable', {
        details,
        hint: "Check the nodes' --chain RPC endpoints.",
        docsPath: 'access.md',
        meta,
      }),
    )
  return Promise.reject(new NetworkError(`Lit node ${url} answered badly`, { details, meta }))
}

async function fetchJson(url: string, body: unknown, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = {}
  }
  return { status: response.status, body: parsed }
}

/** Lagrange-combines `{ index, signature }` shares with `@lit-protocol/wasm` (as Lit's SDK does); undefined if malformed. */
async function combineSharesWasm(shares: { index: number; signature: string }[]): Promise<Uint8Array | undefined> {
  try {
    return await litWasm().blsCombine(
      'Bls12381G2',
      shares.map((share) => new Uint8Array([share.index, ...fromHex(share.signature, 'signature share')])),
    )
  } catch {
    return undefined
  }
}

/** One BLS pairing check with `@lit-protocol/wasm` (Lit's DST): false for a wrong or malformed signature. */
async function verifySignatureWasm(parameters: {
  publicKey: string
  identity: Uint8Array
  signature: Uint8Array
}): Promise<boolean> {
  try {
    await litWasm().blsVerify(
      'Bls12381G2',
      fromHex(parameters.publicKey, 'public key'),
      parameters.identity,
      parameters.signature,
    )
    return true
  } catch {
    return false
  }
}
