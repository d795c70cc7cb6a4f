/**
 * `verity/proofs`: EZKL-proven ONNX models. Build a model package with the pinned toolchain,
 * load it, compute proven outputs, prove in a worker pool, and verify receipts offline.
 *
 * @example
 * ```ts
 * import { loadModelPackage, createProverPool, runVerifiableInference, verifyReceipt } from 'verity/proofs'
 * const model = loadModelPackage({ dir: 'models/transaction-risk' })
 * const pool = createProverPool()
 * const run = await runVerifiableInference({ package: model, input: [[120, 23, 4, 9, 1, 0]], pool })
 * const { receipt, proof } = await run.settled!
 * verifyReceipt({ receipt, proof: proof!, package: model }).valid // true
 * ```
 */

export type { BackendEventsReturnType } from './backend-events.js'
export { backendEvents } from './backend-events.js'
export type { BuildModelPackageParameters, BuildModelPackageReturnType, BuildProgressEvent } from './build-model-package.js'
export { buildModelPackage } from './build-model-package.js'
export type { CreateProverParameters } from './create-prover.js'
export { createProver } from './create-prover.js'
export { EZKL_VERSION } from './ezkl-engine.js'
export type { FleetDeadLetter, FleetJob, FleetResult } from './fleet-job.js'
export {
  FLEET_CANCEL_CHANNEL,
  FLEET_DEAD_LETTER_QUEUE,
  FLEET_JOB_FORMAT,
  FLEET_QUEUE,
  fleetJobId,
  fleetJobSchema,
  fleetResultSchema,
} from './fleet-job.js'
export type {
  GenerateKeysParameters,
  GenerateKeysReturnType,
  LoadModelPackageParameters,
  ModelManifest,
  ModelPackage,
  Visibility,
} from './model-package.js'
export {
  generateKeys,
  loadModelPackage,
  MODEL_PACKAGE_FORMAT,
  modelManifestSchema,
  regenerateProvingKey,
  visibilitySchema,
} from './model-package.js'
export type { CreateNativeProverParameters } from './native-backend.js'
export { createNativeProver } from './native-backend.js'
export type { CreateOnnxRunnerParameters, OnnxRunner, TensorShape } from './onnx-runtime.js'
export { createOnnxRunner, inspectOnnx } from './onnx-runtime.js'
export { normalizeProof, proofFileProblem } from './proof-file.js'
export type { ProveParameters, VerifyProofParameters } from './prove.js'
export { proofOutputs, prove, verifyProof } from './prove.js'
export type { ProverAttestation, ProverSigner } from './prover-attestation.js'
export {
  PROVER_ATTESTATION_TYPES,
  PROVER_DOMAIN,
  proverAttestationDigest,
  signProverAttestation,
  verifyProverAttestation,
} from './prover-attestation.js'
export type {
  BackendProveParameters,
  BackendProveReturnType,
  ProverBackend,
  ProverBackendEvents,
  ProverBackendOptions,
  ProverKind,
} from './prover-backend.js'
export type { ProverNode, ProverNodeEvent, StartProverNodeParameters } from './prover-node.js'
export { startProverNode } from './prover-node.js'
export type {
  CreateProverPoolParameters,
  ProofJob,
  ProofResult,
  ProverPool,
  ProverPoolEvents,
  SubmitProofParameters,
} from './prover-pool.js'
export { createProverPool } from './prover-pool.js'
export type { CreateQueueProverParameters } from './queue-backend.js'
export { createQueueProver } from './queue-backend.js'
export type {
  CreateReceiptParameters,
  CreateReceiptReturnType,
  Receipt,
  ReceiptCheck,
  ReceiptStatus,
  VerifyReceiptParameters,
  VerifyReceiptReturnType,
} from './receipt.js'
export {
  commitInput,
  createReceipt,
  openInputCommitment,
  RECEIPT_FORMAT,
  receiptDigest,
  receiptSchema,
  receiptStatusSchema,
  verifyReceipt,
} from './receipt.js'
export type { Toolchain } from './toolchain.js'
export { findToolchain } from './toolchain.js'
export type {
  RunVerifiableInferenceParameters,
  RunVerifiableInferenceReturnType,
  SettledReceipt,
} from './verifiable-inference.js'
export { runVerifiableInference } from './verifiable-inference.js'
export type { CreateWasmProverParameters } from './wasm-backend.js'
export { createWasmProver } from './wasm-backend.js'
export type { RunWitnessParameters, RunWitnessReturnType } from './witness.js'
export { runWitness } from './witness.js'
