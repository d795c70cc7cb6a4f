import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { runVerity } from '../e2e/run-process.js'
import { MODEL_DIR } from '../hub/files.js'
import { startTestDaemon, type TestDaemon } from './daemon-harness.js'

/**
 * The hub's trustless-gateway routes on the daemon, exercised with the hub's own pull client (`verity hub pull
 * --from DAEMON --token TOKEN`): a release published into the daemon's hub is pulled, checked block by block and
 * by signature, and installed; without a token or with a token of another scope the daemon refuses.
 */
const work = mkdtempSync(join(tmpdir(), 'verity-daemon-hub-'))
let daemon: TestDaemon
let release: { id: string; packageCid: string; publisher: string }

beforeAll(async () => {
  const hubDirectory = join(work, 'served-hub')
  const hub = await openHub({ dir: hubDirectory })
  release = (await publishRelease({ hub, dir: MODEL_DIR, signer: createKeySigner({ privateKey: `0x${'42'.repeat(32)}` }) }))
    .release
  daemon = await startTestDaemon({ hubDirectory })
}, 120_000)

afterAll(async () => {
  await daemon?.dispose()
  rmSync(work, { recursive: true, force: true })
})

describe('hub routes on the daemon', () => {
  it('`verity hub pull --from DAEMON` pulls a signed release with a read:agent token, and is refused without one', async () => {
    const token = daemon.token('alice', ['read:agent'])
    const consumer = { VERITY_HUB_HOME: join(work, 'consumer-hub'), VERITY_HUB_TOKEN: '' }
    const to = join(work, 'pulled')
    const refused = await runVerity(['hub', 'pull', 'transaction-risk', '--from', daemon.url, '--to', to, '--json'], consumer)
    expect(refused.code).toBe(1)
    const pulled = await runVerity(
      [
        'hub',
        'pull',
        `${release.publisher}/transaction-risk@1.0.0`,
        '--from',
        daemon.url,
        '--token',
        token,
        '--to',
        to,
        '--json',
      ],
      consumer,
    )
    expect(pulled.code, pulled.stderr).toBe(0)
    const output = JSON.parse(pulled.stdout) as { cid: string; fetchedBlocks: number; release: { id: string } }
    expect(output.cid).toBe(release.packageCid)
    expect(output.fetchedBlocks).toBeGreaterThan(0)
    expect(output.release.id).toBe(release.id)
    // The installed package is byte for byte the published one.
    const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')
    expect(digest(join(to, 'verity-model.json'))).toBe(digest(join(MODEL_DIR, 'verity-model.json')))
  }, 300_000)

  it('answers raw blocks and the release index under the same auth rules as the API', async () => {
    const reader = daemon.token('alice', ['read:agent'])
    const vaultOnly = daemon.token('alice', ['admin:vault'])
    const raw = await fetch(`${daemon.url}/ipfs/${release.packageCid}`, {
      headers: { authorization: `Bearer ${reader}`, accept: 'application/vnd.ipld.raw' },
    })
    expect(raw.status).toBe(200)
    expect(raw.headers.get('content-type')).toBe('application/vnd.ipld.raw')
    expect(raw.headers.get('x-ipfs-roots')).toBe(release.packageCid)
    expect((await raw.arrayBuffer()).byteLength).toBeGreaterThan(0)

    const index = await daemon.call('/releases', { token: reader })
    expect(index.status).toBe(200)
    const body = (await index.json()) as { format: string; releases: { id: string }[] }
    expect(body.format).toBe('verity-hub-index/v1')
    expect(body.releases.map((entry) => entry.id)).toContain(release.id)

    expect((await daemon.call('/releases', {})).status).toBe(401)
    expect((await daemon.call('/releases', { token: vaultOnly })).status).toBe(403)
    const unknown = await fetch(`${daemon.url}/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku?format=raw`, {
      headers: { authorization: `Bearer ${reader}` },
    })
    expect(unknown.status).toBe(404)
    const unnegotiated = await fetch(`${daemon.url}/ipfs/${release.packageCid}`, {
      headers: { authorization: `Bearer ${reader}` },
    })
    expect(unnegotiated.status).toBe(400)
  })

  it('publishes a package folder of the daemon host as a release signed by the daemon identity (admin:agent only)', async () => {
    const admin = daemon.token('alice', ['admin:agent'])
    const writer = daemon.token('alice', ['write:agent'])
    const body = { path: MODEL_DIR, version: '1.0.1' }
    expect((await daemon.call('/v1/hub/releases', { token: writer, body })).status).toBe(403)
    const published = await daemon.call('/v1/hub/releases', { token: admin, body })
    expect(published.status).toBe(200)
    const { release: made, newBlocks } = (await published.json()) as {
      release: { id: string; publisher: string; version: string; packageCid: string }
      newBlocks: number
    }
    expect(made.publisher.toLowerCase()).toBe(daemon.services.identity.address.toLowerCase())
    expect(made.version).toBe('1.0.1')
    expect(made.packageCid).toBe(release.packageCid) // same content, same CID: no new package blocks
    expect(newBlocks).toBe(0)
    const index = (await (await daemon.call('/releases', { token: admin })).json()) as { releases: { id: string }[] }
    expect(index.releases.map((entry) => entry.id)).toContain(made.id)
  })
})
