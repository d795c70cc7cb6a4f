import { digest } from '../crypto/digest.js'
import { backendEvents } from './backend-events.js'
import type { ModelPackage } from './model-package.js'
import { verifyProof } from './prove.js'
import { signProverAttestation } from './prover-attestation.js'
import type { ProverBackend, ProverBackendOptions } from './prover-backend.js'
import { createProverPool } from './prover-pool.js'

export type CreateWasmProverParameters = ProverBackendOptions & {
  /** Worker threads (default: the machine's cores). */
  workers?: number | undefined
  /** Jobs waiting beyond the running ones before `prove` rejects with `ProverBusyError`. */
  maxQueue?: number | undefined
}

/**
 * The `wasm` backend: `@ezkljs/engine` in a pool of worker threads (no Python needed). The fallback
 * when the native toolchain is not installed, and the in-process verifier.
 *
 * @example
 * ```ts
 * const prover = createWasmProver({ workers: 2 })
 * const { proof } = await prover.prove({ package: model, witness })
 * ```
 */
export function createWasmProver(parameters: CreateWasmProverParameters = {}): ProverBackend {
  const pool = createProverPool({ workers: parameters.workers, maxQueue: parameters.maxQueue })
  const events = backendEvents()
  const held = new Set<string>()
  const jobIds = new Map<number, string>()
  const name = (id: number) => jobIds.get(id) ?? String(id)
  pool.on('proof-queued', ({ jobId }) => events.emit('proof-queued', { jobId: name(jobId) }))
  pool.on('proof-started', ({ jobId }) => events.emit('proof-started', { jobId: name(jobId) }))
  pool.on('proof-finished', ({ jobId, proveMs }) => events.emit('proof-finished', { jobId: name(jobId), proveMs }))
  pool.on('proof-failed', ({ jobId, error }) => events.emit('proof-failed', { jobId: name(jobId), error }))
  const backend: ProverBackend = {
    specificationVersion: 'v1',
    kind: 'wasm',
    async prove({ package: model, witness, receiptId, signal }) {
      const job = pool.submit({ package: model, witness, signal })
      if (receiptId) jobIds.set(job.id, receiptId)
      try {
        const result = await job.result
        held.add(model.digest)
        const prover =
          parameters.signer && receiptId
            ? signProverAttestation({ receiptId, proofDigest: digest(result.proof), signer: parameters.signer })
            : undefined
        return { proof: result.proof, verified: result.verified, prover, proveMs: result.proveMs }
      } finally {
        jobIds.delete(job.id)
      }
    },
    async verify({ package: model, proof }: { package: ModelPackage; proof: Uint8Array }) {
      return verifyProof({ proof, vk: model.vk, settings: model.settings, srs: model.srs })
    },
    capacity() {
      const stats = pool.stats()
      return { slots: pool.size, running: stats.running, queued: stats.queued }
    },
    models() {
      return [...held]
    },
    ...events.methods(() => backend),
    async close() {
      await pool.close()
      events.emit('backend-closed')
    },
  }
  return backend
}
