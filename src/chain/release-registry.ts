import { type Contract, keccak256, toUtf8Bytes } from 'ethers'
import { z } from 'zod'
import { ChainError } from '../errors.js'
import { parseInput } from '../validation.js'
import type { ChainClient } from './chain-client.js'
import { getModelVersion, type ModelRelease, type RegisteredModelVersion, registerModel } from './model-registry.js'
import { attachVerityContract } from './verity-contracts.js'

/**
 * A deployed `ModelRegistry` as the hub's release registry (`ReleaseRegistry` v1 of `verity/hub`):
 * `hub publish --registry` records releases through it and `hub pull --registry` resolves names
 * through it. The chain room does not import the hub: this object has the interface's shape, and
 * the CLI (which may import both) plugs one into the other.
 */

/** A `ModelRegistry` entry in the hub's terms: the record plus who registered it and who owns the name. */
export type ModelRegistryEntry = Omit<RegisteredModelVersion, 'publisher' | 'registeredAt' | 'vk'> & {
  registeredBy: string
  nameOwner: string
  registeredAt: number
}

/** The `ReleaseRegistry` (v1) shape of `verity/hub`, over a `ModelRegistry` contract. */
export type ModelReleaseRegistry = {
  specificationVersion: 'v1'
  label: string
  chainId: number
  sender: string
  /** The attached contract (sender: the client's signer). */
  contract: Contract
  register(record: Omit<ModelRelease, 'vk'>): Promise<{ transaction: string; gasUsed: bigint }>
  lookup(reference: { name: string; version: string }): Promise<ModelRegistryEntry | undefined>
}

export type OpenReleaseRegistryParameters = { client: ChainClient; address: string }
export type OpenReleaseRegistryReturnType = ModelReleaseRegistry

/**
 * Attaches a deployed `ModelRegistry` (ChainError when no contract is there) as a release registry.
 *
 * @example
 * ```ts
 * const registry = await openReleaseRegistry({ client, address: '0x…' })
 * await publishRelease({ hub, dir, signer, registry }) // verity/hub
 * ```
 */
export async function openReleaseRegistry(parameters: OpenReleaseRegistryParameters): Promise<OpenReleaseRegistryReturnType> {
  const input = parseInput(
    z.object({ address: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address') }),
    { address: parameters.address },
    { what: 'openReleaseRegistry parameters', docsPath: 'chain.md' },
  )
  const { client } = parameters
  const contract = await attachVerityContract({ client, name: 'ModelRegistry', address: input.address })
  const label = `ModelRegistry ${input.address} on chain ${client.chainId}`
  return {
    specificationVersion: 'v1',
    label,
    chainId: Number(client.chainId),
    sender: client.address,
    contract,
    async register(record) {
      const result = await registerModel({ registry: contract, release: record })
      return { transaction: result.hash, gasUsed: result.gasUsed }
    },
    async lookup({ name, version }) {
      let registered: RegisteredModelVersion
      try {
        registered = await getModelVersion({ registry: contract, name, version })
      } catch (error) {
        if (error instanceof ChainError && (error.meta as { errorName?: string } | undefined)?.errorName === 'UnknownVersion')
          return undefined
        throw error
      }
      let nameOwner: string
      try {
        nameOwner = await contract.getFunction('publisherOf')(keccak256(toUtf8Bytes(name)))
      } catch (cause) {
        throw new ChainError('Could not read the name’s owner', { details: `${label}: ${name}`, docsPath: 'chain.md', cause })
      }
      const { publisher, vk: _vk, ...rest } = registered
      return { ...rest, registeredBy: publisher, nameOwner }
    },
  }
}
