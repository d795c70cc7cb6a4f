import { Contract } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChainClient } from '../../src/chain/chain-client.js'
import {
  digestToBytes32,
  getModelVersion,
  type ModelRelease,
  registerModel,
  setModelDelegate,
} from '../../src/chain/model-registry.js'
import { deployVerityContract } from '../../src/chain/verity-contracts.js'
import { digest } from '../../src/crypto/digest.js'
import { demoModel, NETWORKS, openNetwork } from './helpers.js'
import { expectRevert } from './revert.js'

const model = demoModel()
const release: ModelRelease = {
  name: 'transaction-risk',
  version: '1.0.0',
  manifestDigest: digestToBytes32(model.digest),
  packageCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
  vkDigest: digestToBytes32(digest(model.vk)),
  verifier: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
}

for (const network of NETWORKS) {
  describe(`ModelRegistry on ${network}`, { timeout: 300_000 }, () => {
    let publisher: ChainClient
    let delegate: ChainClient
    let stranger: ChainClient
    let close: () => Promise<void>
    let registry: Contract
    const as = (client: ChainClient) => new Contract(registry.target as string, registry.interface, client.signer)
    beforeAll(async () => {
      const opened = await openNetwork(network, 3)
      ;[publisher, delegate, stranger] = opened.clients as [ChainClient, ChainClient, ChainClient]
      close = opened.close
      registry = (await deployVerityContract({ client: publisher, name: 'ModelRegistry' })).contract
    }, 180_000)
    afterAll(async () => close?.())

    it('registers a release; only the publisher or its delegates add versions; events carry the release', async () => {
      const registered = await registerModel({ registry, release })
      expect(registered.gasUsed).toBeGreaterThan(100_000n)
      const stored = await getModelVersion({ registry, name: release.name, version: '1.0.0' })
      expect(stored).toMatchObject({ ...release, publisher: publisher.address, parent: undefined, vk: undefined })
      const logs = await registry.queryFilter(registry.filters.VersionRegistered?.() ?? 'VersionRegistered')
      expect(logs).toHaveLength(1)

      const next = { ...release, version: '1.1.0' }
      await expectRevert(
        registerModel({ registry: as(stranger), release: next }),
        new RegExp(`NotPublisher\\(${stranger.address}\\)`),
      )
      await expectRevert(
        setModelDelegate({ registry: as(stranger), name: release.name, delegate: stranger.address, allowed: true }),
        /NotPublisher/,
      )
      await setModelDelegate({ registry, name: release.name, delegate: delegate.address, allowed: true })
      await registerModel({ registry: as(delegate), release: next })
      expect((await getModelVersion({ registry, name: release.name, version: '1.1.0' })).publisher).toBe(delegate.address)
      await setModelDelegate({ registry, name: release.name, delegate: delegate.address, allowed: false })
      await expectRevert(registerModel({ registry: as(delegate), release: { ...release, version: '1.2.0' } }), /NotPublisher/)
      await expectRevert(registerModel({ registry, release }), /VersionExists\(transaction-risk, 1.0.0\)/)
      expect(await registry.getFunction('versionCount')(release.name)).toBe(2n)
    })

    it('records a fork with its parent, refuses an unknown parent, empty fields and unknown versions', async () => {
      const fork: ModelRelease = {
        ...release,
        name: 'transaction-risk-eu',
        version: '0.1.0',
        parent: { name: release.name, version: '1.0.0' },
      }
      await registerModel({ registry: as(stranger), release: fork })
      expect(await getModelVersion({ registry, name: fork.name, version: '0.1.0' })).toMatchObject({
        parent: { name: 'transaction-risk', version: '1.0.0' },
        publisher: stranger.address,
      })
      await expectRevert(
        registerModel({
          registry: as(stranger),
          release: { ...fork, version: '0.2.0', parent: { name: release.name, version: '9.9.9' } },
        }),
        /UnknownParent\(transaction-risk, 9.9.9\)/,
      )
      await expectRevert(getModelVersion({ registry, name: fork.name, version: '7.0.0' }), /UnknownVersion/)
      const raw = {
        name: 'x',
        version: '1',
        manifestDigest: `0x${'00'.repeat(32)}`,
        packageCid: '',
        vkDigest: `0x${'00'.repeat(32)}`,
        verifier: '0x0000000000000000000000000000000000000000',
        vk: '0x0000000000000000000000000000000000000000',
        parentName: '',
        parentVersion: '',
      }
      const { chainErrorFrom } = await import('../../src/chain/chain-client.js')
      const send = (value: typeof raw) =>
        registry
          .getFunction('register')(value)
          .catch((error: unknown) => {
            throw chainErrorFrom(error, registry.interface, 'register')
          })
      await expectRevert(send(raw), /EmptyField\(manifestDigest\)/)
      await expectRevert(send({ ...raw, name: '' }), /EmptyField\(name\)/)
      await expectRevert(send({ ...raw, version: '' }), /EmptyField\(version\)/)
    })
  })
}
