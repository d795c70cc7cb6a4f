import type { CID } from 'multiformats/cid'
import semver from 'semver'
import { z } from 'zod'
import { canonicalDigest } from '../crypto/canonical-json.js'
import { InvalidInputError, ReleaseVerificationError } from '../errors.js'
import type { AgentSigner } from '../identity/secp256k1-signer.js'
import { loadModelPackage } from '../proofs/model-package.js'
import { parseInput } from '../validation.js'
import { addFolder, type HubProgress } from './add-folder.js'
import type { Hub } from './open-hub.js'
import { type Release, releaseNameSchema, signRelease } from './release.js'
import { type RegisterReleaseReturnType, type ReleaseRegistry, registerRelease } from './release-registry.js'
import { parseReleaseReference } from './release-store.js'
import { KUBO_ADD_FLAGS } from './unixfs-settings.js'

/** The version of this package's hub format, recorded in each release's toolchain. */
const HUB_TOOLCHAIN = { 'verity-hub': '1', unixfs: `cidv1 raw-leaves ${KUBO_ADD_FLAGS[3]}` }

export type PublishReleaseParameters = {
  hub: Hub
  /** A model package folder (`verity-model/v1`). */
  dir: string
  signer: AgentSigner
  /** Default: the package manifest's name. */
  name?: string | undefined
  /** Default: the package manifest's version. */
  version?: string | undefined
  /** Deployed EVM verifier of this model's vk, if any. */
  verifier?: { chainId: number; address: string } | undefined
  onProgress?: HubProgress | undefined
  /**
   * Also record the release in this registry (e.g. `ModelRegistry` through `openReleaseRegistry` of
   * `verity/chain`), sending as the signer. Recorded before the release is stored: a refused
   * registration leaves no release in the hub.
   */
  registry?: ReleaseRegistry | undefined
}
export type PublishReleaseReturnType = {
  release: Release
  newBlocks: number
  reusedBlocks: number
  /** Set when `registry` was given. */
  registration?: RegisterReleaseReturnType | undefined
}

const schema = z.object({
  dir: z.string().min(1),
  name: releaseNameSchema.optional(),
  version: z.string().optional(),
  verifier: z.object({ chainId: z.number().int().positive(), address: z.string().regex(/^0x[0-9a-fA-F]{40}$/) }).optional(),
})

/**
 * Publishes a model package: checks it (every file digest), adds it to the hub's blockstore (blocks
 * shared with earlier versions are not written again), and signs a release whose parent is the
 * publisher's previous version of the same name (which must have a lower semver).
 *
 * @example
 * ```ts
 * const { release } = await publishRelease({ hub, dir: 'models/transaction-risk', signer })
 * release.packageCid // 'bafybei…'
 * ```
 */
export async function publishRelease(parameters: PublishReleaseParameters): Promise<PublishReleaseReturnType> {
  const input = parseInput(schema, parameters, { what: 'publishRelease parameters', docsPath: 'hub.md' })
  const model = loadModelPackage({ dir: input.dir, skipEngineValidation: true })
  const name = input.name ?? model.manifest.name
  const version = input.version ?? model.manifest.version
  if (!releaseNameSchema.safeParse(name).success || semver.valid(version) !== version)
    throw new InvalidInputError('Bad release name or version', {
      details: `${name}@${version}`,
      hint: 'Names: a-z 0-9 . _ - ; versions: semver (1.2.3). Pass --name / --version.',
      docsPath: 'hub.md',
    })
  const { hub, signer, registry } = parameters
  assertRegistrySender(registry, signer)
  const previous = hub.releases.find({ publisher: signer.address, name })[0]
  if (previous && !semver.gt(version, previous.version))
    throw new ReleaseVerificationError('Version must be greater than the last published one', {
      details: `${name}: last ${previous.version}, new ${version}`,
      hint: 'Releases are immutable; bump the version.',
      docsPath: 'hub.md',
    })
  const before = { ...hub.blocks.counters }
  // the importer computes each CID from the bytes it hands over: no need to hash them twice
  const blockstore = { put: (cid: CID, bytes: Uint8Array) => hub.blocks.putComputed(cid, bytes) }
  const added = await addFolder({ dir: input.dir, blockstore, onProgress: parameters.onProgress })
  await hub.blocks.flush()
  const vk = model.manifest.files['vk.key']
  if (!vk) throw new InvalidInputError('Package has no vk.key digest', { details: input.dir, docsPath: 'proofs.md' })
  const release = signRelease({
    signer,
    name,
    version,
    packageCid: added.cid.toString(),
    vkDigest: vk,
    details: {
      package: { cid: added.cid.toString(), bytes: added.bytes, modelDigest: canonicalDigest(model.manifest) },
      parent: previous
        ? { id: previous.id, publisher: previous.publisher, name: previous.name, version: previous.version }
        : null,
      toolchain: { ...HUB_TOOLCHAIN, ezkl: model.manifest.ezkl.version },
      verifier: input.verifier ?? null,
    },
  })
  const registration = registry ? await registerRelease({ registry, release }) : undefined
  await hub.releases.save(release)
  return {
    release,
    newBlocks: hub.blocks.counters.written - before.written,
    reusedBlocks: hub.blocks.counters.present - before.present,
    ...(registration ? { registration } : {}),
  }
}

/** Publishing with a registry sends as the publisher: an entry added by anyone else would not resolve to the release. */
function assertRegistrySender(registry: ReleaseRegistry | undefined, signer: AgentSigner): void {
  if (registry && registry.sender.toLowerCase() !== signer.address.toLowerCase())
    throw new InvalidInputError('The registry sender is not the publisher', {
      details: `${registry.label}: sends as ${registry.sender}, the release is signed by ${signer.address}`,
      hint: 'Connect the registry with the publisher’s key (a delegate records an existing release with registerRelease).',
      docsPath: 'hub.md',
    })
}

export type ForkReleaseParameters = {
  hub: Hub
  /** `[0xPUBLISHER/]NAME@VERSION` of the release to fork. */
  source: string
  /** The new name (under the signer's address). */
  name: string
  /** Default: the source's version. */
  version?: string | undefined
  signer: AgentSigner
  /** Also record the fork in this registry (its parent must be registered there). */
  registry?: ReleaseRegistry | undefined
}
export type ForkReleaseReturnType = { release: Release; source: Release; registration?: RegisterReleaseReturnType | undefined }

/**
 * Forks a release: a new name under the signer's address whose first release points at the source
 * release as its parent, with the same package (change it by publishing a new version of the fork).
 *
 * @example
 * ```ts
 * await forkRelease({ hub, source: '0xAbC…/transaction-risk@1.0.0', name: 'risk-tuned', signer })
 * ```
 */
export async function forkRelease(parameters: ForkReleaseParameters): Promise<ForkReleaseReturnType> {
  const input = parseInput(
    z.object({ source: z.string().min(1), name: releaseNameSchema, version: z.string().optional() }),
    parameters,
    {
      what: 'forkRelease parameters',
      docsPath: 'hub.md',
    },
  )
  const { hub, signer, registry } = parameters
  assertRegistrySender(registry, signer)
  const source = hub.releases.resolve(parseReleaseReference(input.source))
  if (hub.releases.find({ publisher: signer.address, name: input.name }).length)
    throw new ReleaseVerificationError('You already publish under this name', {
      details: `${signer.address}/${input.name}`,
      hint: 'A fork starts a new name; publish new versions of an existing name with `hub publish`.',
      docsPath: 'hub.md',
    })
  const release = signRelease({
    signer,
    name: input.name,
    version: input.version ?? source.version,
    packageCid: source.packageCid,
    vkDigest: source.vkDigest,
    details: {
      package: source.details.package,
      parent: { id: source.id, publisher: source.publisher, name: source.name, version: source.version },
      toolchain: source.details.toolchain,
      verifier: source.details.verifier,
    },
  })
  const registration = registry ? await registerRelease({ registry, release }) : undefined
  await hub.releases.save(release)
  return { release, source, ...(registration ? { registration } : {}) }
}
