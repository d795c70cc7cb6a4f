import { z } from 'zod'
import type { DaemonRoute } from './route.js'

export type CreateOpenApiDocumentParameters = {
  routes: readonly DaemonRoute<never>[]
  version: string
  serverUrl?: string | undefined
}
export type CreateOpenApiDocumentReturnType = Record<string, unknown>

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        code: { type: 'string' },
        shortMessage: { type: 'string' },
        details: { type: 'string' },
        hint: { type: 'string' },
      },
      required: ['name', 'code', 'shortMessage'],
    },
  },
  required: ['error'],
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output') {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Record<
    string,
    unknown
  >
  return rest
}

/**
 * An OpenAPI 3.0 document generated from the route table's zod schemas (zod 4's own `z.toJSONSchema`).
 *
 * @example
 * ```ts
 * const document = createOpenApiDocument({ routes: daemonRoutes, version: '0.1.0' })
 * ```
 */
export function createOpenApiDocument(parameters: CreateOpenApiDocumentParameters): CreateOpenApiDocumentReturnType {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of parameters.routes) {
    const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}')
    const pathParameters = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }))
    const queryParameters = route.query
      ? Object.entries((jsonSchema(route.query, 'input').properties ?? {}) as Record<string, unknown>).map(([name, schema]) => ({
          name,
          in: 'query',
          required: false,
          schema,
        }))
      : []
    const success = route.produces
      ? { description: 'OK', content: { [route.produces]: { schema: { type: 'string', format: 'binary' } } } }
      : {
          description: 'OK',
          content: { 'application/json': { schema: route.response ? jsonSchema(route.response, 'output') : {} } },
        }
    const errors = Object.fromEntries(
      [400, 401, 403, 404, 409, 413, 429].map((status) => [
        String(status),
        { description: 'A typed Verity error', content: { 'application/json': { schema: errorSchema } } },
      ]),
    )
    paths[path] ??= {}
    paths[path][route.method] = {
      summary: route.summary,
      ...(route.access === 'public' ? { security: [] } : {}),
      'x-verity-access': route.access,
      parameters: [...pathParameters, ...queryParameters],
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } }
        : {}),
      responses: { '200': success, ...errors },
    }
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Verity daemon',
      version: parameters.version,
      description: 'Agents, encrypted vaults, verifiable inference and signed traces.',
    },
    ...(parameters.serverUrl ? { servers: [{ url: parameters.serverUrl }] } : {}),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (vty_…) or a Sign-In with Ethereum session (vts_…)',
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  }
}
