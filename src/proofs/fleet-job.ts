import { z } from 'zod'
import { isDigest } from '../crypto/digest.js'

/**
 * The prover fleet's wire format: what an enqueuer puts on the BullMQ queue and what a node
 * returns. Jobs are keyed by the receipt's claim id, so the same claim proven twice is one job.
 */

/** The BullMQ queue every node takes proof jobs from. */
export const FLEET_QUEUE = 'verity-proofs'
/** Where jobs that cannot be proven land, with the reason (a BullMQ queue nobody processes). */
export const FLEET_DEAD_LETTER_QUEUE = 'verity-proofs-dead'
/** Redis pub/sub channel on which enqueuers ask the node running a job to cancel it. */
export const FLEET_CANCEL_CHANNEL = 'verity-proofs:cancel'
/** Format tag of a fleet job. */
export const FLEET_JOB_FORMAT = 'verity-proof-job/v1'

const digestSchema = z.string().refine(isDigest, 'expected sha256:<64 hex>')

/** A proof job (zod schema). */
export const fleetJobSchema = z.strictObject({
  format: z.literal(FLEET_JOB_FORMAT),
  /** The receipt's claim id; also (hex, without `sha256:`) the BullMQ job id. */
  receiptId: digestSchema,
  /** The package the witness belongs to: a node proves only with a package of exactly this digest. */
  package: z.strictObject({ digest: digestSchema, name: z.string().min(1).max(200) }),
  /** The witness file (EZKL JSON), base64. */
  witness: z
    .string()
    .min(1)
    .max(64 * 1024 * 1024),
})
export type FleetJob = z.output<typeof fleetJobSchema>

/** What a node returns for a job (zod schema). */
export const fleetResultSchema = z.strictObject({
  /** The proof file in normal form, base64. */
  proof: z.string().min(1),
  proofDigest: digestSchema,
  /** The node's EIP-712 signature over (receiptId, proofDigest, address). */
  prover: z.strictObject({ address: z.string(), signature: z.string() }),
  proveMs: z.number(),
})
export type FleetResult = z.output<typeof fleetResultSchema>

/** A dead-lettered job: which, why, and when. */
export type FleetDeadLetter = { jobId: string; receiptId: string | undefined; reason: string; attempts: number; failedAt: string }

/**
 * The BullMQ job id of a receipt's claim id (`sha256:<hex>` → `<hex>`: BullMQ ids may not contain `:`).
 *
 * @example
 * ```ts
 * fleetJobId(receipt.id) // '3f2a…'
 * ```
 */
export function fleetJobId(receiptId: string): string {
  return receiptId.startsWith('sha256:') ? receiptId.slice('sha256:'.length) : receiptId
}
