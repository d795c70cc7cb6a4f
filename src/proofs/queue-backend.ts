import type { Job } from 'bullmq'
import { z } from 'zod'
import { digest } from '../crypto/digest.js'
import { AbortedError, InvalidInputError, ProverJobError } from '../errors.js'
import { parseInput } from '../validation.js'
import { backendEvents } from './backend-events.js'
import {
  FLEET_CANCEL_CHANNEL,
  FLEET_JOB_FORMAT,
  FLEET_QUEUE,
  type FleetJob,
  type FleetResult,
  fleetJobId,
  fleetResultSchema,
} from './fleet-job.js'
import type { ModelPackage } from './model-package.js'
import { verifyProof } from './prove.js'
import { verifyProverAttestation } from './prover-attestation.js'
import type { ProverBackend } from './prover-backend.js'

export type CreateQueueProverParameters = {
  /** Redis URL of the fleet, e.g. `redis://127.0.0.1:6379`. */
  redis: string
  /** Tries per job across nodes before it is dead-lettered (default 3). */
  attempts?: number | undefined
  /** First retry delay; doubles each try (default 1000 ms). */
  backoffMs?: number | undefined
  /** Reject a proof that takes longer than this (default 10 minutes). */
  timeoutMs?: number | undefined
}

const createSchema = z.object({
  redis: z.string().regex(/^rediss?:\/\//, 'a redis:// URL'),
  attempts: z.number().int().min(1).max(100).optional(),
  backoffMs: z.number().int().min(0).max(3_600_000).optional(),
  timeoutMs: z.number().int().min(1).optional(),
})

/**
 * The `queue` backend: proofs go to a fleet of prover nodes (`verity prover start`) over Redis with
 * BullMQ. The job id is the receipt's claim id (proving a claim twice is one job, one proof);
 * failed tries are retried with exponential backoff on any node, then dead-lettered; an aborted
 * signal removes a waiting job or cancels a running one on its node. The returned proof is
 * verified here with the engine and its prover signature checked: a node is not trusted.
 *
 * @example
 * ```ts
 * const prover = await createQueueProver({ redis: 'redis://127.0.0.1:6379' })
 * const { proof, prover: node } = await prover.prove({ package: model, witness, receiptId: receipt.id })
 * ```
 */
export async function createQueueProver(parameters: CreateQueueProverParameters): Promise<ProverBackend> {
  const options = parseInput(createSchema, parameters, { what: 'createQueueProver parameters' })
  // loaded here, not at the top: importing `verity/proofs` must not load the fleet's dependencies
  const { Queue, QueueEvents } = await import('bullmq')
  const { Redis } = await import('ioredis')
  const connection = new Redis(options.redis, { maxRetriesPerRequest: null })
  connection.on('error', () => {}) // ioredis reconnects by itself; a failed command rejects its caller
  const queue = new Queue<FleetJob, FleetResult>(FLEET_QUEUE, { connection })
  const eventsConnection = connection.duplicate()
  eventsConnection.on('error', () => {})
  const queueEvents = new QueueEvents(FLEET_QUEUE, { connection: eventsConnection })
  queue.on('error', () => {})
  queueEvents.on('error', () => {})
  await queueEvents.waitUntilReady()
  const events = backendEvents()
  const mine = new Set<string>()
  const seen = new Set<string>()
  let running = 0
  let queued = 0
  let slots = 0
  queueEvents.on('progress', ({ jobId, data }) => {
    if (!mine.has(jobId)) return
    const stage = String((data as { stage?: unknown })?.stage ?? 'progress')
    if (stage === 'proving') events.emit('proof-started', { jobId })
    else events.emit('proof-progressed', { jobId, stage })
  })

  const backend: ProverBackend = {
    specificationVersion: 'v1',
    kind: 'queue',
    async prove({ package: model, witness, receiptId, signal }) {
      if (!receiptId)
        throw new InvalidInputError('The queue backend needs the receipt id', {
          hint: 'Pass receiptId (the receipt’s claim id): it is the job id that makes proving idempotent.',
        })
      if (signal?.aborted) throw new AbortedError('The proof was cancelled before it was queued')
      const jobId = fleetJobId(receiptId)
      const data: FleetJob = {
        format: FLEET_JOB_FORMAT,
        receiptId,
        package: { digest: model.digest, name: model.manifest.name },
        witness: Buffer.from(witness).toString('base64'),
      }
      mine.add(jobId)
      queued++
      let job: Job<FleetJob, FleetResult>
      try {
        job = await queue.add('prove', data, {
          jobId,
          attempts: options.attempts ?? 3,
          backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
          removeOnComplete: { age: 24 * 3600 },
          removeOnFail: { age: 24 * 3600 },
        })
      } catch (error) {
        queued--
        mine.delete(jobId)
        throw error
      }
      events.emit('proof-queued', { jobId })
      void queue
        .getWorkersCount()
        .then((count) => {
          slots = count
        })
        .catch(() => {})
      const onAbort = () => {
        void (async () => {
          const state = await job.getState().catch(() => 'unknown')
          if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await job.remove().catch(() => {})
          else await connection.publish(FLEET_CANCEL_CHANNEL, jobId).catch(() => {})
        })()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      running++
      queued--
      try {
        const aborted = new Promise<never>((_, reject) => {
          signal?.addEventListener('abort', () => reject(new AbortedError('The proof was cancelled', { details: jobId })), {
            once: true,
          })
        })
        aborted.catch(() => {})
        let raw: unknown
        try {
          raw = await Promise.race([job.waitUntilFinished(queueEvents, options.timeoutMs ?? 600_000), aborted])
        } catch (error) {
          if (error instanceof AbortedError) throw error
          const failure = error as Error
          throw new ProverJobError('The prover fleet could not prove the job', {
            details: `job ${jobId}: ${failure.message}`,
            hint: 'See the dead-letter queue (verity-proofs-dead) for the reason; start a node that holds the package.',
            docsPath: 'proofs.md',
            cause: error,
          })
        }
        const result = fleetResultSchema.safeParse(raw)
        if (!result.success) throw new ProverJobError('A prover node returned a malformed result', { details: jobId })
        const proof = new Uint8Array(Buffer.from(result.data.proof, 'base64'))
        const proofDigest = digest(proof)
        const signed =
          proofDigest === result.data.proofDigest &&
          verifyProverAttestation({ receiptId, proofDigest, attestation: result.data.prover })
        if (!signed) throw new ProverJobError('A prover node returned a proof without a valid signature', { details: jobId })
        const verified = verifyProof({ proof, vk: model.vk, settings: model.settings, srs: model.srs })
        seen.add(model.digest)
        events.emit('proof-finished', { jobId, proveMs: result.data.proveMs })
        return { proof, verified, prover: result.data.prover, proveMs: result.data.proveMs }
      } catch (error) {
        events.emit('proof-failed', { jobId, error: error as Error })
        throw error
      } finally {
        running--
        mine.delete(jobId)
        signal?.removeEventListener('abort', onAbort)
      }
    },
    async verify({ package: model, proof }: { package: ModelPackage; proof: Uint8Array }) {
      return verifyProof({ proof, vk: model.vk, settings: model.settings, srs: model.srs })
    },
    capacity() {
      return { slots, running, queued }
    },
    models() {
      return [...seen]
    },
    ...events.methods(() => backend),
    async close() {
      await queueEvents.close()
      await queue.close()
      eventsConnection.disconnect()
      connection.disconnect()
      events.emit('backend-closed')
    },
  }
  return backend
}
