import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'
import { getCookie } from 'hono/cookie'
import { AccessDeniedError, UnauthenticatedError } from '../errors.js'
import type { DaemonServices } from './daemon-services.js'
import type { RouteAccess } from './route.js'
import { type Principal, scopeAllows } from './scopes.js'
import { SIWE_SESSION_PREFIX } from './siwe-auth.js'
import { TOKEN_PREFIX } from './token-store.js'

/** The cookie the explorer keeps the credential in (HttpOnly, SameSite=Strict). */
export const EXPLORER_COOKIE = 'verity_credential'

/**
 * The principal of a credential string: an API token (`vty_…`) or a wallet session (`vts_…`).
 *
 * @example
 * ```ts
 * const principal = principalOf(services, token)
 * ```
 */
export function principalOf(services: DaemonServices, credential: string): Principal {
  if (credential.startsWith(TOKEN_PREFIX)) return services.tokens.authenticate(credential)
  if (credential.startsWith(SIWE_SESSION_PREFIX)) return services.siwe.authenticate(credential)
  throw new UnauthenticatedError('Unknown credential format', { hint: 'Send Authorization: Bearer vty_… or vts_….' })
}

/**
 * Authenticates a request (Bearer header, or the explorer cookie), applies the credential's rate limit and checks
 * the route's scope. Public routes get an anonymous principal.
 *
 * @example
 * ```ts
 * const principal = authenticate(c, services, { level: 'read', resource: 'vault' })
 * ```
 */
export function authenticate(c: Context, services: DaemonServices, access: RouteAccess): Principal {
  if (access === 'public') return { owner: '', credentialId: 'public', kind: 'token', scopes: [] }
  // On Node's server, read the header from the incoming message (no web Headers object is built for it).
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  const header = incoming ? incoming.headers.authorization : c.req.header('authorization')
  const bearer = header && /^Bearer\s+(\S+)$/i.exec(header)?.[1]
  const credential = bearer || getCookie(c, EXPLORER_COOKIE)
  if (!credential)
    throw new UnauthenticatedError('No credential', {
      hint: 'Send Authorization: Bearer <token> (verity daemon token create) or sign in with Ethereum.',
    })
  const principal = principalOf(services, credential)
  services.limiter.take(principal.credentialId)
  if (access !== 'authenticated' && !scopeAllows(principal.scopes, access.level, access.resource))
    throw new AccessDeniedError('The credential lacks the scope this route needs', {
      details: `needs ${access.level}:${access.resource}`,
      hint: 'Create a token with that scope.',
    })
  return principal
}
