import { toHex } from '../crypto/bytes.js'
import { agentDomain, agentDomainSeparator, typedDataDigest } from '../identity/agent-domain.js'
import {
  type CheckpointMessage,
  checkpointStructHash,
  type KeyRotationMessage,
  keyRotationStructHash,
  type TraceEntryMessage,
  traceEntryStructHash,
} from './typed-data.js'

/**
 * EIP-712 signing digests of the trace structs under an agent's domain. Domain separators are
 * cached per (agent, chainId): hashing the domain is the costliest part of a digest.
 */

const separators = new Map<string, Uint8Array>()

/**
 * The cached EIP-712 domain separator of an agent on a chain.
 *
 * @example
 * ```ts
 * const separator = domainSeparatorOf(agent, 1)
 * ```
 */
export function domainSeparatorOf(agent: string, chainId: number): Uint8Array {
  const key = `${agent.toLowerCase()}:${chainId}`
  let separator = separators.get(key)
  if (!separator) {
    // By the bytes of the address: its letter case (EIP-55 checksum) does not enter the domain, and a
    // trace line whose address case was altered must be reported by the verifier, not crash it.
    separator = agentDomainSeparator(agentDomain({ agent: agent.toLowerCase(), chainId }))
    if (separators.size > 1024) separators.clear()
    separators.set(key, separator)
  }
  return separator
}

/** Where a digest is signed: the agent and the chain id of its domain. */
export type DomainOf = { agent: string; chainId: number }

/**
 * The 32-byte digest an agent signs for a trace entry.
 *
 * @example
 * ```ts
 * traceEntryDigest({ agent, chainId: 1 }, { seq, prevHash, entryHash })
 * ```
 */
export function traceEntryDigest(domain: DomainOf, message: TraceEntryMessage): Uint8Array {
  return typedDataDigest(domainSeparatorOf(domain.agent, domain.chainId), traceEntryStructHash(message))
}

/**
 * The 32-byte digest an agent signs for a checkpoint.
 *
 * @example
 * ```ts
 * checkpointDigest({ agent, chainId: 1 }, { origin, size, root })
 * ```
 */
export function checkpointDigest(domain: DomainOf, message: CheckpointMessage): Uint8Array {
  return typedDataDigest(domainSeparatorOf(domain.agent, domain.chainId), checkpointStructHash(message))
}

/**
 * The 32-byte digest the **next** key signs (in its own domain) to accept a key rotation.
 *
 * @example
 * ```ts
 * keyRotationDigest({ agent: nextAgent, chainId: 1 }, { previousAgent, nextAgent, seq, prevHash })
 * ```
 */
export function keyRotationDigest(domain: DomainOf, message: KeyRotationMessage): Uint8Array {
  return typedDataDigest(domainSeparatorOf(domain.agent, domain.chainId), keyRotationStructHash(message))
}

/**
 * `0x`-hex of signature bytes.
 *
 * @example
 * ```ts
 * signatureHex(signer.signDigest(digest))
 * ```
 */
export function signatureHex(signature: Uint8Array): string {
  return `0x${toHex(signature)}`
}
