import { getAddress, TypedDataEncoder, ZeroAddress } from 'ethers'
import semver from 'semver'
import { z } from 'zod'
import { fromHex, toHex } from '../crypto/bytes.js'
import { canonicalDigest } from '../crypto/canonical-json.js'
import { isDigest } from '../crypto/digest.js'
import { ReleaseVerificationError } from '../errors.js'
import type { AgentSigner } from '../identity/secp256k1-signer.js'
import { recoverDigestSigner } from '../identity/secp256k1-signer.js'
import { parseInput } from '../validation.js'
import { parseCid } from './block-check.js'

/**
 * A release: the signed, immutable statement "publisher P names package CID C `name@version`,
 * descending from release X". The EIP-712 struct holds only what a contract needs (a future
 * on-chain ModelRegistry recomputes the same digest with `abi.encode` and `ecrecover`s the same
 * signature; see docs/hub.md); everything else is bound by `detailsHash`.
 */

/** Format tag of a release file. */
export const RELEASE_FORMAT = 'verity-release/v1'

/**
 * EIP-712 domain of every release signature. No `verifyingContract`: the signature does not depend
 * on where (or whether) a registry is deployed, so recording a release on chain later needs no re-signing.
 */
export const HUB_DOMAIN = { name: 'Verity Hub', version: '1', chainId: 1 } as const

/** EIP-712 types of a release, in the shape ethers' `signTypedData` takes. */
export const RELEASE_TYPES = {
  Release: [
    { name: 'publisher', type: 'address' },
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'packageCid', type: 'string' },
    { name: 'parent', type: 'bytes32' },
    { name: 'vkDigest', type: 'bytes32' },
    { name: 'verifier', type: 'address' },
    { name: 'detailsHash', type: 'bytes32' },
    { name: 'createdAt', type: 'uint64' },
  ],
}

const ZERO_WORD = `0x${'0'.repeat(64)}`
const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an Ethereum address')
const wordSchema = z.string().regex(/^0x[0-9a-f]{64}$/, '0x + 64 lower-case hex')
/** A package name: lower-case letters, digits, `.`, `_`, `-`; scoped by the publisher address. */
export const releaseNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a name of a-z, 0-9, ".", "_", "-" (max 64)')
const versionSchema = z.string().refine((value) => semver.valid(value) === value, 'a semantic version (1.2.3)')
const cidSchema = z.string().refine((value) => {
  try {
    parseCid(value)
    return true
  } catch {
    return false
  }
}, 'a CIDv1 (sha2-256, dag-pb)')

/** What a release says beyond its EIP-712 struct (bound to it by `detailsHash`). */
export const releaseDetailsSchema = z.object({
  package: z.object({
    cid: cidSchema,
    /** Total bytes of the package's files. */
    bytes: z.number().int().nonnegative(),
    /** `canonicalDigest` of `verity-model.json`: the model digest receipts name. */
    modelDigest: z.string().refine(isDigest, 'sha256:<64 hex>'),
  }),
  parent: z.object({ id: wordSchema, publisher: addressSchema, name: releaseNameSchema, version: versionSchema }).nullable(),
  toolchain: z.record(z.string(), z.string()),
  verifier: z.object({ chainId: z.number().int().positive(), address: addressSchema }).nullable(),
  description: z.string().max(2000).optional(),
})

/** A release file (zod schema): `verity-release/v1`. */
export const releaseSchema = z.object({
  format: z.literal(RELEASE_FORMAT),
  id: wordSchema,
  publisher: addressSchema,
  name: releaseNameSchema,
  version: versionSchema,
  packageCid: cidSchema,
  vkDigest: z.string().refine(isDigest, 'sha256:<64 hex>'),
  createdAt: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  details: releaseDetailsSchema,
  signature: z.string().regex(/^0x[0-9a-f]{130}$/, '0x + 65-byte signature'),
})
export type Release = z.output<typeof releaseSchema>
export type ReleaseDetails = z.output<typeof releaseDetailsSchema>

/** The EIP-712 message of a release. */
export type ReleaseMessage = {
  publisher: string
  name: string
  version: string
  packageCid: string
  parent: string
  vkDigest: string
  verifier: string
  detailsHash: string
  createdAt: number
}

/**
 * The EIP-712 message a release signs.
 *
 * @example
 * ```ts
 * await wallet.signTypedData(HUB_DOMAIN, RELEASE_TYPES, releaseMessage(release)) === release.signature
 * ```
 */
export function releaseMessage(release: Omit<Release, 'id' | 'signature' | 'format'>): ReleaseMessage {
  return {
    publisher: getAddress(release.publisher.toLowerCase()),
    name: release.name,
    version: release.version,
    packageCid: release.packageCid,
    parent: release.details.parent?.id ?? ZERO_WORD,
    vkDigest: `0x${release.vkDigest.slice('sha256:'.length)}`,
    verifier: release.details.verifier ? getAddress(release.details.verifier.address.toLowerCase()) : ZeroAddress,
    detailsHash: `0x${canonicalDigest(release.details).slice('sha256:'.length)}`,
    createdAt: release.createdAt,
  }
}

/**
 * A release's id: its EIP-712 signing digest (`keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)`).
 *
 * @example
 * ```ts
 * releaseId(release) === release.id
 * ```
 */
export function releaseId(release: Omit<Release, 'id' | 'signature' | 'format'>): string {
  return TypedDataEncoder.hash(HUB_DOMAIN, RELEASE_TYPES, releaseMessage(release))
}

export type SignReleaseParameters = {
  signer: AgentSigner
  name: string
  version: string
  packageCid: string
  vkDigest: string
  details: ReleaseDetails
  /** Unix seconds (default now). */
  createdAt?: number | undefined
}
export type SignReleaseReturnType = Release

const signSchema = z.object({
  signer: z.custom<AgentSigner>((value) => typeof (value as AgentSigner)?.signDigest === 'function', 'an AgentSigner'),
  name: releaseNameSchema,
  version: versionSchema,
  packageCid: cidSchema,
  vkDigest: z.string().refine(isDigest, 'sha256:<64 hex>'),
  details: releaseDetailsSchema,
  createdAt: z.number().int().nonnegative().optional(),
})

/**
 * Builds and signs a release with the publisher's key (the identity room's signer).
 *
 * @example
 * ```ts
 * const release = signRelease({ signer, name: 'transaction-risk', version: '1.0.0', packageCid, vkDigest, details })
 * ```
 */
export function signRelease(parameters: SignReleaseParameters): SignReleaseReturnType {
  const input = parseInput(signSchema, parameters, { what: 'signRelease parameters', docsPath: 'hub.md' })
  const unsigned = {
    publisher: getAddress(input.signer.address),
    name: input.name,
    version: input.version,
    packageCid: parseCid(input.packageCid).toV1().toString(),
    vkDigest: input.vkDigest,
    createdAt: input.createdAt ?? Math.floor(Date.now() / 1000),
    details: input.details,
  }
  const id = releaseId(unsigned)
  const signature = `0x${toHex(input.signer.signDigest(fromHex(id.slice(2))))}`
  return { format: RELEASE_FORMAT, id, ...unsigned, signature }
}

/**
 * Checks a release: its shape, that `id` is its EIP-712 digest, that the signature recovers to
 * `publisher`, and that `details` agree with the signed fields. Throws {@link ReleaseVerificationError}.
 *
 * @example
 * ```ts
 * const release = verifyRelease(JSON.parse(text))
 * ```
 */
export function verifyRelease(value: unknown): Release {
  const parsed = releaseSchema.safeParse(value)
  if (!parsed.success)
    throw new ReleaseVerificationError('Malformed release', {
      details: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
      docsPath: 'hub.md',
    })
  const release = parsed.data
  const label = `${release.publisher}/${release.name}@${release.version}`
  if (parseCid(release.details.package.cid).toV1().toString() !== parseCid(release.packageCid).toV1().toString())
    throw new ReleaseVerificationError('Release details name another package', { details: label, docsPath: 'hub.md' })
  const id = releaseId(release)
  if (id !== release.id)
    throw new ReleaseVerificationError('Release id does not match its contents', {
      details: `${label}: computed ${id}, file says ${release.id}`,
      hint: 'The release was altered after signing.',
      docsPath: 'hub.md',
    })
  const signer = recoverDigestSigner({ digest: fromHex(id.slice(2)), signature: fromHex(release.signature.slice(2)) })
  if (!signer || signer.toLowerCase() !== release.publisher.toLowerCase())
    throw new ReleaseVerificationError('Release signature is not the publisher’s', {
      details: `${label}: signed by ${signer ?? 'nobody (malformed signature)'}`,
      hint: 'Only the publisher’s key can publish under its address.',
      docsPath: 'hub.md',
    })
  return release
}

/**
 * `publisher/name`: the scoped name of a release.
 *
 * @example
 * ```ts
 * scopedName(release) // '0xAbC…/transaction-risk'
 * ```
 */
export function scopedName(release: Pick<Release, 'publisher' | 'name'>): string {
  return `${getAddress(release.publisher.toLowerCase())}/${release.name}`
}
