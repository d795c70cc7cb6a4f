import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { NotFoundError } from '../errors.js'
import { parseInput } from '../validation.js'
import { authenticate } from './authenticate.js'
import type { DaemonServices } from './daemon-services.js'
import { explorerRoutes } from './explorer/explorer-routes.js'
import { errorResponse, httpStatusOf, readJsonBody } from './http-error.js'
import { createVerityMcpServer } from './mcp-server.js'
import { createOpenApiDocument } from './openapi.js'
import { type DaemonRoute, defineRoute } from './route.js'
import { agentRoutes } from './routes/agent-routes.js'
import { authRoutes } from './routes/auth-routes.js'
import { hubRoutes } from './routes/hub-routes.js'
import { inferenceRoutes } from './routes/inference-routes.js'
import { runRoutes } from './routes/run-routes.js'
import { vaultRoutes } from './routes/vault-routes.js'

/** The daemon's version, reported in OpenAPI and to MCP clients. */
export const DAEMON_VERSION = '0.1.0'

/** Headers on every answer: no MIME sniffing, no referrer, nothing cached (answers may hold personal data). */
const SECURITY_HEADERS: [string, string][] = [
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['cache-control', 'no-store'],
]
/** A route's JSON answer: plain header object, so hono's node adapter writes it without building `Headers`. */
const JSON_ANSWER_HEADERS: Record<string, string> = {
  'content-type': 'application/json',
  ...Object.fromEntries(SECURITY_HEADERS),
}
/** The query of a route that declares none. */
const NO_QUERY: Record<string, string> = Object.freeze({}) as Record<string, string>
/** JSON answers built with {@link JSON_ANSWER_HEADERS} (they need nothing more). */
const secured = new WeakSet<Response>()

const mcpRoute = defineRoute<DaemonServices>({
  method: 'post',
  path: '/mcp',
  summary: 'MCP over Streamable HTTP (stateless: one JSON-RPC exchange per request); tools act for the token owner',
  access: { level: 'read', resource: 'agent' },
  produces: 'application/json',
  handler: async ({ c, principal, services, body }) => {
    const server = createVerityMcpServer({ services, principal, version: DAEMON_VERSION })
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true })
    await server.connect(transport)
    try {
      return await transport.handleRequest(c.req.raw, { parsedBody: body })
    } finally {
      void server.close()
    }
  },
})

const openApiRoute = defineRoute<DaemonServices>({
  method: 'get',
  path: '/openapi.json',
  summary: 'This OpenAPI document, generated from the routes’ zod schemas',
  access: 'authenticated',
  handler: () => createOpenApiDocument({ routes: daemonRoutes as DaemonRoute<never>[], version: DAEMON_VERSION }),
})

/**
 * Every route of the daemon: the API, MCP, OpenAPI and the explorer pages. Servers, the OpenAPI document and the
 * auth tests all iterate this one table, so a new route is authenticated, documented and tested by adding it here.
 *
 * @example
 * ```ts
 * daemonRoutes.filter((route) => route.access === 'public').map((route) => route.path)
 * ```
 */
export const daemonRoutes: DaemonRoute<DaemonServices>[] = [
  ...authRoutes,
  ...vaultRoutes,
  ...agentRoutes,
  ...runRoutes,
  ...inferenceRoutes,
  ...hubRoutes,
  mcpRoute,
  openApiRoute,
  ...explorerRoutes,
]

export type CreateDaemonAppParameters = { services: DaemonServices; log?: ((line: string) => void) | undefined }
export type CreateDaemonAppReturnType = Hono

/**
 * The daemon's hono app: every route authenticated and scope-checked, bodies bounded and validated with zod,
 * typed errors as 4xx JSON, CORS only for configured origins, a request log without secrets.
 *
 * @example
 * ```ts
 * const app = createDaemonApp({ services })
 * const response = await app.request('/v1/whoami', { headers: { authorization: `Bearer ${token}` } })
 * ```
 */
export function createDaemonApp(parameters: CreateDaemonAppParameters): CreateDaemonAppReturnType {
  const { services, log } = parameters
  const app = new Hono()
  if (log)
    app.use(async (c, next) => {
      const started = performance.now()
      await next()
      // Path only: no query string, headers or bodies (they may hold tokens or personal data). Written after the
      // answer (setImmediate runs once the answer is on the socket), so the log's write is not on the request's path.
      const line = `${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - started).toFixed(1)}ms`
      setImmediate(log, line)
    })
  if (services.config.corsOrigins.length > 0) app.use(cors({ origin: services.config.corsOrigins, credentials: false }))
  app.use(async (c, next) => {
    await next()
    if (secured.has(c.res)) return
    // Set on the answer's own headers: `c.header()` after the handler would copy the whole Response (and its body
    // stream), which takes hono's node adapter off its fast path (measured: ~0.2 ms per request).
    try {
      for (const [name, value] of SECURITY_HEADERS) c.res.headers.set(name, value)
    } catch {
      // An immutable Response (one straight from fetch): let hono copy it.
      for (const [name, value] of SECURITY_HEADERS) c.header(name, value)
    }
  })
  for (const route of daemonRoutes) {
    const bodyWhat = `${route.method.toUpperCase()} ${route.path} body`
    const queryWhat = `${route.path} query`
    app.on(route.method.toUpperCase(), route.path, async (c) => {
      const principal = authenticate(c, services, route.access)
      const rawBody =
        route.body || route.path === '/mcp' ? await readJsonBody(c.req.raw, services.config.maxBodyBytes) : undefined
      const body = route.body ? parseInput(route.body, rawBody ?? {}, { what: bodyWhat }) : rawBody
      // A route reads only the query parameters it declares (and validates).
      const query = route.query
        ? (parseInput(route.query, c.req.query(), { what: queryWhat }) as Record<string, string>)
        : NO_QUERY
      const result = await route.handler({ c, principal, params: c.req.param() as Record<string, string>, body, query, services })
      if (result instanceof Response) return result
      const answer = new Response(JSON.stringify(result), { status: 200, headers: JSON_ANSWER_HEADERS })
      secured.add(answer)
      return answer
    })
  }
  app.notFound((c) => errorResponse(c, new NotFoundError('No such route', { details: `${c.req.method} ${c.req.path}` })))
  app.onError((error, c) => {
    // A browser without a credential on an explorer page goes to the sign-in page.
    if (c.req.method === 'GET' && c.req.path.startsWith('/explorer') && httpStatusOf(error) === 401)
      return c.redirect('/explorer/login', 303)
    if (log && !(error as { code?: string }).code?.startsWith('VERITY_'))
      log(`error ${c.req.method} ${c.req.path}: ${(error as Error).name}`)
    return errorResponse(c, error)
  })
  return app
}
