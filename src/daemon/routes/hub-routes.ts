import { Readable } from 'node:stream'
import type { CID } from 'multiformats/cid'
import { z } from 'zod'
import { InvalidInputError, NotFoundError } from '../../errors.js'
import { carStream, HUB_INDEX_FORMAT, parseCid, releaseSchema } from '../../hub/index.js'
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
 * `GET /ipfs/{cid}` and `GET /releases` on the daemon (the hub's gateway protocol, authenticated like the API).
 *
 * @example
 * ```ts
 * hubRoutes.map((route) => route.path) // ['/ipfs/:cid', '/releases']
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
]
