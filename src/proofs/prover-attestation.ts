import { getAddress, recoverAddress, Signature, TypedDataEncoder } from 'ethers'
import { fromHex, toHex } from '../crypto/bytes.js'
import { isDigest } from '../crypto/digest.js'
import { InvalidInputError } from '../errors.js'

/**
 * Prover identity: the node that made a proof signs, EIP-712, the statement "I proved the claim
 * `receiptId` with the proof whose sha256 is `proofDigest`". A receipt carries it as
 * `prover: { address, signature }`; {@link verifyProverAttestation} recovers the address.
 * This is what an on-chain market pays against (the domain has no chain id: the attestation is an
 * off-chain statement, the contract recomputes the same digest).
 */

/** EIP-712 domain of prover attestations. */
export const PROVER_DOMAIN = { name: 'Verity Prover', version: '1' } as const
/** EIP-712 types of a prover attestation. */
export const PROVER_ATTESTATION_TYPES = {
  ProofAttestation: [
    { name: 'receiptId', type: 'bytes32' },
    { name: 'proofDigest', type: 'bytes32' },
    { name: 'prover', type: 'address' },
  ],
} as const

/** What signs prover attestations: the same shape as the identity room's `AgentSigner` (v1). */
export type ProverSigner = {
  readonly specificationVersion: 'v1'
  readonly address: string
  /** Signs a 32-byte digest; returns the 65-byte signature `r || s || v`. */
  signDigest(digest: Uint8Array): Uint8Array
}

/** A receipt's prover attestation. */
export type ProverAttestation = { address: string; signature: string }

const word = (value: string, what: string): string => {
  if (!isDigest(value)) throw new InvalidInputError(`${what} is not a sha256 digest`, { details: value })
  return `0x${value.slice('sha256:'.length)}`
}

/**
 * The EIP-712 digest a prover signs for (receipt id, proof digest, prover).
 *
 * @example
 * ```ts
 * const digest = proverAttestationDigest({ receiptId: receipt.id, proofDigest, prover: signer.address })
 * ```
 */
export function proverAttestationDigest(parameters: { receiptId: string; proofDigest: string; prover: string }): Uint8Array {
  const hash = TypedDataEncoder.hash(
    PROVER_DOMAIN,
    { ProofAttestation: [...PROVER_ATTESTATION_TYPES.ProofAttestation] },
    {
      receiptId: word(parameters.receiptId, 'receiptId'),
      proofDigest: word(parameters.proofDigest, 'proofDigest'),
      prover: getAddress(parameters.prover),
    },
  )
  return fromHex(hash, 'attestation digest')
}

/**
 * Signs a prover attestation with a node's key.
 *
 * @example
 * ```ts
 * const prover = signProverAttestation({ receiptId: receipt.id, proofDigest: digest(proof), signer })
 * const signed = { ...receipt, prover }
 * ```
 */
export function signProverAttestation(parameters: {
  receiptId: string
  proofDigest: string
  signer: ProverSigner
}): ProverAttestation {
  const address = getAddress(parameters.signer.address)
  const signature = parameters.signer.signDigest(
    proverAttestationDigest({ receiptId: parameters.receiptId, proofDigest: parameters.proofDigest, prover: address }),
  )
  return { address, signature: `0x${toHex(signature)}` }
}

/**
 * True when `attestation.signature` is `attestation.address`'s signature over (receipt id, proof
 * digest, address). Never throws for a malformed signature.
 *
 * @example
 * ```ts
 * verifyProverAttestation({ receiptId: receipt.id, proofDigest: receipt.proofDigest, attestation: receipt.prover })
 * ```
 */
export function verifyProverAttestation(parameters: {
  receiptId: string
  proofDigest: string
  attestation: ProverAttestation
}): boolean {
  try {
    const address = getAddress(parameters.attestation.address)
    const digest = proverAttestationDigest({
      receiptId: parameters.receiptId,
      proofDigest: parameters.proofDigest,
      prover: address,
    })
    const signature = Signature.from(parameters.attestation.signature)
    return recoverAddress(digest, signature) === address
  } catch {
    return false
  }
}
