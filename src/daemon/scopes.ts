import { z } from 'zod'

/** What a credential may touch. */
export const SCOPE_RESOURCES = ['vault', 'agent'] as const
/** How much it may do there: admin implies write, write implies read. */
export const SCOPE_LEVELS = ['read', 'write', 'admin'] as const
export type ScopeResource = (typeof SCOPE_RESOURCES)[number]
export type ScopeLevel = (typeof SCOPE_LEVELS)[number]
/** A scope string: `read:vault`, `write:agent`, `admin:vault`... */
export type Scope = `${ScopeLevel}:${ScopeResource}`

/** zod schema of one scope string. */
export const scopeSchema = z.enum(
  SCOPE_LEVELS.flatMap((level) => SCOPE_RESOURCES.map((resource) => `${level}:${resource}` as Scope)) as [Scope, ...Scope[]],
)

/** Who is calling: the owner every vault, agent and run is checked against, and what the credential allows. */
export type Principal = {
  /** The owner name (tokens) or checksummed address (Sign-In with Ethereum). */
  owner: string
  /** Token id or SIWE session id: the rate-limit key; never the secret. */
  credentialId: string
  kind: 'token' | 'siwe'
  scopes: readonly Scope[]
}

/**
 * True when the scopes grant `level` on `resource` (a higher level grants the lower ones).
 *
 * @example
 * ```ts
 * scopeAllows(['write:vault'], 'read', 'vault') // true
 * ```
 */
export function scopeAllows(scopes: readonly Scope[], level: ScopeLevel, resource: ScopeResource): boolean {
  const wanted = SCOPE_LEVELS.indexOf(level)
  return scopes.some((scope) => {
    const [held, on] = scope.split(':') as [ScopeLevel, ScopeResource]
    return on === resource && SCOPE_LEVELS.indexOf(held) >= wanted
  })
}
