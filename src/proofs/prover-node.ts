import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Job } from 'bullmq'
import { z } from 'zod'
import { digest } from '../crypto/digest.js'
import { parseInput } from '../validation.js'
import {
  FLEET_CANCEL_CHANNEL,
  FLEET_DEAD_LETTER_QUEUE,
  FLEET_QUEUE,
  type FleetDeadLetter,
  type FleetJob,
  type FleetResult,
  fleetJobSchema,
} from './fleet-job.js'
import { loadModelPackage, MODEL_MANIFEST_FILE, type ModelPackage } from './model-package.js'
import type { ProverSigner } from './prover-attestation.js'
import type { ProverBackend } from './prover-backend.js'

export type StartProverNodeParameters = {
  /** Redis URL of the fleet. */
  redis: string
  /** A folder of model packages (or one package); a job's package is found here by digest. */
  models: string
  /** The backend that proves (native or wasm); it must sign with `signer`. */
  backend: ProverBackend
  /** The node's key: results carry its signature. */
  signer: ProverSigner
  /** Jobs proven at once (default 1: a proof already uses every core). */
  concurrency?: number | undefined
  /** How long a job's lock lives without renewal: a node killed mid-proof hands its job to another after this (default 30 s). */
  lockDurationMs?: number | undefined
  /** How often the node looks for jobs whose node died (default: the lock duration). */
  stalledIntervalMs?: number | undefined
  /**
   * Fetches a package the node lacks into the models folder (e.g. a pull from a Verity hub by digest);
   * the node then loads it and proves only if its digest is exactly the job's.
   */
  fetchPackage?: ((request: { digest: string; name: string; models: string }) => Promise<void>) | undefined
  /** Called on each job event (the CLI prints them). */
  onEvent?: ((event: ProverNodeEvent) => void) | undefined
}

/** What a node reports as it works. */
export type ProverNodeEvent =
  | { type: 'job-started'; jobId: string; attempt: number }
  | { type: 'job-completed'; jobId: string; proveMs: number }
  | { type: 'job-failed'; jobId: string; reason: string; final: boolean }

export type ProverNode = {
  readonly address: string
  /** Digests of the packages the node holds. */
  models(): string[]
  /** Graceful shutdown: takes no new job, finishes the running ones, then closes (`force`: hands them back now). */
  close(parameters?: { force?: boolean | undefined }): Promise<void>
}

const startSchema = z.object({
  redis: z.string().regex(/^rediss?:\/\//, 'a redis:// URL'),
  models: z.string().min(1),
  backend: z.custom<ProverBackend>((value) => typeof value === 'object' && value !== null && 'prove' in value),
  signer: z.custom<ProverSigner>((value) => typeof value === 'object' && value !== null && 'signDigest' in value),
  concurrency: z.number().int().min(1).max(64).optional(),
  lockDurationMs: z.number().int().min(1000).optional(),
  stalledIntervalMs: z.number().int().min(500).optional(),
  fetchPackage: z
    .custom<NonNullable<StartProverNodeParameters['fetchPackage']>>((value) => typeof value === 'function')
    .optional(),
  onEvent: z.custom<(event: ProverNodeEvent) => void>((value) => typeof value === 'function').optional(),
})

function scanPackages(dir: string): Map<string, ModelPackage> {
  const found = new Map<string, ModelPackage>()
  const root = resolve(dir)
  const candidates = existsSync(join(root, MODEL_MANIFEST_FILE))
    ? [root]
    : existsSync(root)
      ? readdirSync(root).map((entry) => join(root, entry))
      : []
  for (const candidate of candidates) {
    if (!existsSync(join(candidate, MODEL_MANIFEST_FILE))) continue
    try {
      const model = loadModelPackage({ dir: candidate })
      found.set(model.digest, model)
    } catch {
      // a package that does not load (tampered, other EZKL version) is never used
    }
  }
  return found
}

/**
 * Starts a prover node: takes proof jobs from the fleet's BullMQ queue, proves each with the
 * package of exactly the digest the job names (a package it lacks is looked for again in the models
 * folder, then fetched with `fetchPackage` when given; one with the job's name but another digest is refused), signs the result with the
 * node's key, and returns it. A malformed job is dead-lettered at once with the reason; a job that
 * fails every try is dead-lettered with the last reason. A node killed mid-proof loses its lock and
 * another node proves the job; a job completes once.
 *
 * @example
 * ```ts
 * const node = await startProverNode({ redis: 'redis://127.0.0.1:6379', models: 'models', backend, signer })
 * process.on('SIGTERM', () => node.close())
 * ```
 */
export async function startProverNode(parameters: StartProverNodeParameters): Promise<ProverNode> {
  const options = parseInput(startSchema, parameters, { what: 'startProverNode parameters' })
  // loaded here, not at the top: importing `verity/proofs` must not load the fleet's dependencies
  const { Queue, UnrecoverableError, Worker } = await import('bullmq')
  const { Redis } = await import('ioredis')
  let packages = scanPackages(options.models)
  const connection = new Redis(options.redis, { maxRetriesPerRequest: null })
  connection.on('error', () => {}) // ioredis reconnects by itself; BullMQ retries its commands
  const subscriber = connection.duplicate()
  subscriber.on('error', () => {})
  const deadLetters = new Queue<FleetDeadLetter>(FLEET_DEAD_LETTER_QUEUE, { connection })
  deadLetters.on('error', () => {})
  const emit = (event: ProverNodeEvent) => {
    try {
      options.onEvent?.(event)
    } catch {
      // an observer must not break the node
    }
  }

  const packageFor = async (job: FleetJob): Promise<ModelPackage> => {
    let model = packages.get(job.package.digest)
    if (!model) {
      packages = scanPackages(options.models) // a package copied in since start
      model = packages.get(job.package.digest)
    }
    if (!model && options.fetchPackage) {
      try {
        await options.fetchPackage({ digest: job.package.digest, name: job.package.name, models: resolve(options.models) })
      } catch (error) {
        throw new Error(
          `this node could not fetch package ${job.package.name} (${job.package.digest}): ${(error as Error).message}`,
        )
      }
      packages = scanPackages(options.models)
      model = packages.get(job.package.digest)
    }
    if (model) return model
    const sameName = [...packages.values()].find((candidate) => candidate.manifest.name === job.package.name)
    throw new Error(
      sameName
        ? `refused: this node's package ${job.package.name} has digest ${sameName.digest}, the job needs ${job.package.digest}`
        : `this node lacks package ${job.package.name} (${job.package.digest})`,
    )
  }

  const proveJob = async (job: Job<FleetJob, FleetResult>, _token?: string, signal?: AbortSignal): Promise<FleetResult> => {
    const parsed = fleetJobSchema.safeParse(job.data)
    if (!parsed.success)
      throw new UnrecoverableError(
        `malformed job: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      )
    const data = parsed.data
    if (job.id !== data.receiptId.slice('sha256:'.length))
      throw new UnrecoverableError('malformed job: the job id is not its receipt id')
    emit({ type: 'job-started', jobId: String(job.id), attempt: job.attemptsMade + 1 })
    const model = await packageFor(data)
    // the progress report goes out beside the proof, not before it: with AOF `appendfsync always`
    // each Redis write waits for an fsync, and proving need not wait for this one (`at` is when it starts)
    job.updateProgress({ stage: 'proving', node: options.signer.address, at: Date.now() }).catch(() => {})
    const result = await options.backend.prove({
      package: model,
      witness: new Uint8Array(Buffer.from(data.witness, 'base64')),
      receiptId: data.receiptId,
      signal,
    })
    if (signal?.aborted) throw new UnrecoverableError('cancelled')
    if (!result.prover) throw new Error('the backend did not sign the proof (start it with the node signer)')
    if (result.verified === false) throw new Error('the proof did not verify on this node')
    return {
      proof: Buffer.from(result.proof).toString('base64'),
      proofDigest: digest(result.proof),
      prover: result.prover,
      proveMs: result.proveMs,
    }
  }

  const lockDuration = options.lockDurationMs ?? 30_000
  const worker = new Worker<FleetJob, FleetResult>(FLEET_QUEUE, proveJob, {
    connection,
    concurrency: options.concurrency ?? 1,
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? lockDuration,
    maxStalledCount: 3,
  })
  worker.on('error', () => {
    // connection errors: ioredis reconnects; jobs whose lock lapses are handed to another node
  })
  worker.on('completed', (job, result) => emit({ type: 'job-completed', jobId: String(job.id), proveMs: result.proveMs }))
  worker.on('failed', (job, error) => {
    if (!job) return
    const final = error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1)
    emit({ type: 'job-failed', jobId: String(job.id), reason: error.message, final })
    if (!final) return
    const letter: FleetDeadLetter = {
      jobId: String(job.id),
      receiptId: typeof job.data?.receiptId === 'string' ? job.data.receiptId : undefined,
      reason: error.message,
      attempts: job.attemptsMade,
      failedAt: new Date().toISOString(),
    }
    void deadLetters.add('dead', letter, { jobId: String(job.id) }).catch(() => {})
  })
  await subscriber.subscribe(FLEET_CANCEL_CHANNEL)
  subscriber.on('message', (_channel, jobId: string) => {
    worker.cancelJob(jobId, 'cancelled by the enqueuer')
  })
  await worker.waitUntilReady()

  return {
    address: options.signer.address,
    models: () => [...packages.keys()],
    async close(closeParameters = {}) {
      await worker.close(closeParameters.force === true)
      await deadLetters.close()
      subscriber.disconnect()
      connection.disconnect()
      await options.backend.close()
    },
  }
}
