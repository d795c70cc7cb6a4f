import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { Readable } from 'node:stream'
import type { CID } from 'multiformats/cid'
import { z } from 'zod'
import { InvalidInputError, NotFoundError } from '../../errors.js'
import { carStream, HUB_INDEX_FORMAT, parseCid, publishRelease, releaseSchema } from '../../hub/index.js'
import type { DaemonServices } from '../daemon-services.js'
import { type DaemonRoute, defineRoute } from '../route.js'

/**
 * The hub's trustless-gateway routes on the daemon, at the paths `verity hub pull --from URL` and any IPFS gateway
 * client ask for: `GET /ipfs/{cid}` (a raw block or a CAR of the DAG) and `GET /releases` (the signed release
 * index). Clients check every block against its CID and every release against its publisher's signature, so the
 * daemon is not trusted with content; still, like every daemon route, they need a credential (`read:agent`):
 * what models an operator hosts is theirs to share. Served when the daemon has a hub (`hubDirectory`, else the
 * default hub folder when it exists).
 */

const read = { level: 'read', resource: 'agent' } as const

function negotiate(accept: string | undefined, format: string | undefined): 'raw' | 'car' {
  if (format === 'raw' || format === 'car') return format
  if (accept?.includes('application/vnd.ipld.car')) return 'car'
  if (accept?.includes('application/vnd.ipld.raw')) return 'raw'
  throw new InvalidInputError('Ask for a raw block or a CAR', {
    details: `Accept: ${accept ?? '(none)'}`,
    hint: 'Send Accept: application/vnd.ipld.raw or application/vnd.ipld.car, or ?format=raw|car.',
  })
}

/**
 * `GET /ipfs/{cid}` and `GET /releases` on the daemon (the hub's gateway protocol, authenticated like the API), and
 * `POST /v1/hub/releases` to publish a package folder of the daemon host, signed by the daemon identity.
 *
 * @example
 * ```ts
 * hubRoutes.map((route) => route.path) // ['/ipfs/:cid', '/releases', '/v1/hub/releases']
 * ```
 */
export const hubRoutes: DaemonRoute<DaemonServices>[] = [
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/ipfs/:cid',
    summary:
      'A block of the hub as application/vnd.ipld.raw, or its DAG as application/vnd.ipld.car (IPFS trustless gateway; by Accept or ?format=raw|car)',
    access: read,
    query: z.object({ format: z.enum(['raw', 'car']).optional(), 'dag-scope': z.enum(['all', 'entity', 'block']).optional() }),
    produces: 'application/vnd.ipld.car',
    handler: async ({ c, services, params, query }) => {
      const hub = await services.hub()
      let cid: CID
      try {
        cid = parseCid(decodeURIComponent(params.cid!))
      } catch (cause) {
        throw new InvalidInputError('Not a supported CID', { details: params.cid, cause })
      }
      const format = negotiate(c.req.header('accept'), query.format)
      if (!(await hub.blocks.has(cid))) throw new NotFoundError('Not in this hub', { details: cid.toString() })
      const headers = {
        Etag: `"${cid.toString()}.${format}"`,
        'X-Ipfs-Roots': cid.toString(),
      }
      if (format === 'raw') {
        const bytes = await hub.blocks.getBytes(cid)
        return new Response(bytes, {
          headers: { ...headers, 'Content-Type': 'application/vnd.ipld.raw', 'Content-Length': String(bytes.length) },
        })
      }
      // A block that fails its check mid-stream aborts the response: the client sees a truncated CAR.
      const body = Readable.toWeb(Readable.from(carStream({ root: cid, blockstore: hub.blocks }))) as ReadableStream<Uint8Array>
      return new Response(body, {
        headers: { ...headers, 'Content-Type': 'application/vnd.ipld.car; version=1; order=dfs; dups=n' },
      })
    },
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/releases',
    summary: "The hub's index of signed releases (each verified by the client against its publisher's signature)",
    access: read,
    response: z.object({ format: z.literal(HUB_INDEX_FORMAT), releases: z.array(releaseSchema) }),
    handler: async ({ services }) => ({ format: HUB_INDEX_FORMAT, releases: (await services.hub()).releases.all() }),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/hub/releases',
    summary:
      "Publish a model package folder on the daemon host into the daemon's hub, signed by the daemon identity (admin:agent)",
    // Reads a folder of the daemon host and signs with the daemon's key: an admin's act, like a script agent.
    access: { level: 'admin', resource: 'agent' },
    body: z.object({
      path: z.string().min(1).max(4096),
      name: z.string().min(1).max(64).optional(),
      version: z.string().min(1).max(64).optional(),
    }),
    response: z.object({ release: releaseSchema, newBlocks: z.number(), reusedBlocks: z.number() }),
    handler: async ({ services, body }) => {
      const input = body as { path: string; name?: string; version?: string }
      if (!isAbsolute(input.path) || !existsSync(input.path))
        throw new InvalidInputError('The package must be an existing absolute folder on the daemon host', {
          details: input.path,
        })
      const published = await publishRelease({
        hub: await services.hub(),
        dir: input.path,
        signer: services.identity.signer,
        ...(input.name ? { name: input.name } : {}),
        ...(input.version ? { version: input.version } : {}),
      })
      return { release: published.release, newBlocks: published.newBlocks, reusedBlocks: published.reusedBlocks }
    },
  }),
]
