import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { CID } from 'multiformats/cid'
import { z } from 'zod'
import { constantTimeEqual, utf8ToBytes } from '../crypto/bytes.js'
import { isVerityError, NotFoundError } from '../errors.js'
import { parseInput } from '../validation.js'
import { parseCid } from './block-check.js'
import { carStream } from './car-file.js'
import type { Hub } from './open-hub.js'

/**
 * `verity hub serve`: the IPFS trustless gateway protocol for the blocks a hub holds
 * (`GET /ipfs/{cid}` answered as `application/vnd.ipld.raw` or `application/vnd.ipld.car`, chosen by
 * `Accept` or `?format=`), plus `GET /releases`, the hub's index of signed releases. Clients check
 * every block against its CID and every release against its signature, so the server is not trusted
 * with content; a bearer token still guards every route unless the operator serves it publicly.
 */

/** Format tag of the release index. */
export const HUB_INDEX_FORMAT = 'verity-hub-index/v1'

export type StartHubGatewayParameters = {
  hub: Hub
  /** Default `127.0.0.1`. */
  host?: string | undefined
  /** Default 0 (any free port). */
  port?: number | undefined
  /** Bearer token every request must carry; omit only with `public: true`. */
  token?: string | undefined
  /** Serve without a token (content and releases are verifiable, so this is safe to read; say so explicitly). */
  public?: boolean | undefined
}
export type StartHubGatewayReturnType = { url: string; close: () => Promise<void> }

const schema = z
  .object({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    token: z.string().min(16, 'at least 16 characters').optional(),
    public: z.boolean().optional(),
  })
  .refine((value) => value.public === true || value.token !== undefined, 'pass a token, or public: true')

type Format = 'raw' | 'car'

function negotiate(request: IncomingMessage, url: URL): Format | undefined {
  const format = url.searchParams.get('format')
  if (format === 'raw' || format === 'car') return format
  const accept = request.headers.accept ?? ''
  if (accept.includes('application/vnd.ipld.car')) return 'car'
  if (accept.includes('application/vnd.ipld.raw')) return 'raw'
  return undefined
}

function send(response: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'Content-Type': type, 'X-Content-Type-Options': 'nosniff' })
  response.end(body)
}

/**
 * Starts the gateway on `127.0.0.1`.
 *
 * @example
 * ```ts
 * const gateway = await startHubGateway({ hub, token })
 * await fetch(`${gateway.url}/ipfs/${cid}?format=car`, { headers: { authorization: `Bearer ${token}` } })
 * await gateway.close()
 * ```
 */
export async function startHubGateway(parameters: StartHubGatewayParameters): Promise<StartHubGatewayReturnType> {
  const input = parseInput(schema, parameters, { what: 'startHubGateway parameters', docsPath: 'hub.md' })
  const { hub } = parameters
  const expected = input.token ? utf8ToBytes(`Bearer ${input.token}`) : undefined
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (expected && !constantTimeEqual(utf8ToBytes(request.headers.authorization ?? ''), expected)) {
      response.setHeader('WWW-Authenticate', 'Bearer')
      return send(response, 401, 'missing or wrong bearer token\n')
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'GET or HEAD only\n')
    const url = new URL(request.url ?? '/', 'http://localhost')
    if (url.pathname === '/releases') {
      const releases = hub.releases.all()
      return send(response, 200, JSON.stringify({ format: HUB_INDEX_FORMAT, releases }), 'application/json')
    }
    const match = /^\/ipfs\/([^/]+)(\/.*)?$/.exec(url.pathname)
    if (!match) return send(response, 404, 'not found\n')
    if (match[2] && match[2] !== '/') return send(response, 501, 'paths under a CID are not served; ask for the root CID\n')
    let cid: CID
    try {
      cid = parseCid(decodeURIComponent(match[1] as string))
    } catch {
      return send(response, 400, 'not a supported CID\n')
    }
    const format = negotiate(request, url)
    if (!format) return send(response, 406, 'ask for application/vnd.ipld.raw or application/vnd.ipld.car (or ?format=raw|car)\n')
    if (!(await hub.blocks.has(cid))) return send(response, 404, `${cid.toString()} is not in this hub\n`)
    const headers = {
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'public, max-age=29030400, immutable',
      Etag: `"${cid.toString()}.${format}"`,
      'X-Ipfs-Roots': cid.toString(),
    }
    if (format === 'raw') {
      const bytes = await hub.blocks.getBytes(cid)
      response.writeHead(200, { ...headers, 'Content-Type': 'application/vnd.ipld.raw', 'Content-Length': bytes.length })
      response.end(request.method === 'HEAD' ? undefined : bytes)
      return
    }
    response.writeHead(200, { ...headers, 'Content-Type': 'application/vnd.ipld.car; version=1; order=dfs; dups=n' })
    if (request.method === 'HEAD') return void response.end()
    // a block that fails its check mid-stream aborts the response: the client sees a truncated CAR
    await pipeline(Readable.from(carStream({ root: cid, blockstore: hub.blocks })), response)
  }
  const server = createServer((request, response) => {
    handle(request, response).catch((error) => {
      if (response.headersSent) return void response.destroy()
      if (isVerityError(error) && error instanceof NotFoundError) return send(response, 404, `${error.shortMessage}\n`)
      send(response, 500, `${isVerityError(error) ? error.shortMessage : 'internal error'}\n`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(input.port ?? 0, input.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
