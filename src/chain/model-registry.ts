import type { Contract } from 'ethers'
import { z } from 'zod'
import { parseInput } from '../validation.js'
import { chainErrorFrom, sendTransaction, type TransactionResult } from './chain-client.js'

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, '0x + 64 hex digits')
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address')

/**
 * A model release as `ModelRegistry` stores it; the fields of a hub release (name, version, package CID, parent,
 * vk digest, verifier address; the publisher is the sender).
 */
export type ModelRelease = {
  name: string
  version: string
  /** `0x` + 64 hex: the package manifest digest (sha256, as in receipts). */
  manifestDigest: string
  /** The package's IPFS CID (may be empty). */
  packageCid: string
  /** `0x` + 64 hex: sha256 of `vk.key`. */
  vkDigest: string
  verifier?: string | undefined
  /** The VK artifact of a reusable verifier. */
  vk?: string | undefined
  /** The release this one forks: name and version, both registered. */
  parent?: { name: string; version: string } | undefined
}

const releaseSchema = z.object({
  name: z.string().min(1).max(200),
  version: z.string().min(1).max(100),
  manifestDigest: bytes32,
  packageCid: z.string().max(200),
  vkDigest: bytes32,
  verifier: address.optional(),
  vk: address.optional(),
  parent: z.object({ name: z.string().min(1), version: z.string().min(1) }).optional(),
})

/**
 * `sha256:<hex>` (Verity digests) to the `bytes32` the registry stores.
 *
 * @example
 * ```ts
 * digestToBytes32(model.digest) // '0x…'
 * ```
 */
export function digestToBytes32(value: string): string {
  return `0x${value.replace(/^sha256:/, '')}`
}

/**
 * Registers a release; the first sender to register a name becomes its publisher, later versions come only from the
 * publisher or its delegates (`NotPublisher(caller)` otherwise), a version is registered once (`VersionExists`), and
 * a fork's parent must exist (`UnknownParent`).
 *
 * @example
 * ```ts
 * await registerModel({ registry, release: { name: 'transaction-risk', version: '1.0.0', manifestDigest, packageCid, vkDigest, verifier } })
 * ```
 */
export async function registerModel(parameters: { registry: Contract; release: ModelRelease }): Promise<TransactionResult> {
  const release = parseInput(releaseSchema, parameters.release, { what: 'registerModel release' })
  const { registry } = parameters
  return sendTransaction(
    () =>
      registry.getFunction('register')({
        name: release.name,
        version: release.version,
        manifestDigest: release.manifestDigest,
        packageCid: release.packageCid,
        vkDigest: release.vkDigest,
        verifier: release.verifier ?? ZERO_ADDRESS,
        vk: release.vk ?? ZERO_ADDRESS,
        parentName: release.parent?.name ?? '',
        parentVersion: release.parent?.version ?? '',
      }),
    registry.interface,
    `Registering ${release.name}@${release.version}`,
  )
}

/**
 * Lets `delegate` add versions of `name` (or stops it, with `allowed: false`); only the publisher may.
 *
 * @example
 * ```ts
 * await setModelDelegate({ registry, name: 'transaction-risk', delegate: ci, allowed: true })
 * ```
 */
export async function setModelDelegate(parameters: {
  registry: Contract
  name: string
  delegate: string
  allowed: boolean
}): Promise<TransactionResult> {
  const { registry } = parameters
  return sendTransaction(
    () => registry.getFunction('setDelegate')(parameters.name, parameters.delegate, parameters.allowed),
    registry.interface,
    `Setting a delegate of ${parameters.name}`,
  )
}

/** A registered version as read back. */
export type RegisteredModelVersion = ModelRelease & { publisher: string; registeredAt: number }

/**
 * Reads one registered version (ChainError `UnknownVersion` when absent).
 *
 * @example
 * ```ts
 * const { verifier } = await getModelVersion({ registry, name: 'transaction-risk', version: '1.0.0' })
 * ```
 */
export async function getModelVersion(parameters: {
  registry: Contract
  name: string
  version: string
}): Promise<RegisteredModelVersion> {
  const { registry } = parameters
  let value: {
    version: string
    manifestDigest: string
    packageCid: string
    vkDigest: string
    verifier: string
    vk: string
    publisher: string
    parentName: string
    parentVersion: string
    registeredAt: bigint
  }
  try {
    value = await registry.getFunction('getVersion')(parameters.name, parameters.version)
  } catch (error) {
    throw chainErrorFrom(error, registry.interface, `Reading ${parameters.name}@${parameters.version}`)
  }
  return {
    name: parameters.name,
    version: value.version,
    manifestDigest: value.manifestDigest,
    packageCid: value.packageCid,
    vkDigest: value.vkDigest,
    verifier: value.verifier === ZERO_ADDRESS ? undefined : value.verifier,
    vk: value.vk === ZERO_ADDRESS ? undefined : value.vk,
    parent: value.parentName ? { name: value.parentName, version: value.parentVersion } : undefined,
    publisher: value.publisher,
    registeredAt: Number(value.registeredAt),
  }
}
