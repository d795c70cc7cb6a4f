import { getAddress, verifyMessage } from 'ethers'
import { SiweMessage } from 'siwe'
import { z } from 'zod'
import { constantTimeEqual, fromHex, toHex } from '../crypto/bytes.js'
import { sha256 } from '../crypto/digest.js'
import { randomBytes } from '../crypto/random.js'
import { UnauthenticatedError } from '../errors.js'
import { parseInput } from '../validation.js'
import type { Principal, Scope } from './scopes.js'

/** Scopes a wallet session gets: read and write on its own vaults and agents (admin stays with tokens). */
export const SIWE_SESSION_SCOPES: readonly Scope[] = ['write:vault', 'write:agent']
/** Prefix of a Sign-In with Ethereum session token. */
export const SIWE_SESSION_PREFIX = 'vts_'

/** zod schema of the body of `POST /v1/auth/siwe`. */
export const siweSignInSchema = z.object({
  message: z.string().min(1).max(4096),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
})
export type SiweSignIn = z.infer<typeof siweSignInSchema>

export type SiweAuthenticator = {
  /** A fresh single-use nonce, valid for `nonceTtlMs`. */
  issueNonce(): { nonce: string; expiresAt: string }
  /** Checks an EIP-4361 message and signature; returns a session token bound to the signer's address. */
  signIn(input: unknown): { session: string; address: string; expiresAt: string; scopes: readonly Scope[] }
  /** The principal of a session token, or throws `UnauthenticatedError`. */
  authenticate(session: string): Principal
}
export type CreateSiweAuthenticatorParameters = {
  /** The RFC 4501 authority the message must name (the daemon's host:port as the wallet saw it); a function when only known once listening. */
  domain: string | (() => string)
  /** Accepted chain ids (default: any). */
  chainIds?: readonly number[] | undefined
  nonceTtlMs?: number | undefined
  /** Longest session a message may ask for (its Expiration Time caps it too). */
  sessionTtlMs?: number | undefined
  now?: (() => number) | undefined
}
export type CreateSiweAuthenticatorReturnType = SiweAuthenticator

const refuse = (reason: string) =>
  new UnauthenticatedError('Sign-In with Ethereum refused', {
    details: reason,
    hint: 'Ask GET /v1/auth/nonce for a fresh nonce and sign a new EIP-4361 message for this daemon domain.',
  })

/**
 * Sign-In with Ethereum (EIP-4361) for wallet clients: single-use nonces, domain, chain, time and signature checks,
 * and short sessions bound to the owner's address. Session secrets are kept only as hashes.
 *
 * @example
 * ```ts
 * const siwe = createSiweAuthenticator({ domain: '127.0.0.1:8787' })
 * const { nonce } = siwe.issueNonce()
 * // the wallet signs a SiweMessage with that nonce
 * const { session } = siwe.signIn({ message, signature })
 * ```
 */
export function createSiweAuthenticator(parameters: CreateSiweAuthenticatorParameters): CreateSiweAuthenticatorReturnType {
  const { chainIds, nonceTtlMs = 5 * 60_000, sessionTtlMs = 60 * 60_000, now = Date.now } = parameters
  const nonces = new Map<string, number>()
  const sessions = new Map<string, { hash: Uint8Array; address: string; expiresAt: number }>()
  const sweep = (time: number) => {
    for (const [nonce, expiry] of nonces) if (expiry < time) nonces.delete(nonce)
    for (const [id, session] of sessions) if (session.expiresAt < time) sessions.delete(id)
  }
  return {
    issueNonce() {
      const time = now()
      sweep(time)
      if (nonces.size > 100_000) throw refuse('too many outstanding nonces')
      const nonce = toHex(randomBytes(16))
      nonces.set(nonce, time + nonceTtlMs)
      return { nonce, expiresAt: new Date(time + nonceTtlMs).toISOString() }
    },
    signIn(input) {
      const { message, signature } = parseInput(siweSignInSchema, input, { what: 'Sign-In with Ethereum body' })
      const time = now()
      let siwe: SiweMessage
      try {
        siwe = new SiweMessage(message)
      } catch {
        throw refuse('not an EIP-4361 message')
      }
      // The nonce is consumed before any other check: a replayed or failed message never gets a second try.
      const nonceExpiry = nonces.get(siwe.nonce)
      nonces.delete(siwe.nonce)
      if (nonceExpiry === undefined) throw refuse('unknown or already used nonce')
      if (nonceExpiry < time) throw refuse('nonce expired')
      const domain = typeof parameters.domain === 'function' ? parameters.domain() : parameters.domain
      if (siwe.domain !== domain) throw refuse(`domain is not ${domain}`)
      if (chainIds && !chainIds.includes(siwe.chainId)) throw refuse(`chain id ${siwe.chainId} not accepted`)
      if (!siwe.expirationTime) throw refuse('message has no Expiration Time')
      const expiration = Date.parse(siwe.expirationTime)
      if (!Number.isFinite(expiration) || expiration <= time) throw refuse('message expired')
      if (siwe.notBefore && Date.parse(siwe.notBefore) > time + 30_000) throw refuse('message not yet valid')
      if (siwe.issuedAt && Date.parse(siwe.issuedAt) > time + 30_000) throw refuse('message issued in the future')
      let signer: string
      let claimed: string
      try {
        signer = verifyMessage(message, signature)
        claimed = getAddress(siwe.address)
      } catch {
        throw refuse('malformed signature or address')
      }
      if (signer !== claimed) throw refuse('signature is not by the address the message names')
      const id = toHex(randomBytes(8))
      const secret = randomBytes(32)
      const expiresAt = Math.min(expiration, time + sessionTtlMs)
      sessions.set(id, { hash: sha256(secret), address: claimed, expiresAt })
      return {
        session: `${SIWE_SESSION_PREFIX}${id}_${toHex(secret)}`,
        address: claimed,
        expiresAt: new Date(expiresAt).toISOString(),
        scopes: SIWE_SESSION_SCOPES,
      }
    },
    authenticate(session) {
      const match = /^vts_([0-9a-f]{16})_([0-9a-f]{64})$/.exec(session)
      const refused = new UnauthenticatedError('Invalid or expired wallet session', {
        hint: 'Sign in again with POST /v1/auth/siwe.',
      })
      if (!match) throw refused
      const stored = sessions.get(match[1]!)
      const equal = constantTimeEqual(sha256(fromHex(match[2]!)), stored?.hash ?? new Uint8Array(32))
      if (!stored || !equal) throw refused
      if (stored.expiresAt <= now()) {
        sessions.delete(match[1]!)
        throw refused
      }
      return { owner: stored.address, credentialId: `siwe:${match[1]}`, kind: 'siwe', scopes: SIWE_SESSION_SCOPES }
    },
  }
}
