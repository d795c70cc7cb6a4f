import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BlockIntegrityError, ReleaseVerificationError } from '../../src/errors.js'
import { startHubGateway } from '../../src/hub/gateway-server.js'
import { type Hub, openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { fetchReleaseIndex, pickRelease, pullPackage } from '../../src/hub/pull-package.js'
import type { Release } from '../../src/hub/release.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { MODEL_DIR } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-gateway-'))
const token = 'a-test-token-of-enough-length'
const signer = createKeySigner({ privateKey: `0x${'44'.repeat(32)}` })
let source: Hub
let release: Release
let gateway: { url: string; close: () => Promise<void> }

beforeAll(async () => {
  source = await openHub({ dir: join(work, 'source-hub') })
  ;({ release } = await publishRelease({ hub: source, dir: MODEL_DIR, signer }))
  gateway = await startHubGateway({ hub: source, token })
})
afterAll(async () => {
  await gateway?.close()
  rmSync(work, { recursive: true, force: true })
})

/** A man in the middle: forwards to the real gateway and lets a test rewrite responses. */
async function startProxy(
  rewrite: (path: string, body: Buffer) => { status?: number; body: Buffer },
): Promise<{ url: string; server: Server }> {
  const server = createServer(async (request, response) => {
    const upstream = await fetch(`${gateway.url}${request.url}`, {
      headers: { accept: request.headers.accept ?? '*/*', authorization: request.headers.authorization ?? '' },
    })
    const { status, body } = rewrite(request.url ?? '', Buffer.from(await upstream.arrayBuffer()))
    response.writeHead(status ?? upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
    })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

describe('hub serve: the trustless gateway protocol', () => {
  it('answers raw blocks and CARs, and refuses requests without the token', async () => {
    const unauthorised = await fetch(`${gateway.url}/ipfs/${release.packageCid}?format=raw`)
    expect(unauthorised.status).toBe(401)
    const headers = { authorization: `Bearer ${token}` }
    const raw = await fetch(`${gateway.url}/ipfs/${release.packageCid}`, {
      headers: { ...headers, accept: 'application/vnd.ipld.raw' },
    })
    expect(raw.status).toBe(200)
    expect(raw.headers.get('content-type')).toBe('application/vnd.ipld.raw')
    expect(
      Buffer.from(await raw.arrayBuffer()).equals(
        Buffer.from(await source.blocks.getBytes((await import('multiformats/cid')).CID.parse(release.packageCid))),
      ),
    ).toBe(true)
    const car = await fetch(`${gateway.url}/ipfs/${release.packageCid}?format=car`, { headers })
    expect(car.headers.get('content-type')).toMatch(/^application\/vnd\.ipld\.car/)
    expect((await car.arrayBuffer()).byteLength).toBeGreaterThan(release.details.package.bytes)
    const missing = await fetch(`${gateway.url}/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw`, {
      headers,
    })
    expect(missing.status).toBe(404)
    const html = await fetch(`${gateway.url}/ipfs/${release.packageCid}`, { headers: { ...headers, accept: 'text/html' } })
    expect(html.status).toBe(406)
  })

  it('pull by name: the signed index is checked, the package installed, the release kept', async () => {
    const hub = await openHub({ dir: join(work, 'pull-by-name') })
    const releases = await fetchReleaseIndex({ from: gateway.url, token })
    const picked = pickRelease(releases, { name: 'transaction-risk' })
    expect(picked?.id).toBe(release.id)
    const to = join(work, 'by-name-package')
    const pulled = await pullPackage({ hub, cid: picked?.packageCid ?? '', from: gateway.url, token, to })
    expect(pulled.fetchedBlocks).toBe(pulled.blocks)
    await hub.releases.save(picked)
    expect(loadModelPackage({ dir: to }).manifest.name).toBe('transaction-risk')
  })

  it('a tampered block in the CAR is refused and nothing is installed', async () => {
    const proxy = await startProxy((path, body) => {
      if (!path.includes('format=car')) return { body }
      const copy = Buffer.from(body)
      copy.writeUInt8(copy.readUInt8(copy.length - 5) ^ 0x01, copy.length - 5) // inside the last block's bytes
      return { body: copy }
    })
    const hub = await openHub({ dir: join(work, 'pull-tampered-car') })
    const to = join(work, 'tampered-car-package')
    await expect(pullPackage({ hub, cid: release.packageCid, from: proxy.url, token, to })).rejects.toThrow(BlockIntegrityError)
    expect(existsSync(to)).toBe(false)
    expect(readdirSync(hub.blocks.dir)).toEqual([])
    proxy.server.close()
  })

  it('a substituted raw block (gateway without CARs) is refused and nothing is installed', async () => {
    const blocks = new Map<string, Buffer>()
    const proxy = await startProxy((path, body) => {
      if (path.includes('format=car')) return { status: 501, body: Buffer.from('no CARs here') }
      blocks.set(path, body)
      // serve the previous block asked for in place of this one once a few have gone through
      if (blocks.size === 4) return { body: [...blocks.values()][1] as Buffer }
      return { body }
    })
    const hub = await openHub({ dir: join(work, 'pull-substituted') })
    const to = join(work, 'substituted-package')
    await expect(pullPackage({ hub, cid: release.packageCid, from: proxy.url, token, to })).rejects.toThrow(
      /does not match its CID/,
    )
    expect(existsSync(to)).toBe(false)
    expect(readdirSync(hub.blocks.dir)).toEqual([])
    proxy.server.close()
  })

  it('an altered release in a hub’s index is refused', async () => {
    const proxy = await startProxy((path, body) => {
      if (path !== '/releases') return { body }
      const index = JSON.parse(body.toString())
      index.releases[0].packageCid = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
      index.releases[0].details.package.cid = index.releases[0].packageCid
      return { body: Buffer.from(JSON.stringify(index)) }
    })
    await expect(fetchReleaseIndex({ from: proxy.url, token })).rejects.toThrow(ReleaseVerificationError)
    proxy.server.close()
  })
})
