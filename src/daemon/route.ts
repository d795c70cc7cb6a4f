import type { Context } from 'hono'
import type { z } from 'zod'
import type { Principal, ScopeLevel, ScopeResource } from './scopes.js'

/** Who may call a route: anyone (only the sign-in routes), any valid credential, or a scope. */
export type RouteAccess = 'public' | 'authenticated' | { level: ScopeLevel; resource: ScopeResource }

/** The arguments a route handler receives once the request is authenticated and validated. */
export type RouteInput<Services> = {
  c: Context
  principal: Principal
  params: Record<string, string>
  body: unknown
  /** The validated query parameters; empty for a route that declares no `query` schema. */
  query: Record<string, string>
  services: Services
}

/**
 * One HTTP route of the daemon: method, path, who may call it, its zod schemas (validation and OpenAPI) and handler.
 * A handler returns JSON-able data (answered as 200 JSON with fixed headers: headers set through `c` are not
 * added to it) or a `Response` (SSE, files, HTML, redirects, anything with its own status, headers or cookies).
 */
export type DaemonRoute<Services = unknown> = {
  method: 'get' | 'post' | 'delete'
  path: string
  summary: string
  access: RouteAccess
  /** The path parameter naming a resource owned by someone (checked against the caller). */
  owned?: 'vault' | 'agent' | 'run' | 'receipt' | 'token' | undefined
  body?: z.ZodType | undefined
  query?: z.ZodType | undefined
  response?: z.ZodType | undefined
  /** Content type of a non-JSON answer (documented in OpenAPI). */
  produces?: string | undefined
  handler(input: RouteInput<Services>): Promise<unknown> | unknown
}

/**
 * Declares a route (typing helper; the table of routes is what the server, OpenAPI and tests iterate).
 *
 * @example
 * ```ts
 * const health = defineRoute({ method: 'get', path: '/v1/whoami', summary: 'Who am I', access: 'authenticated', handler: ({ principal }) => principal })
 * ```
 */
export function defineRoute<Services>(route: DaemonRoute<Services>): DaemonRoute<Services> {
  return route
}
