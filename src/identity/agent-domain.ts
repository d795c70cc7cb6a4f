import { keccak_256 } from '@noble/hashes/sha3.js'
import { getAddress } from 'ethers'
import { z } from 'zod'
import { concatBytes, fromHex, utf8ToBytes } from '../crypto/bytes.js'
import { parseInput } from '../validation.js'

/** The EIP-712 domain name of every Verity trace signature. */
export const TRACE_DOMAIN_NAME = 'Verity Trace'
/** The EIP-712 domain version of trace format 1. */
export const TRACE_DOMAIN_VERSION = '1'
/** The chain id used when none is given (Ethereum mainnet; the domain is never used to send transactions). */
export const DEFAULT_TRACE_CHAIN_ID = 1

/**
 * An agent's EIP-712 domain. The domain is bound to the agent through `salt`, the agent address
 * left-padded to 32 bytes (`bytes32(uint256(uint160(agent)))`): `verifyingContract` would claim a
 * contract lives at the agent's address, which is false, while a salt is EIP-712's slot for
 * disambiguating otherwise equal domains.
 */
export type AgentDomain = {
  name: typeof TRACE_DOMAIN_NAME
  version: typeof TRACE_DOMAIN_VERSION
  chainId: number
  /** `0x` + 24 zero hex digits + the agent address in lower case. */
  salt: string
}

/** The EIP-712 `EIP712Domain` fields of {@link AgentDomain}, for ethers and wallets. */
export const AGENT_DOMAIN_TYPE = 'EIP712Domain(string name,string version,uint256 chainId,bytes32 salt)'

export type AgentDomainParameters = {
  /** The agent address. */
  agent: string
  /** The chain id (default {@link DEFAULT_TRACE_CHAIN_ID}). */
  chainId?: number | undefined
}
export type AgentDomainReturnType = AgentDomain

const agentDomainSchema = z.object({
  agent: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an Ethereum address'),
  chainId: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
})

/**
 * The EIP-712 domain under which an agent signs its trace entries and checkpoints.
 *
 * @example
 * ```ts
 * const domain = agentDomain({ agent: signer.address, chainId: 1 })
 * await wallet.signTypedData(domain, TRACE_ENTRY_TYPES, message) // same bytes as signTraceEntry
 * ```
 */
export function agentDomain(parameters: AgentDomainParameters): AgentDomainReturnType {
  const { agent, chainId } = parseInput(agentDomainSchema, parameters, { what: 'agentDomain parameters' })
  return {
    name: TRACE_DOMAIN_NAME,
    version: TRACE_DOMAIN_VERSION,
    chainId: chainId ?? DEFAULT_TRACE_CHAIN_ID,
    salt: `0x${'0'.repeat(24)}${getAddress(agent).slice(2).toLowerCase()}`,
  }
}

const DOMAIN_TYPE_HASH = keccak_256(utf8ToBytes(AGENT_DOMAIN_TYPE))

/**
 * `hashStruct(domain)`, the EIP-712 domain separator of an {@link AgentDomain}, as 32 bytes.
 *
 * @example
 * ```ts
 * toHex(agentDomainSeparator(domain)) === TypedDataEncoder.hashDomain(domain).slice(2) // true
 * ```
 */
export function agentDomainSeparator(domain: AgentDomain): Uint8Array {
  return keccak_256(
    concatBytes(
      DOMAIN_TYPE_HASH,
      keccak_256(utf8ToBytes(domain.name)),
      keccak_256(utf8ToBytes(domain.version)),
      uint256(domain.chainId),
      fromHex(domain.salt, 'domain.salt'),
    ),
  )
}

/**
 * The EIP-712 signing digest `keccak256(0x1901 || domainSeparator || structHash)`.
 *
 * @example
 * ```ts
 * const digest = typedDataDigest(agentDomainSeparator(domain), structHash)
 * ```
 */
export function typedDataDigest(domainSeparator: Uint8Array, structHash: Uint8Array): Uint8Array {
  return keccak_256(concatBytes(new Uint8Array([0x19, 0x01]), domainSeparator, structHash))
}

/**
 * A non-negative safe integer as a 32-byte big-endian ABI word.
 *
 * @example
 * ```ts
 * toHex(uint256(1)) // '00…01'
 * ```
 */
export function uint256(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    const word = new Uint8Array(32)
    new DataView(word.buffer).setBigUint64(24, BigInt(value), false)
    return word
  }
  const big = BigInt(value)
  if (big < 0n || big >= 1n << 256n) throw new RangeError(`uint256: out of range: ${value}`)
  return fromHex(big.toString(16).padStart(64, '0'))
}

/**
 * An address as a 32-byte ABI word (left-padded).
 *
 * @example
 * ```ts
 * addressWord('0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826')
 * ```
 */
export function addressWord(address: string): Uint8Array {
  // The word is the address's bytes: letter case (the EIP-55 checksum) is not checked here, so data
  // read from an untrusted trace line hashes (and then fails its checks) instead of throwing.
  return fromHex(`${'0'.repeat(24)}${getAddress(address.toLowerCase()).slice(2)}`)
}
