/**
 * `verity/trace`: the signed, hash-chained, Merkle-checkpointed decision trace.
 *
 * @example
 * ```ts
 * import { openTrace, verifyTrace } from 'verity/trace'
 * const trace = await openTrace({ path: 'run.trace.jsonl', signer: identity.signer })
 * await trace.append({ kind: 'model-call', body: { model: 'scripted', prompt: 'hi' } })
 * await trace.end()
 * const report = await verifyTrace({ path: 'run.trace.jsonl' })
 * ```
 */

export { readTraceBlob } from './blob-store.js'
export type {
  CreateInMemoryDecisionRecorderParameters,
  CreateInMemoryDecisionRecorderReturnType,
  Decision,
  DecisionKind,
  DecisionRecorder,
  DecisionRef,
  InMemoryDecisionEntry,
  RecordedDecision,
} from './decision-recorder.js'
export { createInMemoryDecisionRecorder } from './decision-recorder.js'
export type {
  TraceCheckpointLine,
  TraceEntryHeader,
  TraceEntryKind,
  TraceEntryLine,
  TraceLine,
  TraceRef,
} from './entry.js'
export {
  canonicalEntryHeader,
  entryHash,
  TRACE_ENTRY_KINDS,
  TRACE_FORMAT,
  TRACE_FORMAT_VERSION,
  traceCheckpointLineSchema,
  traceEntryHeader,
  traceEntryLineSchema,
  traceRefSchema,
  ZERO_HASH,
} from './entry.js'
export type { ExportTraceToOpenTelemetryParameters, ExportTraceToOpenTelemetryReturnType } from './export-opentelemetry.js'
export { exportTraceToOpenTelemetry } from './export-opentelemetry.js'
export type {
  MerkleConsistencyProofParameters,
  MerkleConsistencyProofReturnType,
  MerkleInclusionProofParameters,
  MerkleInclusionProofReturnType,
  VerifyMerkleConsistencyParameters,
  VerifyMerkleInclusionParameters,
} from './merkle.js'
export {
  EMPTY_TREE_ROOT,
  MerkleAccumulator,
  MerkleTree,
  merkleConsistencyProof,
  merkleInclusionProof,
  merkleLeafHash,
  merkleNodeHash,
  merkleRoot,
  verifyMerkleConsistency,
  verifyMerkleInclusion,
} from './merkle.js'
export type {
  AppendTraceEntryParameters,
  AppendTraceEntryReturnType,
  OpenTraceParameters,
  OpenTraceReturnType,
  RecordReceiptProvenParameters,
  TraceWriter,
} from './open-trace.js'
export {
  DEFAULT_BLOB_THRESHOLD,
  DEFAULT_CHECKPOINT_INTERVAL,
  openTrace,
  traceCheckpointSidecarPath,
} from './open-trace.js'
export type { ReadTraceFileReturnType, TornTail, TraceFileLine } from './read-trace.js'
export { readTraceFile } from './read-trace.js'
export type { DomainOf } from './signing.js'
export { checkpointDigest, domainSeparatorOf, keyRotationDigest, traceEntryDigest } from './signing.js'
export type { TraceTimelineParameters, TraceTimelineReturnType, TraceTimelineRow } from './trace-timeline.js'
export { traceTimeline } from './trace-timeline.js'
export type { CheckpointMessage, KeyRotationMessage, TraceEntryMessage } from './typed-data.js'
export {
  CHECKPOINT_TYPES,
  checkpointStructHash,
  KEY_ROTATION_TYPES,
  keyRotationStructHash,
  TRACE_ENTRY_TYPES,
  traceEntryStructHash,
} from './typed-data.js'
export type {
  ReceiptVerdict,
  TraceFailure,
  TraceReceiptStatus,
  TraceVerificationReport,
  VerifyReceiptFunction,
  VerifyTraceParameters,
  VerifyTraceReturnType,
} from './verify-trace.js'
export { verifyTrace } from './verify-trace.js'
