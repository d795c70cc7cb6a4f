import { Interface } from 'ethers'
import { z } from 'zod'
import { canonicalJson } from '../crypto/canonical-json.js'
import { digest } from '../crypto/digest.js'
import { ProofError } from '../errors.js'
import { FIELD_MODULUS, feltToFloat, parseFelt } from '../proofs/field.js'
import { type Receipt, receiptSchema } from '../proofs/receipt.js'
import { parseInput } from '../validation.js'
import type { ChainClient } from './chain-client.js'

/** The ABI of EZKL's verifiers: per-model `verifyProof(proof, instances)` and reusable `verifyProof(vk, proof, instances)`. */
export const HALO2_VERIFIER_ABI = [
  'function verifyProof(bytes proof, uint256[] instances) returns (bool)',
  'function verifyProof(address vk, bytes proof, uint256[] instances) returns (bool)',
]
const verifierInterface = new Interface(HALO2_VERIFIER_ABI)

/** A proof as an EVM verifier takes it: the proof bytes and the public instances as field elements. */
export type ProofCalldata = { proof: string; instances: bigint[] }

/**
 * Reads an EZKL proof file (EVM transcript) into verifier arguments: `hex_proof` and the instances (little-endian
 * hex in the file) as integers. The same bytes as ezkl's `encode_evm_calldata`.
 *
 * @example
 * ```ts
 * const { proof, instances } = proofCalldata(proofBytes)
 * await verifier.verifyProof(proof, instances)
 * ```
 */
export function proofCalldata(proofFile: Uint8Array): ProofCalldata {
  let parsed: { hex_proof?: unknown; instances?: unknown; transcript_type?: unknown }
  try {
    parsed = JSON.parse(new TextDecoder().decode(proofFile))
  } catch (cause) {
    throw new ProofError('The proof is not an EZKL proof file', { details: (cause as Error).message, cause })
  }
  if (typeof parsed.hex_proof !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(parsed.hex_proof) || !Array.isArray(parsed.instances))
    throw new ProofError('The proof file has no EVM proof bytes or instances', {
      hint: 'Prove with EZKL 21 (transcript EVM): Verity packages prove with it by default.',
    })
  if (parsed.transcript_type !== undefined && parsed.transcript_type !== 'EVM')
    throw new ProofError(`The proof uses the ${String(parsed.transcript_type)} transcript; EVM verifiers need EVM`)
  const instances = (parsed.instances as unknown[]).flat().map((felt) => {
    const value = parseFelt(String(felt))
    if (value >= FIELD_MODULUS) throw new ProofError('A proof instance is not a field element')
    return value
  })
  return { proof: parsed.hex_proof, instances }
}

/**
 * The calldata of one `verifyProof` call (the bytes ezkl's `encode_evm_calldata` writes).
 *
 * @example
 * ```ts
 * await provider.call({ to: verifier, data: encodeVerifierCalldata({ proof, instances }) })
 * ```
 */
export function encodeVerifierCalldata(parameters: ProofCalldata & { vk?: string | undefined }): string {
  return parameters.vk
    ? verifierInterface.encodeFunctionData('verifyProof(address,bytes,uint256[])', [
        parameters.vk,
        parameters.proof,
        parameters.instances,
      ])
    : verifierInterface.encodeFunctionData('verifyProof(bytes,uint256[])', [parameters.proof, parameters.instances])
}

export type VerifyOnChainParameters = {
  client: ChainClient
  /** The verifier contract (per-model, or reusable with `vk`). */
  verifier: string
  /** The VK artifact, for a reusable verifier. */
  vk?: string | undefined
  /** The EZKL proof file. */
  proof: Uint8Array
  /** The receipt the proof is for: its proof digest and output are checked against the proof's instances. */
  receipt?: unknown
  /** Output scales of the model (manifest `ezkl.outputScales`), needed with `receipt`. */
  outputScales?: number[] | undefined
  /** Sizes of the model's outputs (elements per output tensor), needed with `receipt`. */
  outputSizes?: number[] | undefined
}

/** The answer of an on-chain verification. */
export type VerifyOnChainReturnType = {
  valid: boolean
  /** The verifier's answer (false when it reverted). */
  verifierResult: boolean
  /** Gas the verification costs as a transaction (eth_estimateGas), when the verifier accepted it. */
  gas: bigint | undefined
  /** Why it is not valid. */
  reason?: string | undefined
  receipt?: Receipt | undefined
}

const schema = z.object({
  client: z.custom<ChainClient>((value) => typeof value === 'object' && value !== null && 'provider' in value),
  verifier: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  vk: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/)
    .optional(),
  proof: z.instanceof(Uint8Array),
  receipt: z.unknown().optional(),
  outputScales: z.array(z.number().int()).optional(),
  outputSizes: z.array(z.number().int().positive()).optional(),
})

/**
 * Sends a proof to an EVM verifier (eth_call, so nothing is paid) and reports the verifier's answer and the gas a
 * verifying transaction costs. With a receipt, it also checks the receipt names this proof and that the proof's
 * public instances are the receipt's output. Never throws for a bad proof: `valid` is false with a `reason`.
 *
 * @example
 * ```ts
 * const { valid, gas } = await verifyOnChain({ client, verifier, proof, receipt, outputScales: [7], outputSizes: [1] })
 * ```
 */
export async function verifyOnChain(parameters: VerifyOnChainParameters): Promise<VerifyOnChainReturnType> {
  const options = parseInput(schema, parameters, { what: 'verifyOnChain parameters' })
  const calldata = proofCalldata(options.proof)
  let receipt: Receipt | undefined
  let receiptProblem: string | undefined
  if (options.receipt !== undefined) {
    const parsed = receiptSchema.safeParse(options.receipt)
    if (!parsed.success) receiptProblem = 'the receipt is malformed'
    else {
      receipt = parsed.data
      const scales = options.outputScales ?? []
      const sizes = options.outputSizes ?? receipt.output.map((values) => values.length)
      const total = sizes.reduce((sum, size) => sum + size, 0)
      let offset = calldata.instances.length - total
      const attested = sizes.map((size, index) => {
        const values = calldata.instances.slice(offset, offset + size).map((felt) => feltToFloat(felt, scales[index] ?? 0))
        offset += size
        return values
      })
      if (receipt.proofDigest !== digest(options.proof)) receiptProblem = 'the receipt names another proof'
      else if (total > calldata.instances.length || canonicalJson(attested) !== canonicalJson(receipt.output))
        receiptProblem = `the proof attests ${canonicalJson(attested)}, the receipt says ${canonicalJson(receipt.output)}`
    }
  }
  const data = encodeVerifierCalldata({ ...calldata, vk: options.vk })
  let verifierResult = false
  let reason: string | undefined
  try {
    const result = await options.client.provider.call({ to: options.verifier, data })
    verifierResult = verifierInterface.decodeFunctionResult('verifyProof(bytes,uint256[])', result)[0] === true
    if (!verifierResult) reason = 'the verifier returned false'
  } catch {
    reason = 'the verifier rejected the proof (reverted)'
  }
  let gas: bigint | undefined
  if (verifierResult) gas = await options.client.provider.estimateGas({ to: options.verifier, data })
  if (receiptProblem) reason = reason ? `${receiptProblem}; ${reason}` : receiptProblem
  return { valid: verifierResult && receiptProblem === undefined, verifierResult, gas, reason, receipt }
}
