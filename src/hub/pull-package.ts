import { rm } from 'node:fs/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { CID } from 'multiformats/cid'
import semver from 'semver'
import { z } from 'zod'
import { BlockIntegrityError, InvalidInputError, NetworkError, NotFoundError } from '../errors.js'
import { parseInput } from '../validation.js'
import type { HubProgress } from './add-folder.js'
import { checkBlock, parseCid } from './block-check.js'
import { importCar } from './car-file.js'
import { walkDag } from './dag-walk.js'
import { exportFolder } from './export-folder.js'
import { HUB_INDEX_FORMAT } from './gateway-server.js'
import type { Hub } from './open-hub.js'
import { type Release, verifyRelease } from './release.js'
import type { ReleaseReference } from './release-store.js'
import { MAX_BLOCK_BYTES, RAW_CODE } from './unixfs-settings.js'

const NO_BYTES = new Uint8Array(0)

export type PullPackageParameters = {
  hub: Hub
  /** The package (UnixFS directory) CID. */
  cid: string
  /** A Verity hub or any IPFS gateway (trustless: `/ipfs/{cid}` as CAR or raw blocks). Omit to use local blocks. */
  from?: string | undefined
  /** Bearer token for a Verity hub that asks for one. */
  token?: string | undefined
  /** Install the package folder here (must not exist). */
  to?: string | undefined
  /** Per-request timeout (default 120 s). */
  timeoutMs?: number | undefined
  onProgress?: HubProgress | undefined
}
export type PullPackageReturnType = {
  cid: CID
  blocks: number
  fetchedBlocks: number
  fetchedBytes: number
  dir: string | undefined
}

const schema = z.object({
  cid: z.string().min(1),
  from: z.string().url().optional(),
  token: z.string().min(1).optional(),
  to: z.string().min(1).optional(),
  timeoutMs: z.number().int().positive().optional(),
})

function gatewayFetch(base: string, path: string, accept: string, token: string | undefined, timeoutMs: number) {
  const url = `${base.replace(/\/+$/, '')}${path}`
  return fetch(url, {
    headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  }).catch((cause) => {
    throw new NetworkError('Could not reach the gateway', { details: `${url}: ${(cause as Error).message}`, cause })
  })
}

/**
 * A GET whose body is read as a Node stream: the CAR of a whole package goes through `node:http`
 * (fetch's web streams cost more CPU per byte: a 100 MB loopback download took 0.42–0.78 s of CPU
 * with fetch, 0.29–0.37 s with `node:http`, server included); small requests keep `fetch`.
 * Redirects are refused like `fetch(..., { redirect: 'error' })`.
 */
function gatewayStream(base: string, path: string, accept: string, token: string | undefined, timeoutMs: number) {
  const url = new URL(`${base.replace(/\/+$/, '')}${path}`)
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = request(url, {
      headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    })
    outgoing.once('response', (response) => {
      const code = response.statusCode ?? 0
      if (code >= 300 && code < 400) {
        response.destroy()
        return reject(new Error(`redirected (HTTP ${code}); redirects are not followed`))
      }
      resolve(response)
    })
    outgoing.once('error', reject)
    outgoing.end()
  }).catch((cause) => {
    throw new NetworkError('Could not reach the gateway', { details: `${url}: ${(cause as Error).message}`, cause })
  })
}

/**
 * Pulls a package by CID: from `from` (a Verity hub or any IPFS trustless gateway, e.g. kubo's),
 * first as one CAR, then raw block by raw block for anything the CAR lacked. Every block is checked
 * against its CID as it arrives and goes into a batch of the hub's blockstore; only when the whole
 * DAG is present and checked is the batch committed and the folder written (itself all or nothing);
 * a failed pull discards the batch. A tampered or substituted block throws {@link BlockIntegrityError} and installs nothing.
 *
 * @example
 * ```ts
 * await pullPackage({ hub, cid: 'bafybei…', from: 'http://127.0.0.1:8080', to: 'models/risk' })
 * loadModelPackage({ dir: 'models/risk' })
 * ```
 */
export async function pullPackage(parameters: PullPackageParameters): Promise<PullPackageReturnType> {
  const input = parseInput(schema, parameters, { what: 'pullPackage parameters', docsPath: 'hub.md' })
  const { hub, onProgress } = parameters
  const root = parseCid(input.cid)
  const timeoutMs = input.timeoutMs ?? 120_000
  // fetched blocks go into a batch of the hub's store: committed once the whole DAG is here and
  // checked, discarded otherwise (a failed pull leaves no block and no folder)
  const batch = hub.blocks.batch()
  let fetchedBlocks = 0
  let fetchedBytes = 0
  try {
    if (input.from) {
      const response = await gatewayStream(
        input.from,
        `/ipfs/${root.toString()}?format=car&dag-scope=all`,
        'application/vnd.ipld.car',
        input.token,
        timeoutMs,
      )
      try {
        const status = response.statusCode ?? 0
        if (status >= 200 && status < 300) {
          const { blocks, bytes } = await importCar({
            source: response,
            batch,
            label: input.from,
            requireComplete: false,
            maxBlockBytes: MAX_BLOCK_BYTES,
            onProgress: (event) => onProgress?.({ phase: 'fetching', done: event.done, total: event.total }),
          })
          fetchedBlocks += blocks
          fetchedBytes += bytes
        }
      } finally {
        response.destroy() // read to its end, refused midway, or not a CAR: done with it
      }
    }
    /** Blocks this pull fetched and checked on arrival (moments ago, in this process). */
    const fetched = new Set<string>()
    const getBlock = async (cid: CID): Promise<Uint8Array> => {
      if (await batch.has(cid)) {
        // a raw block has no links, and a fetched one was checked on arrival: the walk needs only its presence
        if (cid.code === RAW_CODE) {
          if (hub.blocks.locate(cid) === undefined) fetched.add(cid.toString())
          return NO_BYTES
        }
        return batch.getBytes(cid)
      }
      if (!input.from)
        throw new NotFoundError('Package block not in this hub', {
          details: cid.toString(),
          hint: 'Pull it from a hub or gateway: verity hub pull CID --from URL.',
          docsPath: 'hub.md',
        })
      const response = await gatewayFetch(
        input.from,
        `/ipfs/${cid.toString()}?format=raw`,
        'application/vnd.ipld.raw',
        input.token,
        timeoutMs,
      )
      if (!response.ok) {
        await response.body?.cancel()
        throw new NotFoundError('Gateway does not have a block of the package', {
          details: `${input.from}: ${cid.toString()}: HTTP ${response.status}`,
          docsPath: 'hub.md',
        })
      }
      const length = Number(response.headers.get('content-length') ?? '0')
      if (length > MAX_BLOCK_BYTES)
        throw new BlockIntegrityError('Block too large', { details: `${cid.toString()}: ${length} bytes` })
      const bytes = new Uint8Array(await response.arrayBuffer())
      if (bytes.length > MAX_BLOCK_BYTES)
        throw new BlockIntegrityError('Block too large', { details: `${cid.toString()}: ${bytes.length} bytes` })
      checkBlock({ cid, bytes, source: input.from })
      await batch.putComputed(cid, bytes)
      fetched.add(cid.toString())
      fetchedBlocks += 1
      fetchedBytes += bytes.length
      onProgress?.({ phase: 'fetching', done: fetchedBlocks, total: fetchedBlocks })
      return bytes
    }
    let blocks = 0
    for await (const _ of walkDag({ root, getBlock })) blocks += 1
    // the whole DAG is here and checked: commit the batch (pack fsynced, then its index) while the
    // folder is written; blocks this pull fetched are not hashed again, blocks the hub already held are
    const getBytes = (cid: CID) => batch.getBytes(cid, { alreadyChecked: fetched.has(cid.toString()) })
    const view = {
      getBytes,
      async *get(cid: CID) {
        yield await getBytes(cid)
      },
    }
    const [stored, exported] = await Promise.allSettled([
      batch.commit(),
      input.to ? exportFolder({ cid: root, blockstore: view, to: input.to, onProgress }) : undefined,
    ])
    if (stored.status === 'rejected') {
      // a pull reported as failed installs nothing
      if (exported.status === 'fulfilled' && exported.value) await rm(exported.value.dir, { recursive: true, force: true })
      throw stored.reason
    }
    if (exported.status === 'rejected') throw exported.reason
    const installed = exported.value
    return { cid: root, blocks, fetchedBlocks, fetchedBytes, dir: installed?.dir }
  } finally {
    await batch.discard() // nothing once committed
  }
}

export type FetchReleaseIndexParameters = { from: string; token?: string | undefined; timeoutMs?: number | undefined }
export type FetchReleaseIndexReturnType = Release[]

/**
 * Reads a Verity hub's release index (`GET /releases`) and verifies every release's signature;
 * an altered or forged release throws {@link ReleaseVerificationError}.
 *
 * @example
 * ```ts
 * const releases = await fetchReleaseIndex({ from: 'http://127.0.0.1:4100', token })
 * ```
 */
export async function fetchReleaseIndex(parameters: FetchReleaseIndexParameters): Promise<FetchReleaseIndexReturnType> {
  const input = parseInput(
    z.object({ from: z.string().url(), token: z.string().optional(), timeoutMs: z.number().int().positive().optional() }),
    parameters,
    { what: 'fetchReleaseIndex parameters' },
  )
  const response = await gatewayFetch(input.from, '/releases', 'application/json', input.token, input.timeoutMs ?? 30_000)
  if (!response.ok) {
    await response.body?.cancel()
    throw new NetworkError('The hub did not return its release index', {
      details: `${input.from}/releases: HTTP ${response.status}`,
      hint:
        response.status === 401
          ? 'Pass the hub’s token (--token or VERITY_HUB_TOKEN).'
          : 'Is it a Verity hub? Plain IPFS gateways serve CIDs only.',
    })
  }
  const index = (await response.json()) as { format?: unknown; releases?: unknown }
  if (index.format !== HUB_INDEX_FORMAT || !Array.isArray(index.releases))
    throw new NetworkError('Not a Verity hub index', { details: `${input.from}/releases` })
  return index.releases.map((release) => verifyRelease(release))
}

/**
 * The release a reference names among `releases` (highest version when none is given).
 *
 * @example
 * ```ts
 * pickRelease(await fetchReleaseIndex({ from }), { name: 'transaction-risk' })
 * ```
 */
export function pickRelease(releases: Release[], reference: ReleaseReference): Release | undefined {
  const matching = releases.filter(
    (release) =>
      release.name === reference.name &&
      (!reference.publisher || release.publisher.toLowerCase() === reference.publisher.toLowerCase()) &&
      (!reference.version || release.version === reference.version),
  )
  const publishers = new Set(matching.map((release) => release.publisher.toLowerCase()))
  if (publishers.size > 1)
    throw new InvalidInputError('Several publishers have a release of this name', {
      details: `${reference.name}: ${[...publishers].join(', ')}`,
      hint: 'Name the publisher: 0xPUBLISHER/NAME@VERSION.',
    })
  return matching.sort((a, b) => semver.rcompare(a.version, b.version))[0]
}
