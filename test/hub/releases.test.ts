import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TypedDataEncoder, Wallet } from 'ethers'
import { afterAll, describe, expect, it } from 'vitest'
import { ReleaseVerificationError } from '../../src/errors.js'
import { openHub } from '../../src/hub/open-hub.js'
import { forkRelease, publishRelease } from '../../src/hub/publish-release.js'
import { HUB_DOMAIN, RELEASE_TYPES, releaseMessage, signRelease, verifyRelease } from '../../src/hub/release.js'
import { releaseLog } from '../../src/hub/release-log.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { MODEL_DIR } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-releases-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const alice = createKeySigner({ privateKey: `0x${'11'.repeat(32)}` })
const bob = createKeySigner({ privateKey: `0x${'22'.repeat(32)}` })

/** A copy of the bundled package with its manifest's version (and one file) changed, digests kept right. */
function packageVersion(dir: string, version: string, note?: string): string {
  cpSync(MODEL_DIR, dir, { recursive: true })
  const manifestPath = join(dir, 'verity-model.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  manifest.version = version
  if (note) {
    writeFileSync(join(dir, 'README.md'), note)
    manifest.files['README.md'] = `sha256:${createHash('sha256').update(note).digest('hex')}`
  }
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2))
  return dir
}

describe('signed releases', () => {
  it('a release is the EIP-712 signature ethers computes, and verifies', async () => {
    const hub = await openHub({ dir: join(work, 'hub-sign') })
    const { release } = await publishRelease({ hub, dir: MODEL_DIR, signer: alice })
    expect(release.publisher).toBe(alice.address)
    expect(release.id).toBe(TypedDataEncoder.hash(HUB_DOMAIN, RELEASE_TYPES, releaseMessage(release)))
    const wallet = new Wallet(`0x${'11'.repeat(32)}`)
    expect(await wallet.signTypedData(HUB_DOMAIN, RELEASE_TYPES, releaseMessage(release))).toBe(release.signature)
    expect(verifyRelease(JSON.parse(JSON.stringify(release))).id).toBe(release.id)
    expect(release.vkDigest).toMatch(/^sha256:/)
    expect(release.details.toolchain.ezkl).toBe('21.0.0')
  })

  it('an altered release (any field, details included) or a signature by another key is refused', async () => {
    const hub = await openHub({ dir: join(work, 'hub-forge') })
    const { release } = await publishRelease({ hub, dir: MODEL_DIR, signer: alice })
    const alterations: Array<(r: typeof release) => void> = [
      (r) => {
        r.version = '9.9.9'
      },
      (r) => {
        r.packageCid = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
      },
      (r) => {
        r.details.toolchain.ezkl = '20.0.0'
      },
      (r) => {
        r.publisher = bob.address
      },
      (r) => {
        r.createdAt += 1
      },
    ]
    for (const alter of alterations) {
      const forged = structuredClone(release)
      alter(forged)
      expect(() => verifyRelease(forged)).toThrow(ReleaseVerificationError)
    }
    // Bob signs a release naming Alice as publisher: the id matches its fields but the signer is Bob
    const impersonation = signRelease({
      signer: bob,
      name: release.name,
      version: '2.0.0',
      packageCid: release.packageCid,
      vkDigest: release.vkDigest,
      details: release.details,
    })
    const claimed = { ...impersonation, publisher: alice.address }
    expect(() => verifyRelease(claimed)).toThrow(ReleaseVerificationError)
    await expect(hub.releases.save(claimed)).rejects.toThrow(ReleaseVerificationError)
    // Bob's own release lands under Bob's address, never in Alice's name
    const saved = await hub.releases.save(impersonation)
    expect(hub.releases.find({ publisher: alice.address, name: release.name }).map((r) => r.id)).toEqual([release.id])
    expect(saved.publisher).toBe(bob.address)
  })

  it('versions are immutable: republishing a version or going backwards is refused, equivocation detected', async () => {
    const hub = await openHub({ dir: join(work, 'hub-immutable') })
    const v2 = packageVersion(join(work, 'immutable-v2'), '2.0.0')
    await publishRelease({ hub, dir: v2, signer: alice })
    await expect(publishRelease({ hub, dir: v2, signer: alice })).rejects.toThrow(ReleaseVerificationError)
    await expect(publishRelease({ hub, dir: MODEL_DIR, signer: alice })).rejects.toThrow(/greater/)
    const other = signRelease({
      signer: alice,
      name: 'transaction-risk',
      version: '2.0.0',
      packageCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
      vkDigest: `sha256:${'ab'.repeat(32)}`,
      details: {
        package: {
          cid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
          bytes: 1,
          modelDigest: `sha256:${'cd'.repeat(32)}`,
        },
        parent: null,
        toolchain: {},
        verifier: null,
      },
    })
    await expect(hub.releases.save(other)).rejects.toThrow(/already published/)
  })

  it('fork and log: versions then a fork by another publisher, every signature and link checked', async () => {
    const hub = await openHub({ dir: join(work, 'hub-log') })
    const v1 = await publishRelease({ hub, dir: MODEL_DIR, signer: alice })
    const v11 = await publishRelease({ hub, dir: packageVersion(join(work, 'log-v11'), '1.1.0', 'v1.1\n'), signer: alice })
    expect(v11.release.details.parent?.id).toBe(v1.release.id)
    const fork = await forkRelease({ hub, source: `${alice.address}/transaction-risk@1.1.0`, name: 'risk-tuned', signer: bob })
    expect(fork.release.publisher).toBe(bob.address)
    expect(fork.release.packageCid).toBe(v11.release.packageCid)
    const log = releaseLog({ hub, reference: `${bob.address}/risk-tuned` })
    expect(log.complete).toBe(true)
    expect(log.entries.map((entry) => [entry.release.name, entry.release.version, entry.link])).toEqual([
      ['risk-tuned', '1.1.0', 'fork'],
      ['transaction-risk', '1.1.0', 'version'],
      ['transaction-risk', '1.0.0', 'origin'],
    ])
    // an altered release file in the hub breaks list and log
    const path = join(hub.dir, 'releases', alice.address.toLowerCase(), 'transaction-risk', '1.0.0.json')
    const stored = JSON.parse(readFileSync(path, 'utf8'))
    stored.details.toolchain.ezkl = '0.0.1'
    writeFileSync(path, JSON.stringify(stored))
    expect(() => releaseLog({ hub, reference: `${bob.address}/risk-tuned` })).toThrow(ReleaseVerificationError)
    expect(() => hub.releases.all()).toThrow(/does not verify/)
  })

  it('a forged parent link (a child naming a parent it does not match) is refused by log', async () => {
    const hub = await openHub({ dir: join(work, 'hub-parent') })
    const v1 = await publishRelease({ hub, dir: MODEL_DIR, signer: alice })
    const liar = signRelease({
      signer: bob,
      name: 'liar',
      version: '1.0.0',
      packageCid: v1.release.packageCid,
      vkDigest: v1.release.vkDigest,
      details: {
        ...v1.release.details,
        parent: {
          ...v1.release.details.parent,
          id: v1.release.id,
          publisher: alice.address,
          name: 'transaction-risk',
          version: '0.9.0',
        },
      },
    })
    await hub.releases.save(liar)
    expect(() => releaseLog({ hub, reference: 'liar' })).toThrow(/does not match/)
  })
})
