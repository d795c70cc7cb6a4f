import { z } from 'zod'
import { AccessDeniedError, NotFoundError } from '../../errors.js'
import { type DaemonServices, siweDomainOf } from '../daemon-services.js'
import { type DaemonRoute, defineRoute } from '../route.js'
import { type Scope, scopeAllows, scopeSchema } from '../scopes.js'
import { siweSignInSchema } from '../siwe-auth.js'

const tokenSummary = z.object({
  id: z.string(),
  owner: z.string(),
  scopes: z.array(scopeSchema),
  label: z.string().optional(),
  createdAt: z.string(),
  revoked: z.boolean().optional(),
})

/**
 * Auth routes: SIWE nonce and sign-in (the only public routes), whoami, and token management for admins.
 *
 * @example
 * ```ts
 * authRoutes.filter((route) => route.access === 'public')
 * ```
 */
export const authRoutes: DaemonRoute<DaemonServices>[] = [
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/auth/nonce',
    summary: 'A single-use nonce for an EIP-4361 (Sign-In with Ethereum) message',
    access: 'public',
    response: z.object({ nonce: z.string(), domain: z.string(), expiresAt: z.string() }),
    handler: ({ services }) => ({
      ...services.siwe.issueNonce(),
      domain: siweDomainOf(services.config),
    }),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/auth/siwe',
    summary: "Sign in with a wallet: a session bound to the signer's address (its own vaults and agents)",
    access: 'public',
    body: siweSignInSchema,
    response: z.object({ session: z.string(), address: z.string(), expiresAt: z.string(), scopes: z.array(scopeSchema) }),
    handler: ({ services, body }) => services.siwe.signIn(body),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/whoami',
    summary: 'The owner and scopes of the presented credential',
    access: 'authenticated',
    response: z.object({ owner: z.string(), kind: z.string(), scopes: z.array(scopeSchema) }),
    handler: ({ principal }) => ({ owner: principal.owner, kind: principal.kind, scopes: [...principal.scopes] }),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/tokens',
    summary: "List the owner's API tokens (never their secrets)",
    access: { level: 'admin', resource: 'agent' },
    response: z.object({ tokens: z.array(tokenSummary) }),
    handler: ({ principal, services }) => ({ tokens: services.tokens.list(principal.owner) }),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/tokens',
    summary: 'Create an API token for the same owner with at most the caller’s scopes (shown once)',
    access: { level: 'admin', resource: 'agent' },
    body: z.object({ scopes: z.array(scopeSchema).min(1), label: z.string().max(200).optional() }),
    response: z.object({ id: z.string(), token: z.string(), owner: z.string(), scopes: z.array(scopeSchema) }),
    handler: ({ principal, services, body }) => {
      const input = body as { scopes: Scope[]; label?: string }
      for (const scope of input.scopes) {
        const [level, resource] = scope.split(':') as ['read', 'vault']
        if (!scopeAllows(principal.scopes, level, resource))
          throw new AccessDeniedError('A token cannot grant more than its creator holds', { details: scope })
      }
      return services.tokens.create({ owner: principal.owner, scopes: input.scopes, label: input.label })
    },
  }),
  defineRoute<DaemonServices>({
    method: 'delete',
    path: '/v1/tokens/:token',
    summary: 'Revoke one of the owner’s tokens',
    access: { level: 'admin', resource: 'agent' },
    owned: 'token',
    response: z.object({ revoked: z.boolean() }),
    handler: ({ principal, services, params }) => {
      if (!services.tokens.revoke(params.token!, principal.owner))
        throw new NotFoundError('No such token', { details: params.token })
      return { revoked: true }
    },
  }),
]
