import { getAddress } from 'ethers'
import { z } from 'zod'
import { NotFoundError, RegistryMismatchError } from '../errors.js'
import { parseInput } from '../validation.js'
import { parseCid } from './block-check.js'
import { type Release, releaseNameSchema, verifyRelease } from './release.js'

/**
 * A name registry for releases (an on-chain `ModelRegistry`, through the chain room's
 * `openReleaseRegistry`): `name@version` -> the fields a release states. The hub records a release
 * in one and resolves names through one, but never trusts it alone: a registry entry only picks a
 * signed release, which must agree with it field by field (see docs/hub.md, "On-chain registry").
 */

/** What a registry records of a release (the fields of `ModelRegistry.Release`). */
export type ReleaseRegistryRecord = {
  name: string
  version: string
  /** `0x` + 64 hex: the package's model digest (`canonicalDigest` of `verity-model.json`, as receipts name it). */
  manifestDigest: string
  /** The package's CIDv1. */
  packageCid: string
  /** `0x` + 64 hex: sha256 of `vk.key`. */
  vkDigest: string
  /** The release's EVM verifier when it is deployed on the registry's chain. */
  verifier?: string | undefined
  /** Set for a fork: the release it forks (another name). A new version of the same name has none. */
  parent?: { name: string; version: string } | undefined
}

/** A registered version as read back from a registry. */
export type ReleaseRegistryEntry = ReleaseRegistryRecord & {
  /** The account that added this version (the name's owner or one of its delegates). */
  registeredBy: string
  /** The account that owns the name in this registry (its first registrant). */
  nameOwner: string
}

/**
 * The extension point a registry implements (`verity/chain`'s `openReleaseRegistry` for
 * `ModelRegistry`; a test or another chain can bring its own).
 */
export type ReleaseRegistry = {
  specificationVersion: 'v1'
  /** What to call it in messages, e.g. `ModelRegistry 0x… on chain 31337`. */
  label: string
  /** The chain the registry lives on: a release's verifier is recorded only when it is deployed there. */
  chainId: number
  /** The account that signs `register` transactions. */
  sender: string
  /** Records a version; rejects (typed error) when the registry refuses it. */
  register(record: ReleaseRegistryRecord): Promise<{ transaction: string }>
  /** The registered version, or `undefined` when the registry has none. */
  lookup(reference: { name: string; version: string }): Promise<ReleaseRegistryEntry | undefined>
}

const registrySchema = z.object({
  specificationVersion: z.literal('v1'),
  label: z.string(),
  chainId: z.number().int().positive(),
  sender: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  register: z.custom<ReleaseRegistry['register']>((value) => typeof value === 'function', 'a function'),
  lookup: z.custom<ReleaseRegistry['lookup']>((value) => typeof value === 'function', 'a function'),
})

const bytes32Of = (digest: string) => `0x${digest.slice('sha256:'.length)}`

/** The release's parent when it is a fork (another publisher or another name), in registry terms. */
function forkParent(release: Release): { name: string; version: string } | undefined {
  const parent = release.details.parent
  if (!parent) return undefined
  const samePublisher = parent.publisher.toLowerCase() === release.publisher.toLowerCase()
  return samePublisher && parent.name === release.name ? undefined : { name: parent.name, version: parent.version }
}

export type RegistryRecordParameters = { release: Release; chainId: number }
export type RegistryRecordReturnType = ReleaseRegistryRecord

/**
 * The record a registry on `chainId` keeps of a release. No field is new: the release format
 * (`verity-release/v1`) already states each one, so recording needs no change to it.
 *
 * @example
 * ```ts
 * registryRecord({ release, chainId: 31337 }) // { name, version, manifestDigest, packageCid, vkDigest, verifier?, parent? }
 * ```
 */
export function registryRecord(parameters: RegistryRecordParameters): RegistryRecordReturnType {
  const release = verifyRelease(parameters.release)
  const verifier = release.details.verifier
  return {
    name: release.name,
    version: release.version,
    manifestDigest: bytes32Of(release.details.package.modelDigest),
    packageCid: parseCid(release.packageCid).toV1().toString(),
    vkDigest: bytes32Of(release.vkDigest),
    verifier: verifier && verifier.chainId === parameters.chainId ? getAddress(verifier.address.toLowerCase()) : undefined,
    parent: forkParent(release),
  }
}

export type CheckRegistryEntryParameters = { entry: ReleaseRegistryEntry; release: Release; chainId: number; label?: string }

/**
 * Checks that a signed release is the one a registry entry names: same name, version, package CID,
 * model digest, vk digest, verifier and fork parent, and signed by the account that registered the
 * version or the name's owner. Throws {@link RegistryMismatchError} naming every field that differs.
 *
 * @example
 * ```ts
 * checkRegistryEntry({ entry: await registry.lookup({ name, version }), release, chainId: registry.chainId })
 * ```
 */
export function checkRegistryEntry(parameters: CheckRegistryEntryParameters): void {
  const { entry, chainId } = parameters
  const release = verifyRelease(parameters.release)
  const expected = registryRecord({ release, chainId })
  const same = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase()
  const differences: string[] = []
  const compare = (field: string, registered: string | undefined, signed: string | undefined) => {
    if (!same(registered, signed)) differences.push(`${field}: registry ${registered || '(none)'}, release ${signed || '(none)'}`)
  }
  compare('name', entry.name, expected.name)
  compare('version', entry.version, expected.version)
  let registeredCid = entry.packageCid
  try {
    registeredCid = parseCid(entry.packageCid).toV1().toString()
  } catch {
    // an unparsable CID differs from the release's, which is what the comparison reports
  }
  compare('packageCid', registeredCid, expected.packageCid)
  compare('manifestDigest', entry.manifestDigest, expected.manifestDigest)
  compare('vkDigest', entry.vkDigest, expected.vkDigest)
  compare('verifier', entry.verifier, expected.verifier)
  const parentText = (parent: ReleaseRegistryRecord['parent']) => (parent ? `${parent.name}@${parent.version}` : undefined)
  compare('parent', parentText(entry.parent), parentText(expected.parent))
  if (!same(release.publisher, entry.registeredBy) && !same(release.publisher, entry.nameOwner))
    differences.push(
      `publisher: the release is signed by ${release.publisher}; the registry's version was added by ${entry.registeredBy} and the name belongs to ${entry.nameOwner}`,
    )
  if (differences.length)
    throw new RegistryMismatchError('The registry entry disagrees with the signed release', {
      details: `${parameters.label ?? 'registry'}: ${entry.name}@${entry.version} vs ${release.publisher}/${release.name}@${release.version}: ${differences.join('; ')}`,
      hint: 'Nothing was installed. The registry or the release source is wrong or hostile: trust neither until you know which.',
      docsPath: 'hub.md',
      meta: { fields: differences.map((difference) => difference.split(':')[0] as string), releaseId: release.id },
    })
}

export type RegisterReleaseParameters = { registry: ReleaseRegistry; release: Release }
export type RegisterReleaseReturnType = { record: ReleaseRegistryRecord; transaction: string }

/**
 * Records a signed release in a registry (the registry decides who may: `ModelRegistry` lets only a
 * name's first registrant and its delegates add versions).
 *
 * @example
 * ```ts
 * const { transaction } = await registerRelease({ registry: await openReleaseRegistry({ client, address }), release })
 * ```
 */
export async function registerRelease(parameters: RegisterReleaseParameters): Promise<RegisterReleaseReturnType> {
  const registry = parseInput(registrySchema, parameters.registry, {
    what: 'registerRelease registry',
    hint: 'Pass a ReleaseRegistry (v1), e.g. openReleaseRegistry from verity/chain.',
  }) as ReleaseRegistry
  const record = registryRecord({ release: parameters.release, chainId: registry.chainId })
  const { transaction } = await registry.register(record)
  return { record, transaction }
}

export type ResolveRegisteredReleaseParameters = {
  registry: ReleaseRegistry
  name: string
  version: string
  /** Signed releases to choose from (a hub's, a remote index's); the one naming the registered CID is checked. */
  releases: readonly Release[]
}
export type ResolveRegisteredReleaseReturnType = { entry: ReleaseRegistryEntry; release: Release }

/**
 * Resolves `name@version` through a registry to a package CID, then finds the signed release that
 * names that CID among `releases` and checks it against the entry ({@link checkRegistryEntry}).
 * The caller pulls `release.packageCid` as usual. Throws {@link NotFoundError} when the registry has
 * no such version or no signed release names the registered CID, {@link RegistryMismatchError} when
 * the releases naming it disagree with the entry (another publisher, another version, ...).
 *
 * @example
 * ```ts
 * const { release } = await resolveRegisteredRelease({ registry, name: 'transaction-risk', version: '1.0.0', releases })
 * await pullPackage({ hub, cid: release.packageCid, from, to })
 * ```
 */
export async function resolveRegisteredRelease(
  parameters: ResolveRegisteredReleaseParameters,
): Promise<ResolveRegisteredReleaseReturnType> {
  const input = parseInput(
    z.object({ registry: registrySchema, name: releaseNameSchema, version: z.string().min(1), releases: z.array(z.unknown()) }),
    parameters,
    { what: 'resolveRegisteredRelease parameters', docsPath: 'hub.md' },
  )
  const { registry } = parameters
  const entry = await registry.lookup({ name: input.name, version: input.version })
  if (!entry)
    throw new NotFoundError('The registry has no such version', {
      details: `${registry.label}: ${input.name}@${input.version}`,
      hint: 'Check the name, the version, --registry and --rpc.',
      docsPath: 'hub.md',
    })
  let cid: string
  try {
    cid = parseCid(entry.packageCid).toV1().toString()
  } catch (cause) {
    throw new RegistryMismatchError('The registry entry names no valid package CID', {
      details: `${registry.label}: ${input.name}@${input.version}: ${JSON.stringify(entry.packageCid)}`,
      docsPath: 'hub.md',
      cause,
    })
  }
  // the closest candidates first (same name and version, then same name), so a refusal names the most telling differences
  const closeness = (release: Release) => (release.name === input.name ? 0 : 2) + (release.version === input.version ? 0 : 1)
  const naming = parameters.releases
    .map((release) => verifyRelease(release))
    .filter((release) => release.packageCid === cid)
    .sort((a, b) => closeness(a) - closeness(b))
  if (!naming.length)
    throw new NotFoundError('No signed release names the registered package', {
      details: `${registry.label}: ${input.name}@${input.version} -> ${cid}`,
      hint: 'Pull from a Verity hub that holds the release (--from URL): a registry entry alone is not trusted.',
      docsPath: 'hub.md',
    })
  let mismatch: unknown
  for (const release of naming) {
    try {
      checkRegistryEntry({ entry, release, chainId: registry.chainId, label: registry.label })
      return { entry, release }
    } catch (error) {
      mismatch ??= error
    }
  }
  throw mismatch
}
