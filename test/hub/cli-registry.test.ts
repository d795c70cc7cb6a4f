import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectChain } from '../../src/chain/chain-client.js'
import { openReleaseRegistry } from '../../src/chain/release-registry.js'
import { startHubGateway } from '../../src/hub/gateway-server.js'
import { openHub } from '../../src/hub/open-hub.js'
import type { Release } from '../../src/hub/release.js'
import { registryRecord } from '../../src/hub/release-registry.js'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { DEV_KEYS, startHardhatNode } from '../chain/helpers.js'
import { runVerity } from '../e2e/run-process.js'
import { MODEL_DIR } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-cli-registry-'))
const passphrase = 'hub registry cli passphrase'

function errorJson(stderr: string): { code: string; shortMessage: string; meta?: Record<string, unknown> } {
  return (JSON.parse(stderr.slice(stderr.indexOf('{\n'))) as { error: { code: string; shortMessage: string } }).error
}

describe('verity hub publish|pull --registry (CLI against a hardhat node process)', { timeout: 600_000 }, () => {
  let node: { rpc: string; stop(): Promise<void> }
  let gateway: { url: string; close(): Promise<void> } | undefined
  let registryAddress: string
  const token = 'cli-registry-token'
  // two publishers whose keystores hold funded dev keys (the hub signs and the chain sends with the same key)
  const publisher = join(work, 'publisher')
  const stranger = join(work, 'stranger')
  const environment = { VERITY_PASSPHRASE: passphrase }
  /** `verity hub COMMAND SUBJECT --registry <this test's registry> --rpc <the node> --FLAG VALUE... --json`. */
  const viaRegistry = (command: string, subject: string, flags: Record<string, string>, env: Record<string, string>) =>
    runVerity(
      [
        'hub',
        command,
        subject,
        '--registry',
        registryAddress,
        '--rpc',
        node.rpc,
        ...Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, value]),
        '--json',
      ],
      env,
    )
  beforeAll(async () => {
    node = await startHardhatNode()
    await createAgentIdentity({ home: publisher, passphrase, scrypt: { N: 1024 }, privateKey: DEV_KEYS[1] })
    await createAgentIdentity({ home: stranger, passphrase, scrypt: { N: 1024 }, privateKey: DEV_KEYS[2] })
    const deployed = await runVerity(
      ['chain', 'deploy', 'ModelRegistry', '--rpc', node.rpc, '--home', publisher, '--json'],
      environment,
    )
    expect(deployed.code, deployed.stderr).toBe(0)
    registryAddress = (JSON.parse(deployed.stdout) as { address: string }).address
  }, 300_000)
  afterAll(async () => {
    await gateway?.close()
    await node?.stop()
    rmSync(work, { recursive: true, force: true })
  })

  it('publishes into the registry (tx hash printed), pulls by name through it into another hub, and refuses a stranger', async () => {
    const publisherHub = join(work, 'publisher-hub')
    const published = await viaRegistry('publish', MODEL_DIR, { home: publisher, hub: publisherHub }, environment)
    expect(published.code, published.stderr).toBe(0)
    const { release, registry } = JSON.parse(published.stdout) as {
      release: Release
      registry: { address: string; chainId: number; transaction: string }
    }
    expect(registry).toMatchObject({ address: registryAddress, chainId: 31337 })
    const client = await connectChain({ rpc: node.rpc, privateKey: DEV_KEYS[0] })
    try {
      const receipt = await client.provider.getTransactionReceipt(registry.transaction)
      expect(receipt?.status).toBe(1)
      expect(receipt?.to?.toLowerCase()).toBe(registryAddress.toLowerCase())
      expect(receipt?.from.toLowerCase()).toBe(release.publisher.toLowerCase())
    } finally {
      await client.close()
    }

    // the same name from another key: the contract refuses, and the stranger's hub keeps no release
    const strangerHub = join(work, 'stranger-hub')
    const refused = await viaRegistry('publish', MODEL_DIR, { home: stranger, hub: strangerHub }, environment)
    expect(refused.code).toBe(1)
    expect(errorJson(refused.stderr)).toMatchObject({
      code: 'VERITY_CHAIN',
      meta: { reason: expect.stringMatching(/^NotPublisher\(/) },
    })
    const listed = await runVerity(['hub', 'list', '--hub', strangerHub, '--json'], environment)
    expect(JSON.parse(listed.stdout).releases).toEqual([])

    gateway = await startHubGateway({ hub: await openHub({ dir: publisherHub }), token })
    const consumerHub = join(work, 'consumer-hub')
    const to = join(work, 'pulled')
    const pulled = await viaRegistry('pull', 'transaction-risk@1.0.0', { from: gateway.url, token, hub: consumerHub, to }, {})
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(JSON.parse(pulled.stdout)).toMatchObject({
      cid: release.packageCid,
      release: { id: release.id },
      registry: { address: registryAddress, chainId: 31337 },
    })
    expect(loadModelPackage({ dir: to, skipEngineValidation: true }).digest).toBe(
      loadModelPackage({ dir: MODEL_DIR, skipEngineValidation: true }).digest,
    )

    // `hub register` sends an existing release; a registered version is immutable on chain
    const again = await viaRegistry('register', 'transaction-risk@1.0.0', { home: publisher, hub: publisherHub }, environment)
    expect(again.code).toBe(1)
    expect(errorJson(again.stderr).meta).toMatchObject({ reason: 'VersionExists(transaction-risk, 1.0.0)' })
  })

  it('refuses a registry entry naming a CID whose signed release is another publisher’s or another version: nothing installed', async () => {
    const publisherHub = join(work, 'publisher-hub')
    // the publisher signs fresh-model@1.0.0 without registering it...
    const fresh = await runVerity(
      ['hub', 'publish', MODEL_DIR, '--name', 'fresh-model', '--home', publisher, '--hub', publisherHub, '--json'],
      environment,
    )
    expect(fresh.code, fresh.stderr).toBe(0)
    const freshRelease = (JSON.parse(fresh.stdout) as { release: Release }).release
    const original = (await openHub({ dir: publisherHub })).releases.resolve({ name: 'transaction-risk', version: '1.0.0' })
    // ...the stranger claims the name first and points it at that package; the publisher registers 2.0.0 -> 1.0.0's package
    for (const [key, record] of [
      [DEV_KEYS[2], registryRecord({ release: freshRelease, chainId: 31337 })],
      [DEV_KEYS[1], { ...registryRecord({ release: original, chainId: 31337 }), version: '2.0.0' }],
    ] as const) {
      const client = await connectChain({ rpc: node.rpc, privateKey: key })
      try {
        await (await openReleaseRegistry({ client, address: registryAddress })).register(record)
      } finally {
        await client.close()
      }
    }
    for (const [reference, field] of [
      ['fresh-model@1.0.0', 'publisher'],
      ['transaction-risk@2.0.0', 'version'],
    ] as const) {
      const consumerHub = join(work, `consumer-${field}`)
      const to = join(work, `refused-${field}`)
      const pulled = await viaRegistry('pull', reference, { from: gateway?.url as string, token, hub: consumerHub, to }, {})
      expect(pulled.code, pulled.stderr).toBe(1)
      expect(errorJson(pulled.stderr)).toMatchObject({ code: 'VERITY_REGISTRY_MISMATCH', meta: { fields: [field] } })
      expect(existsSync(to)).toBe(false)
      expect((await openHub({ dir: consumerHub })).releases.all()).toEqual([])
    }
  })
})
