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

export type { BuildModelPackageParameters, BuildModelPackageReturnType, BuildProgressEvent } from './build-model-package.js'
export { buildModelPackage } from './build-model-package.js'
export type { EzklEngine } from './ezkl-engine.js'
export { EZKL_VERSION, getEngine } from './ezkl-engine.js'
export { FIELD_MODULUS, feltToFloat, feltToSignedInteger, parseFelt } from './field.js'
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
  MODEL_MANIFEST_FILE,
  MODEL_PACKAGE_FORMAT,
  modelManifestSchema,
  regenerateProvingKey,
  visibilitySchema,
} from './model-package.js'
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
  CreateProverPoolParameters,
  ProofJob,
  ProofResult,
  ProverPool,
  ProverPoolEvents,
  SubmitProofParameters,
} from './prover-pool.js'
export { createProverPool } from './prover-pool.js'
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
export type { RunWitnessParameters, RunWitnessReturnType } from './witness.js'
export { assertInputShape, runWitness } from './witness.js'
