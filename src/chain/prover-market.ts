import { type Contract, keccak256, solidityPacked } from 'ethers'
import { z } from 'zod'
import { parseInput } from '../validation.js'
import { sendTransaction, type TransactionResult } from './chain-client.js'
import { proofCalldata } from './verify-on-chain.js'

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'
const ZERO_HASH = `0x${'00'.repeat(32)}`
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address')
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, '0x + 64 hex digits')

/** A proving job as posted to `ProverMarket`. */
export type ProvingJob = {
  /** `0x` + 64 hex naming the model, e.g. its manifest digest. */
  modelId: string
  verifier: string
  /** VK artifact for a reusable verifier. */
  vk?: string | undefined
  /** `0x` + 64 hex: the input commitment (a receipt's `input.commitment` without `sha256:`). */
  inputCommitment: string
  /** The public instances the proof must have (e.g. the expected output); any when omitted. */
  expectedInstances?: bigint[] | undefined
  /** ERC-20 token of the bounty; ETH when omitted. */
  token?: string | undefined
  bounty: bigint
  /** Unix seconds after which no proof is accepted and the poster may be refunded. */
  deadline: number
}

const jobSchema = z.object({
  modelId: bytes32,
  verifier: address,
  vk: address.optional(),
  inputCommitment: bytes32,
  expectedInstances: z.array(z.bigint().nonnegative()).optional(),
  token: address.optional(),
  bounty: z.bigint().positive(),
  deadline: z.number().int().positive(),
})

/**
 * `keccak256(abi.encodePacked(instances))`, the hash a job's proof instances must match.
 *
 * @example
 * ```ts
 * instancesHash(proofCalldata(proof).instances)
 * ```
 */
export function instancesHash(instances: bigint[]): string {
  return keccak256(
    solidityPacked(
      instances.map(() => 'uint256'),
      instances,
    ),
  )
}

/**
 * Posts a proving job with its bounty (ETH sent with the call, or an ERC-20 the market pulls: approve it first).
 *
 * @example
 * ```ts
 * const { jobId } = await postProvingJob({ market, job: { modelId, verifier, inputCommitment, bounty: parseEther('0.1'), deadline } })
 * ```
 */
export async function postProvingJob(parameters: {
  market: Contract
  job: ProvingJob
}): Promise<TransactionResult & { jobId: bigint }> {
  const job = parseInput(jobSchema, parameters.job, { what: 'postProvingJob job' })
  const { market } = parameters
  const request = {
    modelId: job.modelId,
    verifier: job.verifier,
    vk: job.vk ?? ZERO_ADDRESS,
    inputCommitment: job.inputCommitment,
    instancesHash: job.expectedInstances ? instancesHash(job.expectedInstances) : ZERO_HASH,
    token: job.token ?? ZERO_ADDRESS,
    bounty: job.bounty,
    deadline: job.deadline,
  }
  const overrides = job.token ? {} : { value: job.bounty }
  const jobId = (await market.getFunction('jobCount')()) as bigint
  const result = await sendTransaction(
    () => market.getFunction('postJob')(request, overrides),
    market.interface,
    'Posting the proving job',
  )
  return { ...result, jobId }
}

/**
 * Submits a proof for a job; the market checks it through the job's verifier and credits the bounty to the sender
 * (withdraw it with {@link withdrawPayment}). An invalid proof reverts `InvalidProof()` and pays nothing.
 *
 * @example
 * ```ts
 * await submitProof({ market, jobId, proof })
 * ```
 */
export async function submitProof(parameters: {
  market: Contract
  jobId: bigint
  proof: Uint8Array
}): Promise<TransactionResult> {
  const { market } = parameters
  const calldata = proofCalldata(parameters.proof)
  return sendTransaction(
    () => market.getFunction('submitProof')(parameters.jobId, calldata.proof, calldata.instances),
    market.interface,
    'Submitting the proof',
  )
}

/**
 * Credits an expired, unsettled job's bounty back to its poster.
 *
 * @example
 * ```ts
 * await refundProvingJob({ market, jobId })
 * ```
 */
export async function refundProvingJob(parameters: { market: Contract; jobId: bigint }): Promise<TransactionResult> {
  const { market } = parameters
  return sendTransaction(() => market.getFunction('refund')(parameters.jobId), market.interface, 'Refunding the job')
}

/**
 * Pulls what the market owes the sender in ETH (no `token`) or an ERC-20.
 *
 * @example
 * ```ts
 * await withdrawPayment({ market })
 * ```
 */
export async function withdrawPayment(parameters: { market: Contract; token?: string | undefined }): Promise<TransactionResult> {
  const { market } = parameters
  return sendTransaction(() => market.getFunction('withdraw')(parameters.token ?? ZERO_ADDRESS), market.interface, 'Withdrawing')
}
