import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import * as secp256k1 from 'tiny-secp256k1'
import { publicKeyToAddress, splitSignature } from '../identity/secp256k1-signer.js'

/**
 * Batch `ecrecover` for verification. Public-key recovery is the costly step of verifying a trace,
 * so large batches are split across worker threads (one per core); each worker runs libsecp256k1
 * (WASM) and returns the recovered public keys, and the addresses are derived here.
 */

/** One signature to recover. */
export type RecoverTask = { digest: Uint8Array; signature: Uint8Array }

export type RecoverSignersParameters = {
  tasks: readonly RecoverTask[]
  /** Worker threads to use (default: one per core, at most 8; 0 = recover on this thread). */
  workers?: number | undefined
  /** Below this many tasks, recover on this thread (default 512). */
  parallelThreshold?: number | undefined
}
/** The recovered address of each task, `undefined` for a malformed or unrecoverable signature. */
export type RecoverSignersReturnType = (string | undefined)[]

const require = createRequire(import.meta.url)

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const secp256k1 = require(workerData.modulePath)
parentPort.on('message', ({ id, digests, signatures, recoveryIds, count }) => {
  const out = new Uint8Array(count * 65)
  for (let i = 0; i < count; i++) {
    if (recoveryIds[i] > 1) continue
    try {
      const key = secp256k1.recover(digests.subarray(i * 32, i * 32 + 32), signatures.subarray(i * 64, i * 64 + 64), recoveryIds[i], false)
      if (key) out.set(key, i * 65)
    } catch {}
  }
  parentPort.postMessage({ id, out }, [out.buffer])
})
`

/**
 * Recovers the signer address of each (digest, signature), in parallel when the batch is large.
 *
 * @example
 * ```ts
 * const addresses = await recoverSigners({ tasks: entries.map((e) => ({ digest: e.digest, signature: e.signature })) })
 * ```
 */
export async function recoverSigners(parameters: RecoverSignersParameters): Promise<RecoverSignersReturnType> {
  const { tasks } = parameters
  const workerCount = defaultWorkers(parameters.workers)
  const threshold = parameters.parallelThreshold ?? 512
  if (workerCount <= 0 || tasks.length < threshold) return recoverInline(tasks)
  const pool = createRecoverPool({ workers: workerCount })
  try {
    return await pool.recover(tasks)
  } finally {
    await pool.close()
  }
}

/** Worker threads ready to recover signatures; create early so they load while other work runs. */
export type RecoverPool = {
  recover(tasks: readonly RecoverTask[]): Promise<RecoverSignersReturnType>
  close(): Promise<void>
}

/**
 * Starts `workers` recovery threads (default one per core, at most 8). Close it when done.
 *
 * @example
 * ```ts
 * const pool = createRecoverPool({ workers: 2 })
 * try { await pool.recover(tasks) } finally { await pool.close() }
 * ```
 */
export function createRecoverPool(parameters: { workers?: number | undefined } = {}): RecoverPool {
  const workerCount = Math.max(1, defaultWorkers(parameters.workers))
  const modulePath = require.resolve('tiny-secp256k1')
  const workers = Array.from({ length: workerCount }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath } }))
  return {
    async recover(tasks) {
      const chunkSize = Math.max(64, Math.ceil(tasks.length / (workerCount * 4)))
      const chunks: { start: number; end: number }[] = []
      for (let start = 0; start < tasks.length; start += chunkSize)
        chunks.push({ start, end: Math.min(tasks.length, start + chunkSize) })
      const results: (string | undefined)[] = new Array(tasks.length)
      let next = 0
      const runWorker = async (worker: Worker): Promise<void> => {
        while (next < chunks.length) {
          const chunk = chunks[next++] as { start: number; end: number }
          const keys = await recoverChunk(worker, tasks, chunk.start, chunk.end)
          for (let index = chunk.start; index < chunk.end; index++) {
            const key = keys.subarray((index - chunk.start) * 65, (index - chunk.start + 1) * 65)
            results[index] = key[0] === 0x04 ? addressOf(key) : undefined
          }
        }
      }
      await Promise.all(workers.map(runWorker))
      return results
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.terminate()))
    },
  }
}

function defaultWorkers(workers: number | undefined): number {
  return Math.min(workers ?? Math.min(availableParallelism(), 8), 8)
}

const addresses = new Map<string, string>()

/** Address of a public key, cached (a trace has few signers; the keccak is the cost). */
function addressOf(publicKey: Uint8Array): string {
  const key = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex')
  let address = addresses.get(key)
  if (address === undefined) {
    address = publicKeyToAddress(publicKey)
    if (addresses.size > 4096) addresses.clear()
    addresses.set(key, address)
  }
  return address
}

let messageId = 0

function recoverChunk(worker: Worker, tasks: readonly RecoverTask[], start: number, end: number): Promise<Uint8Array> {
  const count = end - start
  const digests = new Uint8Array(count * 32)
  const signatures = new Uint8Array(count * 64)
  const recoveryIds = new Uint8Array(count).fill(255)
  for (let index = 0; index < count; index++) {
    const task = tasks[start + index] as RecoverTask
    const parts = task.digest.length === 32 ? splitSignature(task.signature) : undefined
    if (!parts) continue
    digests.set(task.digest, index * 32)
    signatures.set(parts.compact, index * 64)
    recoveryIds[index] = parts.recoveryId
  }
  const id = messageId++
  return new Promise((resolve, reject) => {
    const onMessage = (message: { id: number; out: Uint8Array }) => {
      if (message.id !== id) return
      worker.off('message', onMessage)
      worker.off('error', reject)
      resolve(message.out)
    }
    worker.on('message', onMessage)
    worker.once('error', reject)
    worker.postMessage({ id, digests, signatures, recoveryIds, count }, [digests.buffer, signatures.buffer, recoveryIds.buffer])
  })
}

function recoverInline(tasks: readonly RecoverTask[]): (string | undefined)[] {
  return tasks.map((task) => {
    const parts = task.digest instanceof Uint8Array && task.digest.length === 32 ? splitSignature(task.signature) : undefined
    if (!parts) return undefined
    try {
      const key = secp256k1.recover(task.digest, parts.compact, parts.recoveryId, false)
      return key ? addressOf(key) : undefined
    } catch {
      return undefined
    }
  })
}
