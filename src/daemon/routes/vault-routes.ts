import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { TRACE_BODY_KEY_NAMESPACE } from '../../agent/trace-body-key.js'
import { NotFoundError } from '../../errors.js'
import { exportVault, type MemoryRecord } from '../../memory/index.js'
import type { DaemonServices } from '../daemon-services.js'
import { type DaemonRoute, defineRoute } from '../route.js'
import { vaultGuardSchema, vaultNameSchema } from '../vault-sessions.js'

const jsonObject = z.record(z.string(), z.json())
const ttlSeconds = z.number().int().min(1).default(600)

/** zod schema of one memory as the API returns it. */
export const memoryRecordSchema = z.object({
  id: z.string(),
  text: z.string(),
  metadata: jsonObject,
  namespace: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
const addMemorySchema = z.object({
  text: z.string().min(1).max(100_000),
  id: z.string().min(1).max(200).optional(),
  metadata: jsonObject.optional(),
  namespace: z.string().min(1).max(200).optional(),
})
const vaultStatusSchema = z.object({
  name: z.string(),
  open: z.boolean(),
  expiresAt: z.string().optional(),
  records: z.number().optional(),
})

function recordJson(record: MemoryRecord): z.infer<typeof memoryRecordSchema> {
  const createdAt = new Date(record.createdAt).toISOString()
  return {
    id: record.id,
    text: record.text,
    metadata: record.metadata as Record<string, never>,
    namespace: record.namespace,
    createdAt,
    // A memory never updated has both times equal: format it once (a search answer formats 2 dates per hit).
    updatedAt: record.updatedAt === record.createdAt ? createdAt : new Date(record.updatedAt).toISOString(),
  }
}

const read = { level: 'read', resource: 'vault' } as const
const write = { level: 'write', resource: 'vault' } as const

/**
 * The vault routes: create, open into an expiring session, close, add, list, search, delete, export (encrypted).
 *
 * @example
 * ```ts
 * for (const route of vaultRoutes) console.log(route.method, route.path)
 * ```
 */
export const vaultRoutes: DaemonRoute<DaemonServices>[] = [
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/vaults',
    summary: "List the caller's vaults and which are open",
    access: read,
    response: z.object({ vaults: z.array(vaultStatusSchema) }),
    handler: ({ principal, services }) => ({ vaults: services.vaults.list(principal.owner) }),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/vaults',
    summary: 'Create a vault under a guard and open it',
    access: write,
    body: z.object({ name: vaultNameSchema, guard: vaultGuardSchema, ttlSeconds }),
    response: vaultStatusSchema,
    handler: ({ principal, services, body }) => {
      const input = body as { name: string; guard: z.infer<typeof vaultGuardSchema>; ttlSeconds: number }
      return services.vaults.create({ owner: principal.owner, ...input })
    },
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/vaults/:vault/open',
    summary: 'Open a vault with its guard into a session that expires when idle (the data key stays in the daemon)',
    access: read,
    owned: 'vault',
    body: z.object({ guard: vaultGuardSchema, ttlSeconds }),
    response: vaultStatusSchema,
    handler: ({ principal, services, params, body }) => {
      const input = body as { guard: z.infer<typeof vaultGuardSchema>; ttlSeconds: number }
      return services.vaults.open({ owner: principal.owner, name: params.vault!, ...input })
    },
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/vaults/:vault/close',
    summary: 'Close a vault session now',
    access: read,
    owned: 'vault',
    response: z.object({ closed: z.boolean() }),
    handler: async ({ principal, services, params }) => {
      await services.vaults.use(principal.owner, params.vault!, () => undefined)
      return { closed: await services.vaults.close(principal.owner, params.vault!) }
    },
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/vaults/:vault/memories',
    summary: 'Add memories (acknowledged once durable)',
    access: write,
    owned: 'vault',
    body: z.object({ memories: z.array(addMemorySchema).min(1).max(10_000) }),
    response: z.object({ records: z.array(memoryRecordSchema) }),
    handler: ({ principal, services, params, body }) =>
      services.vaults.use(principal.owner, params.vault!, async (vault) => ({
        records: (await vault.add((body as { memories: z.infer<typeof addMemorySchema>[] }).memories)).map(recordJson),
      })),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/vaults/:vault/memories',
    summary: 'List memories (paged)',
    access: read,
    owned: 'vault',
    query: z.object({
      namespace: z.string().optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().optional(),
    }),
    response: z.object({ records: z.array(memoryRecordSchema), nextCursor: z.string().optional(), total: z.number() }),
    handler: ({ principal, services, params, query }) =>
      services.vaults.use(principal.owner, params.vault!, (vault) => {
        const page = vault.list(query as unknown as { namespace?: string; limit: number; cursor?: string })
        return {
          // Trace body keys (verity:trace-keys) live in the vault but are not memories: reveal is write:vault only.
          records: page.records.filter((record) => record.namespace !== TRACE_BODY_KEY_NAMESPACE).map(recordJson),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
          total: page.total,
        }
      }),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/vaults/:vault/search',
    summary: 'Search memories (vector, full-text or hybrid)',
    access: read,
    owned: 'vault',
    body: z.object({
      query: z.string().min(1).max(10_000),
      k: z.number().int().min(1).max(1000).default(5),
      mode: z.enum(['vector', 'text', 'hybrid']).optional(),
      namespace: z.string().optional(),
      metadata: jsonObject.optional(),
    }),
    response: z.object({ results: z.array(z.object({ record: memoryRecordSchema, score: z.number() })) }),
    handler: ({ principal, services, params, body }) =>
      services.vaults.use(principal.owner, params.vault!, async (vault) => ({
        results: (await vault.search(body as Parameters<typeof vault.search>[0]))
          .filter((hit) => hit.record.namespace !== TRACE_BODY_KEY_NAMESPACE)
          .map((hit) => ({
            record: recordJson(hit.record),
            score: hit.score,
          })),
      })),
  }),
  defineRoute<DaemonServices>({
    method: 'delete',
    path: '/v1/vaults/:vault/memories/:id',
    summary: 'Delete a memory (a tombstone; compaction removes it)',
    access: write,
    owned: 'vault',
    response: z.object({ deleted: z.array(z.string()) }),
    handler: ({ principal, services, params }) =>
      services.vaults.use(principal.owner, params.vault!, async (vault) => {
        if (!vault.get(params.id!)) throw new NotFoundError('No such memory', { details: params.id })
        return vault.delete(params.id!)
      }),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/vaults/:vault/export',
    summary: 'Export the vault as its encrypted archive (ciphertext only: the key never leaves the daemon)',
    access: { level: 'admin', resource: 'vault' },
    owned: 'vault',
    produces: 'application/octet-stream',
    handler: async ({ principal, services, params }) => {
      // Only an open session proves the caller unlocked it; the archive itself is ciphertext.
      await services.vaults.use(principal.owner, params.vault!, () => undefined)
      const folder = mkdtempSync(join(tmpdir(), 'verity-export-'))
      try {
        const out = join(folder, `${params.vault}.vault`)
        await exportVault({ path: services.vaults.pathOf(principal.owner, params.vault!), out })
        return new Response(readFileSync(out), {
          headers: {
            'content-type': 'application/octet-stream',
            'content-disposition': `attachment; filename="${params.vault}.vault"`,
          },
        })
      } finally {
        rmSync(folder, { recursive: true, force: true })
      }
    },
  }),
]
