import { EventEmitter } from 'node:events'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { z } from 'zod'
import { AbortedError, ProofError, ProverBusyError } from '../errors.js'
import { parseInput } from '../validation.js'
import { engineModulePath } from './ezkl-engine.js'
import type { ModelPackage } from './model-package.js'
import { normalizeProof } from './proof-file.js'

/**
 * The worker's code (CommonJS, run with `eval: true` so it needs no loader or build step):
 * one `@ezkljs/engine` instance per worker; packages are loaded once, then jobs prove (and verify).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const engine = require(workerData.enginePath)
const packages = new Map()
const clamp = (b) => new Uint8ClampedArray(b.buffer, b.byteOffset, b.byteLength)
let peakRss = process.memoryUsage.rss()
parentPort.on('message', (message) => {
  try {
    if (message.type === 'load') {
      let pk = message.pk
      let regenerated
      if (!pk) {
        pk = new Uint8Array(engine.genPk(clamp(message.vk), clamp(message.compiled), clamp(message.srs)))
        const got = 'sha256:' + createHash('sha256').update(pk).digest('hex')
        if (got !== message.pkDigest) throw new Error('regenerated proving key ' + got + ' does not match ' + message.pkDigest)
        regenerated = pk
      }
      packages.set(message.key, { pk, compiled: message.compiled, srs: message.srs, vk: message.vk, settings: message.settings })
      peakRss = Math.max(peakRss, process.memoryUsage.rss())
      parentPort.postMessage({ type: 'loaded', key: message.key, regenerated, peakRss })
      return
    }
    if (message.type === 'prove') {
      const item = packages.get(message.key)
      if (!item) throw new Error('package not loaded: ' + message.key)
      const started = performance.now()
      const proof = new Uint8Array(engine.prove(clamp(message.witness), clamp(item.pk), clamp(item.compiled), clamp(item.srs)))
      const proveMs = performance.now() - started
      peakRss = Math.max(peakRss, process.memoryUsage.rss())
      let verified = null
      let verifyMs = 0
      if (message.verify) {
        const start = performance.now()
        verified = engine.verify(clamp(proof), clamp(item.vk), clamp(item.settings), clamp(item.srs)) === true
        verifyMs = performance.now() - start
      }
      peakRss = Math.max(peakRss, process.memoryUsage.rss())
      parentPort.postMessage({ type: 'proved', jobId: message.jobId, proof, verified, proveMs, verifyMs, peakRss }, [proof.buffer])
    }
  } catch (error) {
    parentPort.postMessage({ type: 'error', jobId: message.jobId, key: message.key, message: String(error && error.message ? error.message : error) })
  }
})
`

/** The result of a proof job. */
export type ProofResult = {
  proof: Uint8Array
  /** Whether the worker's own verification passed (null when the pool does not verify). */
  verified: boolean | null
  proveMs: number
  verifyMs: number
  workerIndex: number
}

/** A submitted job: its id and a promise for its result. */
export type ProofJob = { id: number; result: Promise<ProofResult> }

/** Events a pool emits (noun-verb names). */
export type ProverPoolEvents = {
  'proof-queued': [{ jobId: number; queued: number }]
  'proof-started': [{ jobId: number; workerIndex: number }]
  'proof-finished': [{ jobId: number; workerIndex: number; proveMs: number; verified: boolean | null }]
  'proof-failed': [{ jobId: number; error: Error }]
  'pool-closed': []
}

export type CreateProverPoolParameters = {
  /** Number of worker threads, each with its own engine. Default: the machine's cores. */
  workers?: number | undefined
  /** Jobs waiting beyond the running ones before `submit` throws {@link ProverBusyError}. Default 64. */
  maxQueue?: number | undefined
  /** Verify every proof in the worker right after proving it. Default true. */
  verify?: boolean | undefined
  /**
   * Called with every worker thread the pool starts, including replacements after a crash or a
   * cancelled running proof (observe lifecycles, count recycles, set up diagnostics).
   */
  onWorker?: ((event: { worker: Worker; workerIndex: number }) => void) | undefined
}

export type SubmitProofParameters = {
  package: ModelPackage
  witness: Uint8Array
  signal?: AbortSignal | undefined
}

/** Proves off the caller's thread. */
export type ProverPool = {
  readonly size: number
  /**
   * Queues a proof; throws {@link ProverBusyError} when every worker is busy and `maxQueue` jobs wait,
   * or the pool is closed, and {@link AbortedError} when the signal is already aborted. Aborting later
   * rejects the result with {@link AbortedError} at once: a queued job leaves the queue; a running
   * job's worker is terminated (the wasm prover cannot be interrupted) and replaced by a fresh one, so
   * its result is never delivered. A worker that crashes fails only the job it was running, with a
   * {@link ProofError}, and is replaced.
   */
  submit(parameters: SubmitProofParameters): ProofJob
  on<E extends keyof ProverPoolEvents>(event: E, listener: (...args: ProverPoolEvents[E]) => void): ProverPool
  off<E extends keyof ProverPoolEvents>(event: E, listener: (...args: ProverPoolEvents[E]) => void): ProverPool
  /** Queued and running jobs, and each worker's peak RSS (the process's RSS as seen from that worker). */
  stats(): { queued: number; running: number; workerPeakRssBytes: number[] }
  /** Stops accepting jobs; by default lets queued and running jobs finish, then ends the workers. */
  close(parameters?: { drain?: boolean | undefined }): Promise<void>
}

type Slot = {
  index: number
  worker: Worker
  loaded: Map<string, Promise<void>>
  busy: Job | undefined
  peakRss: number
}
type Job = {
  id: number
  model: ModelPackage
  witness: Uint8Array
  signal: AbortSignal | undefined
  resolve: (result: ProofResult) => void
  reject: (error: Error) => void
  onAbort?: (() => void) | undefined
}

const createSchema = z.object({
  workers: z.number().int().min(1).max(64).optional(),
  maxQueue: z.number().int().min(0).max(1_000_000).optional(),
  verify: z.boolean().optional(),
  onWorker: z.custom<(event: { worker: Worker; workerIndex: number }) => void>((value) => typeof value === 'function').optional(),
})
const submitSchema = z.object({
  package: z.custom<ModelPackage>(
    (value) => typeof value === 'object' && value !== null && 'manifest' in value && 'compiled' in value,
    'expected a loaded model package',
  ),
  witness: z.instanceof(Uint8Array),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
})

/**
 * A pool of worker threads, one EZKL engine each (the Node engine is single-threaded), sized to
 * the cores, with a bounded queue (back-pressure: {@link ProverBusyError}), cancellation through
 * `AbortSignal`, progress events and clean shutdown.
 *
 * @example
 * ```ts
 * const pool = createProverPool({ workers: 2 })
 * pool.on('proof-finished', ({ jobId, proveMs }) => console.log(jobId, proveMs))
 * const { proof, verified } = await pool.submit({ package: model, witness }).result
 * await pool.close()
 * ```
 */
export function createProverPool(parameters: CreateProverPoolParameters = {}): ProverPool {
  const options = parseInput(createSchema, parameters, { what: 'createProverPool parameters' })
  const size = options.workers ?? Math.max(1, availableParallelism())
  const maxQueue = options.maxQueue ?? 64
  const verify = options.verify ?? true
  const emitter = new EventEmitter()
  const queue: Job[] = []
  const slots: Slot[] = []
  let nextId = 1
  let closed = false
  let drained: (() => void) | undefined
  const enginePath = engineModulePath()

  const spawnSlot = (index: number): Slot => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { enginePath } })
    const slot: Slot = { index, worker, loaded: new Map(), busy: undefined, peakRss: 0 }
    worker.on('error', (error) => failSlot(slot, error))
    worker.on('exit', (code) => {
      if (slots[slot.index] === slot && !closed) failSlot(slot, new Error(`prover worker exited with code ${code}`))
    })
    options.onWorker?.({ worker, workerIndex: index })
    return slot
  }
  const failSlot = (slot: Slot, error: Error) => {
    const job = slot.busy
    slot.busy = undefined
    if (slots[slot.index] === slot) {
      slots[slot.index] = spawnSlot(slot.index)
      void slot.worker.terminate()
    }
    if (job) finishJob(job, undefined, new ProofError('The prover worker failed', { details: error.message, cause: error }))
    pump()
  }

  const finishJob = (job: Job, result: ProofResult | undefined, error: Error | undefined) => {
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort)
    if (error) {
      emitter.emit('proof-failed', { jobId: job.id, error })
      job.reject(error)
    } else if (result) {
      emitter.emit('proof-finished', {
        jobId: job.id,
        workerIndex: result.workerIndex,
        proveMs: result.proveMs,
        verified: result.verified,
      })
      job.resolve(result)
    }
  }

  const ensureLoaded = (slot: Slot, model: ModelPackage): Promise<void> => {
    const existing = slot.loaded.get(model.digest)
    if (existing) return existing
    const promise = new Promise<void>((resolve, reject) => {
      const listener = (message: {
        type: string
        key?: string
        message?: string
        regenerated?: Uint8Array
        peakRss?: number
      }) => {
        if (message.key !== model.digest || (message.type !== 'loaded' && message.type !== 'error')) return
        slot.worker.off('message', listener)
        if (message.type === 'error') {
          slot.loaded.delete(model.digest)
          reject(new ProofError('The prover worker could not load the model package', { details: message.message }))
          return
        }
        if (message.regenerated) model.cacheProvingKey(new Uint8Array(message.regenerated))
        slot.peakRss = Math.max(slot.peakRss, message.peakRss ?? 0)
        resolve()
      }
      slot.worker.on('message', listener)
      slot.worker.postMessage({
        type: 'load',
        key: model.digest,
        pk: model.peekProvingKey(),
        pkDigest: model.manifest.provingKey.digest,
        compiled: model.compiled,
        srs: model.srs,
        vk: model.vk,
        settings: model.settings,
      })
    })
    slot.loaded.set(model.digest, promise)
    return promise
  }

  const run = async (slot: Slot, job: Job) => {
    slot.busy = job
    emitter.emit('proof-started', { jobId: job.id, workerIndex: slot.index })
    try {
      await ensureLoaded(slot, job.model)
      if (slot.busy !== job) return
      const result = await new Promise<ProofResult>((resolve, reject) => {
        const listener = (message: {
          type: string
          jobId?: number
          proof?: Uint8Array
          verified?: boolean | null
          proveMs?: number
          verifyMs?: number
          message?: string
          peakRss?: number
        }) => {
          if (message.jobId !== job.id) return
          slot.worker.off('message', listener)
          slot.peakRss = Math.max(slot.peakRss, message.peakRss ?? 0)
          if (message.type === 'error') reject(new ProofError('Proving failed', { details: message.message }))
          else
            resolve({
              proof: new Uint8Array(message.proof as Uint8Array),
              verified: message.verified ?? null,
              proveMs: message.proveMs ?? 0,
              verifyMs: message.verifyMs ?? 0,
              workerIndex: slot.index,
            })
        }
        slot.worker.on('message', listener)
        slot.worker.postMessage({ type: 'prove', jobId: job.id, key: job.model.digest, witness: job.witness, verify })
      })
      if (slot.busy !== job) return
      result.proof = normalizeProof(result.proof)
      slot.busy = undefined
      finishJob(job, result, undefined)
    } catch (error) {
      if (slot.busy !== job) return
      slot.busy = undefined
      finishJob(job, undefined, error as Error)
    }
    pump()
  }

  const pump = () => {
    for (const slot of slots) {
      if (slot.busy) continue
      const job = queue.shift()
      if (!job) break
      void run(slot, job)
    }
    if (closed && drained && queue.length === 0 && slots.every((slot) => !slot.busy)) drained()
  }

  for (let index = 0; index < size; index++) slots.push(spawnSlot(index))

  const pool: ProverPool = {
    size,
    submit(parameters) {
      const submitParameters = parseInput(submitSchema, parameters, {
        what: 'prover pool submit parameters',
        hint: 'Pass { package, witness } from loadModelPackage and runWitness.',
      })
      if (closed) throw new ProverBusyError('The prover pool is closed', { hint: 'Create a new pool.' })
      const running = slots.filter((slot) => slot.busy).length
      if (running === size && queue.length >= maxQueue)
        throw new ProverBusyError('The prover pool is full', {
          details: `${queue.length} proofs queued, ${running} running`,
          hint: 'Retry later, or create the pool with a larger maxQueue or more workers.',
          meta: { queued: queue.length, running },
        })
      const signal = submitParameters.signal
      if (signal?.aborted) throw new AbortedError('The proof was cancelled before it was queued')
      const id = nextId++
      const result = new Promise<ProofResult>((resolve, reject) => {
        const job: Job = { id, model: submitParameters.package, witness: submitParameters.witness, signal, resolve, reject }
        if (signal) {
          job.onAbort = () => {
            const error = new AbortedError('The proof was cancelled', { details: `job ${id}` })
            const position = queue.indexOf(job)
            if (position >= 0) {
              queue.splice(position, 1)
              finishJob(job, undefined, error)
              return
            }
            const slot = slots.find((candidate) => candidate.busy === job)
            if (slot) {
              // wasm cannot be interrupted: replace the worker
              slot.busy = undefined
              slots[slot.index] = spawnSlot(slot.index)
              void slot.worker.terminate()
              finishJob(job, undefined, error)
              pump()
            }
          }
          signal.addEventListener('abort', job.onAbort, { once: true })
        }
        queue.push(job)
        emitter.emit('proof-queued', { jobId: id, queued: queue.length })
      })
      // Callers that ignore the result must not crash the process with an unhandled rejection.
      result.catch(() => {})
      pump()
      return { id, result }
    },
    on(event, listener) {
      emitter.on(event, listener as (...args: unknown[]) => void)
      return pool
    },
    off(event, listener) {
      emitter.off(event, listener as (...args: unknown[]) => void)
      return pool
    },
    stats() {
      return {
        queued: queue.length,
        running: slots.filter((slot) => slot.busy).length,
        workerPeakRssBytes: slots.map((slot) => slot.peakRss),
      }
    },
    async close(closeParameters = {}) {
      if (!closed) {
        closed = true
        if (closeParameters.drain === false) {
          for (const job of queue.splice(0)) finishJob(job, undefined, new AbortedError('The prover pool was closed'))
          for (const slot of slots) {
            const job = slot.busy
            slot.busy = undefined
            if (job) finishJob(job, undefined, new AbortedError('The prover pool was closed'))
          }
        }
        await new Promise<void>((resolve) => {
          drained = resolve
          pump()
        })
        await Promise.all(slots.map((slot) => slot.worker.terminate()))
        emitter.emit('pool-closed')
      }
    },
  }
  return pool
}
