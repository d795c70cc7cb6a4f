import { ed25519 } from '@noble/curves/ed25519.js'
import type { Signer } from 'ethers'
import { getAddress, verifyMessage } from 'ethers'
import type { SiweMessage } from 'siwe'
import { z } from 'zod'
import { fromHex, toHex, utf8ToBytes } from '../../crypto/bytes.js'
import { canonicalJson } from '../../crypto/canonical-json.js'
import { sha256 } from '../../crypto/digest.js'
import { randomBytes } from '../../crypto/random.js'
import { siweSdk } from '../lit-sdk.js'

/**
 * Session signatures, shaped like Lit's: the requester's wallet signs a SIWE (EIP-4361)
 * message once, delegating to an ephemeral ed25519 session key (`uri: lit:session:<key>`),
 * valid until its `expirationTime`. Each request to each node is then signed by the session
 * key over the node's URL, a fresh nonce, a short validity window and the digest of the
 * request body, so a captured request cannot be replayed, redirected or altered.
 */

/** Lit's `AuthSig`: a wallet signature over a SIWE message. */
export type AuthSig = { sig: string; derivedVia: string; signedMessage: string; address: string }

/** A requester's session: the wallet's capability signature plus the session key. Secret: never log it. */
export type Session = {
  capability: AuthSig
  sessionPublicKey: string
  sessionSecretKey: Uint8Array
  address: string
  /** Milliseconds since the epoch. */
  expiresAt: number
}

export type CreateSessionParameters = {
  signer: Signer
  /** The SIWE domain the nodes expect (default `localhost`). */
  domain?: string | undefined
  /** Session lifetime in seconds (default 3600). */
  ttlSeconds?: number | undefined
  /** Overrides the clock (for tests of expiry), milliseconds. */
  now?: number | undefined
  /** SIWE `chainId` (default 1, Lit's; nodes refuse any other than the one they expect). */
  chainId?: number | undefined
  /**
   * What the session may ask for (default `['litEncryptionCondition://*']`, any conditions);
   * `litEncryptionCondition://<conditions hash hex>` limits it to one set of conditions.
   */
  resources?: string[] | undefined
}

/** The SIWE resource allowing a session to request shares for any conditions. */
export const ANY_CONDITIONS_RESOURCE = 'litEncryptionCondition://*'
const RESOURCE_PREFIX = 'litEncryptionCondition://'

/**
 * Creates a session: a fresh ed25519 session key and the wallet's SIWE signature delegating to it.
 *
 * @example
 * ```ts
 * const session = await createSession({ signer: wallet, domain: 'localhost', ttlSeconds: 600 })
 * ```
 */
export async function createSession(parameters: CreateSessionParameters): Promise<Session> {
  const {
    signer,
    domain = 'localhost',
    ttlSeconds = 3600,
    now = Date.now(),
    chainId = 1,
    resources = [ANY_CONDITIONS_RESOURCE],
  } = parameters
  const sessionSecretKey = ed25519.utils.randomSecretKey()
  const sessionPublicKey = toHex(ed25519.getPublicKey(sessionSecretKey))
  const address = getAddress(await signer.getAddress())
  const expiresAt = now + ttlSeconds * 1000
  const message = new (siweSdk().SiweMessage)({
    domain,
    address,
    statement: 'Verity: allow this session key to request Lit decryption shares.',
    uri: `lit:session:${sessionPublicKey}`,
    version: '1',
    chainId,
    nonce: toHex(randomBytes(12)),
    issuedAt: new Date(now).toISOString(),
    expirationTime: new Date(expiresAt).toISOString(),
    resources,
  }).prepareMessage()
  const sig = await signer.signMessage(message)
  return {
    capability: { sig, derivedVia: 'web3.eth.personal.sign', signedMessage: message, address },
    sessionPublicKey,
    sessionSecretKey,
    address,
    expiresAt,
  }
}

/** Lit's per-node session signature. */
export type SessionSig = {
  sig: string
  derivedVia: 'litSessionSignViaNacl'
  signedMessage: string
  address: string
  algo: 'ed25519'
}

/**
 * Signs one request to one node with the session key.
 *
 * @example
 * ```ts
 * const sessionSig = signRequest({ session, nodeUrl, body })
 * ```
 */
export function signRequest(parameters: {
  session: Session
  nodeUrl: string
  body: unknown
  now?: number | undefined
}): SessionSig {
  const { session, nodeUrl, body, now = Date.now() } = parameters
  const signedMessage = canonicalJson({
    sessionKey: session.sessionPublicKey,
    capabilities: [session.capability],
    nodeAddress: nodeUrl,
    requestNonce: toHex(randomBytes(16)),
    requestDigest: toHex(sha256(canonicalJson(body))),
    issuedAt: new Date(now).toISOString(),
    expiration: new Date(Math.min(now + 60_000, session.expiresAt)).toISOString(),
  })
  const sig = toHex(ed25519.sign(utf8ToBytes(signedMessage), session.sessionSecretKey))
  return { sig, derivedVia: 'litSessionSignViaNacl', signedMessage, address: session.sessionPublicKey, algo: 'ed25519' }
}

const sessionSigSchema = z.object({
  sig: z.string().regex(/^[0-9a-f]{128}$/),
  derivedVia: z.literal('litSessionSignViaNacl'),
  signedMessage: z.string().max(16_384),
  address: z.string().regex(/^[0-9a-f]{64}$/),
  algo: z.literal('ed25519'),
})
const signedMessageSchema = z.object({
  sessionKey: z.string(),
  capabilities: z
    .array(z.object({ sig: z.string(), derivedVia: z.string(), signedMessage: z.string().max(8192), address: z.string() }))
    .length(1),
  nodeAddress: z.string(),
  requestNonce: z.string().regex(/^[0-9a-f]{32}$/),
  requestDigest: z.string().regex(/^[0-9a-f]{64}$/),
  issuedAt: z.string(),
  expiration: z.string(),
})

/** Why a node refused a request's authentication. */
export type AuthFailure = {
  reason:
    | 'malformed-auth'
    | 'bad-signature'
    | 'expired'
    | 'wrong-domain'
    | 'wrong-chain'
    | 'wrong-resource'
    | 'wrong-node'
    | 'replay'
    | 'body-mismatch'
  message: string
}

/** A node-side store of request nonces already seen, forgotten after they expire. */
export type NonceStore = { seen(nonce: string, expiresAt: number, now: number): boolean }

/**
 * An in-memory nonce store: `seen` records the nonce and returns true if it was already there.
 *
 * @example
 * ```ts
 * const nonces = createNonceStore()
 * ```
 */
export function createNonceStore(): NonceStore {
  const nonces = new Map<string, number>()
  return {
    seen(nonce, expiresAt, now) {
      if (nonces.size > 10_000) for (const [key, expiry] of nonces) if (expiry < now) nonces.delete(key)
      if (nonces.has(nonce)) return true
      nonces.set(nonce, expiresAt)
      return false
    },
  }
}

export type VerifySessionSigParameters = {
  sessionSig: unknown
  body: unknown
  nodeUrl: string
  domain: string
  /** SIWE `chainId` the node accepts (default 1, the one Lit's sessions carry). */
  chainId?: number | undefined
  nonces: NonceStore
  now?: number | undefined
  /** Allowed clock skew, milliseconds (default 30 s). */
  skew?: number | undefined
}

/**
 * Node side: checks a request's session signature and the SIWE capability behind it: its domain,
 * its `chainId` (only the node's), its resources (only `litEncryptionCondition://*` or
 * `litEncryptionCondition://<conditions hash>`, at least one), its times and the request nonce.
 * Returns the requester's address and the condition hashes the session may ask for (`'*'` for
 * any), or the reason for refusal; the caller checks the request's conditions are among them.
 *
 * @example
 * ```ts
 * const result = verifySessionSig({ sessionSig, body, nodeUrl, domain: 'localhost', nonces })
 * if ('reason' in result) refuse(result)
 * ```
 */
export function verifySessionSig(
  parameters: VerifySessionSigParameters,
): { address: string; conditionHashes: string[] } | AuthFailure {
  const { body, nodeUrl, domain, chainId = 1, nonces, now = Date.now(), skew = 30_000 } = parameters
  const parsed = sessionSigSchema.safeParse(parameters.sessionSig)
  if (!parsed.success) return { reason: 'malformed-auth', message: 'session signature is malformed' }
  const sessionSig = parsed.data
  let ok = false
  try {
    ok = ed25519.verify(fromHex(sessionSig.sig), utf8ToBytes(sessionSig.signedMessage), fromHex(sessionSig.address))
  } catch {
    ok = false
  }
  if (!ok) return { reason: 'bad-signature', message: 'session key signature does not verify' }
  let inner: z.infer<typeof signedMessageSchema>
  try {
    const result = signedMessageSchema.safeParse(JSON.parse(sessionSig.signedMessage))
    if (!result.success) return { reason: 'malformed-auth', message: 'session message is malformed' }
    inner = result.data
  } catch {
    return { reason: 'malformed-auth', message: 'session message is not JSON' }
  }
  if (inner.sessionKey !== sessionSig.address)
    return { reason: 'bad-signature', message: 'session key does not match the signer' }
  if (inner.nodeAddress !== nodeUrl) return { reason: 'wrong-node', message: 'request was signed for another node' }
  if (inner.requestDigest !== toHex(sha256(canonicalJson(body))))
    return { reason: 'body-mismatch', message: 'request body differs from what was signed' }
  const issuedAt = Date.parse(inner.issuedAt)
  const expiration = Date.parse(inner.expiration)
  if (!Number.isFinite(issuedAt) || !Number.isFinite(expiration))
    return { reason: 'malformed-auth', message: 'bad request times' }
  if (issuedAt > now + skew) return { reason: 'expired', message: 'request issued in the future' }
  if (expiration < now) return { reason: 'expired', message: 'request signature expired' }
  if (expiration - issuedAt > 5 * 60_000) return { reason: 'malformed-auth', message: 'request validity window too long' }

  const capability = inner.capabilities[0] as AuthSig
  let siwe: SiweMessage
  try {
    siwe = new (siweSdk().SiweMessage)(capability.signedMessage)
  } catch {
    return { reason: 'malformed-auth', message: 'capability is not a SIWE message' }
  }
  let signer: string
  try {
    signer = verifyMessage(capability.signedMessage, capability.sig)
  } catch {
    return { reason: 'bad-signature', message: 'SIWE signature is malformed' }
  }
  let claimed: string
  try {
    claimed = getAddress(siwe.address)
  } catch {
    return { reason: 'malformed-auth', message: 'SIWE address is invalid' }
  }
  if (signer !== claimed) return { reason: 'bad-signature', message: 'SIWE message was not signed by the address it names' }
  if (siwe.domain !== domain) return { reason: 'wrong-domain', message: `SIWE domain is not ${domain}` }
  if (siwe.chainId !== chainId) return { reason: 'wrong-chain', message: `SIWE chain id is not ${chainId}` }
  const resources = siwe.resources ?? []
  const conditionHashes: string[] = []
  for (const resource of resources) {
    const target = resource.startsWith(RESOURCE_PREFIX) ? resource.slice(RESOURCE_PREFIX.length) : undefined
    if (target === undefined || !(target === '*' || /^[0-9a-f]{64}$/.test(target)))
      return { reason: 'wrong-resource', message: 'SIWE resources name something other than Lit encryption conditions' }
    conditionHashes.push(target)
  }
  if (conditionHashes.length === 0)
    return { reason: 'wrong-resource', message: 'SIWE message grants no litEncryptionCondition resource' }
  if (siwe.uri !== `lit:session:${sessionSig.address}`)
    return { reason: 'bad-signature', message: 'SIWE message delegates to another session key' }
  const siweExpiry = siwe.expirationTime ? Date.parse(siwe.expirationTime) : Number.NaN
  if (!Number.isFinite(siweExpiry)) return { reason: 'malformed-auth', message: 'SIWE message has no expiration time' }
  if (siweExpiry < now) return { reason: 'expired', message: 'SIWE session expired' }
  if (siwe.issuedAt && Date.parse(siwe.issuedAt) > now + skew)
    return { reason: 'expired', message: 'SIWE message issued in the future' }
  if (siwe.notBefore && Date.parse(siwe.notBefore) > now + skew)
    return { reason: 'expired', message: 'SIWE message not yet valid' }
  // Replay: the nonce is remembered only after every other check passed, until the request expires.
  if (nonces.seen(`${sessionSig.address}:${inner.requestNonce}`, expiration + skew, now))
    return { reason: 'replay', message: 'request nonce was already used' }
  return { address: claimed, conditionHashes }
}
