import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { assertBytes } from './bytes.js'
import { sha256 } from './digest.js'

/**
 * SHA-256 of large inputs on worker threads, so hashing a big model package uses more than one
 * core and leaves the event loop free to read and write meanwhile. Small inputs hash inline (a
 * round trip to a worker costs more than their hash). The calling thread also hashes inline when
 * every worker already has work queued, so it is never idle while the workers are busy.
 *
 * The workers start on the first large input and do not keep the process alive when idle.
 */

/** Inputs below this size hash inline. */
const MIN_WORKER_BYTES = 256 * 1024
/** Jobs queued per worker before the calling thread hashes the next input itself. */
const QUEUE_PER_WORKER = 2

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
parentPort.on('message', ({ id, bytes }) => {
  const digest = createHash('sha256').update(bytes).digest()
  parentPort.postMessage({ id, digest })
})
`

type Job = { resolve: (digest: Uint8Array) => void; reject: (cause: unknown) => void }
type PoolWorker = { worker: Worker; jobs: Map<number, Job> }

let workers: PoolWorker[] | undefined
let nextId = 0

function workerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1))
}

function startWorker(): PoolWorker {
  // no inherited flags: the source is CommonJS whatever loader or input type the parent runs with
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] })
  const entry: PoolWorker = { worker, jobs: new Map() }
  worker.unref()
  const failAll = (cause: unknown): void => {
    for (const job of entry.jobs.values()) job.reject(cause)
    entry.jobs.clear()
    // a failed worker is replaced on the next call
    if (workers) workers = workers.filter((other) => other !== entry)
  }
  worker.on('message', ({ id, digest }: { id: number; digest: Uint8Array }) => {
    const job = entry.jobs.get(id)
    entry.jobs.delete(id)
    if (entry.jobs.size === 0) worker.unref()
    job?.resolve(new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength))
  })
  worker.on('error', failAll)
  worker.on('exit', (code) => failAll(new Error(`sha256 worker exited with code ${code}`)))
  return entry
}

/**
 * SHA-256 of `bytes`, on a worker thread when the input is large and a worker has room.
 *
 * @example
 * ```ts
 * const digest = await sha256Parallel(chunk) // 32 bytes, same as sha256(chunk)
 * ```
 */
export async function sha256Parallel(bytes: Uint8Array): Promise<Uint8Array> {
  assertBytes(bytes, 'sha256Parallel')
  if (bytes.length < MIN_WORKER_BYTES) return sha256(bytes)
  if (!workers || workers.length === 0) workers = Array.from({ length: workerCount() }, startWorker)
  const idle = workers.reduce((best, candidate) => (candidate.jobs.size < best.jobs.size ? candidate : best))
  if (idle.jobs.size >= QUEUE_PER_WORKER) return sha256(bytes)
  // a view is cloned with its whole buffer (the worker hashes the view's range): copy out a view
  // into a much larger buffer first, so only its own bytes cross
  const whole = bytes.buffer.byteLength <= bytes.byteLength + (bytes.byteLength >> 2) ? bytes : bytes.slice()
  const id = nextId++
  return new Promise<Uint8Array>((resolve, reject) => {
    idle.jobs.set(id, { resolve, reject })
    idle.worker.ref() // a pending hash keeps the process alive
    idle.worker.postMessage({ id, bytes: whole })
  })
}
