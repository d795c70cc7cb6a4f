import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChainClient } from '../../src/chain/chain-client.js'
import { type ModelReleaseRegistry, openReleaseRegistry } from '../../src/chain/release-registry.js'
import { deployVerityContract } from '../../src/chain/verity-contracts.js'
import { ChainError, InvalidInputError, NotFoundError, RegistryMismatchError } from '../../src/errors.js'
import { startHubGateway } from '../../src/hub/gateway-server.js'
import { type Hub, openHub } from '../../src/hub/open-hub.js'
import { forkRelease, publishRelease } from '../../src/hub/publish-release.js'
import { fetchReleaseIndex, pullPackage } from '../../src/hub/pull-package.js'
import type { Release } from '../../src/hub/release.js'
import {
  checkRegistryEntry,
  type ReleaseRegistry,
  type ReleaseRegistryEntry,
  registryRecord,
  resolveRegisteredRelease,
} from '../../src/hub/release-registry.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { DEV_KEYS, openNetwork } from '../chain/helpers.js'
import { MODEL_DIR } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-registry-'))
const VERIFIER = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
// the in-process Hardhat chain's accounts 0 and 1 are these keys: the hub signs with the key the chain sends with
const alice = createKeySigner({ privateKey: DEV_KEYS[0] as string })
const bob = createKeySigner({ privateKey: DEV_KEYS[1] as string })

async function expectRejection<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(type)
  return error as T
}

describe('hub releases in an on-chain ModelRegistry (Hardhat in-process)', { timeout: 300_000 }, () => {
  let close: () => Promise<void>
  let aliceRegistry: ModelReleaseRegistry
  let bobRegistry: ModelReleaseRegistry
  let aliceHub: Hub
  let gateway: { url: string; close(): Promise<void> }
  let published: Release
  const token = 'registry-test-token'

  beforeAll(async () => {
    const opened = await openNetwork('in-process', 2)
    close = opened.close
    const [aliceClient, bobClient] = opened.clients as [ChainClient, ChainClient]
    expect([aliceClient.address, bobClient.address]).toEqual([alice.address, bob.address])
    const { address } = await deployVerityContract({ client: aliceClient, name: 'ModelRegistry' })
    aliceRegistry = await openReleaseRegistry({ client: aliceClient, address })
    bobRegistry = await openReleaseRegistry({ client: bobClient, address })
    aliceHub = await openHub({ dir: join(work, 'alice-hub') })
    gateway = await startHubGateway({ hub: aliceHub, token })
  }, 180_000)
  afterAll(async () => {
    await gateway?.close()
    await close?.()
    rmSync(work, { recursive: true, force: true })
  })

  it('publish records the release on chain; another hub resolves NAME@VERSION through the registry and pulls it', async () => {
    // the chain room's object is the hub's extension point, checked by the compiler
    const registry: ReleaseRegistry = aliceRegistry
    const result = await publishRelease({
      hub: aliceHub,
      dir: MODEL_DIR,
      signer: alice,
      verifier: { chainId: 31337, address: VERIFIER },
      registry,
    })
    published = result.release
    expect(result.registration?.transaction).toMatch(/^0x[0-9a-f]{64}$/)
    const model = loadModelPackage({ dir: MODEL_DIR, skipEngineValidation: true })
    const entry = await aliceRegistry.lookup({ name: 'transaction-risk', version: '1.0.0' })
    expect(entry).toMatchObject({
      name: 'transaction-risk',
      version: '1.0.0',
      packageCid: published.packageCid,
      manifestDigest: `0x${model.digest.slice('sha256:'.length)}`,
      vkDigest: `0x${published.vkDigest.slice('sha256:'.length)}`,
      verifier: VERIFIER,
      parent: undefined,
      registeredBy: alice.address,
      nameOwner: alice.address,
    })

    const consumer = await openHub({ dir: join(work, 'consumer-hub') })
    const releases = await fetchReleaseIndex({ from: gateway.url, token })
    const resolved = await resolveRegisteredRelease({
      registry: bobRegistry,
      name: 'transaction-risk',
      version: '1.0.0',
      releases,
    })
    expect(resolved.release.id).toBe(published.id)
    const to = join(work, 'pulled')
    await pullPackage({ hub: consumer, cid: resolved.release.packageCid, from: gateway.url, token, to })
    expect(loadModelPackage({ dir: to, skipEngineValidation: true }).digest).toBe(model.digest)

    // a next version of the same name: no fork parent on chain; of the releases naming the same package, the matching one is picked
    const next = await publishRelease({ hub: aliceHub, dir: MODEL_DIR, signer: alice, version: '1.1.0', registry })
    expect(next.release.details.parent?.id).toBe(published.id)
    expect(await aliceRegistry.lookup({ name: 'transaction-risk', version: '1.1.0' })).toMatchObject({ parent: undefined })
    const again = await resolveRegisteredRelease({
      registry: bobRegistry,
      name: 'transaction-risk',
      version: '1.1.0',
      releases: await fetchReleaseIndex({ from: gateway.url, token }),
    })
    expect(again.release.id).toBe(next.release.id)
  })

  it('name ownership is the contract’s: another publisher cannot record into the name, and its hub keeps nothing', async () => {
    const bobHub = await openHub({ dir: join(work, 'bob-hub') })
    const error = await expectRejection(
      publishRelease({ hub: bobHub, dir: MODEL_DIR, signer: bob, registry: bobRegistry }),
      ChainError,
    )
    expect(error.meta).toMatchObject({ reason: `NotPublisher(${bob.address})` })
    expect(bobHub.releases.all()).toEqual([])
    // nor may a registry send as anyone but the signer
    await expectRejection(
      publishRelease({ hub: bobHub, dir: MODEL_DIR, signer: bob, registry: aliceRegistry }),
      InvalidInputError,
    )
    expect(bobHub.releases.all()).toEqual([])
  })

  it('refuses an entry whose CID’s signed release is another publisher’s or another version, and an unknown version', async () => {
    // Alice signs fresh-model@1.0.0 without registering it; Bob claims the name first and points it at her package
    const { release: fresh } = await publishRelease({ hub: aliceHub, dir: MODEL_DIR, signer: alice, name: 'fresh-model' })
    await bobRegistry.register(registryRecord({ release: fresh, chainId: bobRegistry.chainId }))
    const releases = await fetchReleaseIndex({ from: gateway.url, token })
    const stolen = await expectRejection(
      resolveRegisteredRelease({ registry: bobRegistry, name: 'fresh-model', version: '1.0.0', releases }),
      RegistryMismatchError,
    )
    expect(stolen.meta?.fields).toEqual(['publisher'])

    // Alice's registry entry 2.0.0 names the package of 1.0.0, whose signed release says 1.0.0
    await aliceRegistry.register({ ...registryRecord({ release: published, chainId: 31337 }), version: '2.0.0' })
    const renamed = await expectRejection(
      resolveRegisteredRelease({ registry: bobRegistry, name: 'transaction-risk', version: '2.0.0', releases }),
      RegistryMismatchError,
    )
    expect(renamed.meta?.fields).toEqual(['version'])

    await expectRejection(
      resolveRegisteredRelease({ registry: bobRegistry, name: 'transaction-risk', version: '9.9.9', releases }),
      NotFoundError,
    )
    // the registry alone is not trusted: without a signed release naming the CID nothing resolves
    await expectRejection(
      resolveRegisteredRelease({ registry: bobRegistry, name: 'transaction-risk', version: '1.0.0', releases: [] }),
      NotFoundError,
    )
  })

  it('checks every registered field against the signed release', async () => {
    const entry = (await aliceRegistry.lookup({ name: 'transaction-risk', version: '1.0.0' })) as ReleaseRegistryEntry
    expect(() => checkRegistryEntry({ entry, release: published, chainId: 31337 })).not.toThrow()
    const other = `0x${'ab'.repeat(32)}`
    const altered: [string, Partial<ReleaseRegistryEntry>][] = [
      ['name', { name: 'transaction-risk-2' }],
      ['packageCid', { packageCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' }],
      ['manifestDigest', { manifestDigest: other }],
      ['vkDigest', { vkDigest: other }],
      ['verifier', { verifier: undefined }],
      ['parent', { parent: { name: 'somebody-else', version: '1.0.0' } }],
      ['publisher', { registeredBy: bob.address, nameOwner: bob.address }],
    ]
    for (const [field, change] of altered) {
      let caught: unknown
      try {
        checkRegistryEntry({ entry: { ...entry, ...change }, release: published, chainId: 31337 })
      } catch (error) {
        caught = error
      }
      expect(caught, field).toBeInstanceOf(RegistryMismatchError)
      expect((caught as RegistryMismatchError).meta?.fields, field).toEqual([field])
    }
    // a verifier deployed on another chain is not recorded in this chain's registry
    expect(registryRecord({ release: published, chainId: 1 }).verifier).toBeUndefined()
    // a delegate may add the version: the release is still the name owner's
    expect(() =>
      checkRegistryEntry({ entry: { ...entry, registeredBy: bob.address }, release: published, chainId: 31337 }),
    ).not.toThrow()
  })

  it('a fork records its parent; it resolves, and its parent is checked', async () => {
    const bobHub = await openHub({ dir: join(work, 'bob-hub') })
    await bobHub.releases.save(published)
    const { release: fork, registration } = await forkRelease({
      hub: bobHub,
      source: `${alice.address}/transaction-risk@1.0.0`,
      name: 'risk-tuned',
      signer: bob,
      registry: bobRegistry,
    })
    expect(registration?.transaction).toMatch(/^0x[0-9a-f]{64}$/)
    const entry = await aliceRegistry.lookup({ name: 'risk-tuned', version: '1.0.0' })
    expect(entry).toMatchObject({ parent: { name: 'transaction-risk', version: '1.0.0' }, registeredBy: bob.address })
    const resolved = await resolveRegisteredRelease({
      registry: aliceRegistry,
      name: 'risk-tuned',
      version: '1.0.0',
      releases: bobHub.releases.all(),
    })
    expect(resolved.release.id).toBe(fork.id)
    expect(existsSync(join(work, 'bob-hub', 'releases', bob.address.toLowerCase(), 'risk-tuned', '1.0.0.json'))).toBe(true)
  })
})
