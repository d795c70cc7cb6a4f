import type { ModelPackage } from './model-package.js'
import type { ProverAttestation, ProverSigner } from './prover-attestation.js'

/** The three kinds of prover backend. */
export type ProverKind = 'wasm' | 'native' | 'queue'

export type BackendProveParameters = {
  package: ModelPackage
  /** The witness from `runWitness`. */
  witness: Uint8Array
  /**
   * The receipt's claim id. A backend with a signer signs (id, proof digest, prover) with it; the
   * queue backend uses it as the job id, so the same claim proven twice yields one proof.
   */
  receiptId?: string | undefined
  signal?: AbortSignal | undefined
}

export type BackendProveReturnType = {
  /** The proof file in normal form (`normalizeProof`). */
  proof: Uint8Array
  /** The backend's own verification of the proof (null when it did not verify). */
  verified: boolean | null
  /** The prover's signature over (receiptId, proof digest, address), when it has a key and a receiptId. */
  prover?: ProverAttestation | undefined
  proveMs: number
}

/** Events every backend emits (noun-verb names), by the id of its job. */
export type ProverBackendEvents = {
  'proof-queued': [{ jobId: string }]
  'proof-started': [{ jobId: string }]
  'proof-progressed': [{ jobId: string; stage: string }]
  'proof-finished': [{ jobId: string; proveMs: number }]
  'proof-failed': [{ jobId: string; error: Error }]
  'backend-closed': []
}

/**
 * A prover backend (`specificationVersion: 'v1'`): proves witnesses, verifies proofs, says how much
 * it can take and which packages it holds, and reports job events. `wasm` (the engine in worker
 * threads), `native` (the pinned ezkl in a long-lived worker process) and `queue` (a fleet of prover
 * nodes over Redis/BullMQ) implement it; proofs are byte-compatible across them.
 *
 * @example
 * ```ts
 * const prover = await createProver() // native when the toolchain is installed, else wasm
 * const { proof } = await prover.prove({ package: model, witness })
 * await prover.verify({ package: model, proof }) // true
 * await prover.close()
 * ```
 */
export type ProverBackend = {
  readonly specificationVersion: 'v1'
  readonly kind: ProverKind
  /** Proves a witness; rejects with a typed `VerityError` (`ProofError`, `ProverCrashedError`, `AbortedError`...). */
  prove(parameters: BackendProveParameters): Promise<BackendProveReturnType>
  /** Verifies a proof against the package's vk, settings and SRS; false (never a throw) for a bad proof. */
  verify(parameters: { package: ModelPackage; proof: Uint8Array }): Promise<boolean>
  /** How many proofs it runs at once, how many run now, how many wait. */
  capacity(): { slots: number; running: number; queued: number }
  /** Digests of the model packages whose keys it holds loaded. */
  models(): string[]
  on<E extends keyof ProverBackendEvents>(event: E, listener: (...args: ProverBackendEvents[E]) => void): ProverBackend
  off<E extends keyof ProverBackendEvents>(event: E, listener: (...args: ProverBackendEvents[E]) => void): ProverBackend
  /** Stops taking jobs, lets running ones finish, releases workers and connections. */
  close(): Promise<void>
}

/** Options every backend factory takes. */
export type ProverBackendOptions = {
  /** The node's key: proofs are signed with it when a receiptId is given. */
  signer?: ProverSigner | undefined
}
