/**
 * `verity/tools`: LangChain tools for Verity agents: memory tools over a vault, verifiable inference
 * over model packages, the proof adapter (`provenTool`), receipt folders, and the receipt check for `verifyTrace`.
 *
 * @example
 * ```ts
 * import { createMemoryTools } from 'verity/tools'
 * const [remember, recall, forget] = createMemoryTools({ store, namespace: 'agent:helper' })
 * ```
 */

export type { CreateProvenToolParameters, CreateProvenToolReturnType, ModelPackageResolver } from './create-proven-tool.js'
export { createProvenTool } from './create-proven-tool.js'
export type {
  CreateInMemoryMemoryStoreReturnType,
  MemoryHit,
  MemoryStore,
  MemoryStoreAddParameters,
  MemoryStoreAddReturnType,
  MemoryStoreDeleteParameters,
  MemoryStoreDeleteReturnType,
  MemoryStoreSearchParameters,
} from './memory-store.js'
export { createInMemoryMemoryStore, memoryDigest } from './memory-store.js'
export type { CreateMemoryToolsParameters, CreateMemoryToolsReturnType, NamespaceResolver } from './memory-tools.js'
export { createMemoryTools } from './memory-tools.js'
export type { PendingProof, ProofOutcome } from './pending-proof.js'
export { findPendingProof } from './pending-proof.js'
export type {
  ProvenToolArtifact,
  ProvenToolContent,
  ProvenToolParameters,
  ProvenToolReturnType,
  VerifiableTool,
} from './proven-tool.js'
export { provenTool } from './proven-tool.js'
export type { ReceiptDirectoryFiles, ReceiptDirectoryParameters, ReceiptDirectoryReturnType } from './receipt-directory.js'
export { receiptDirectory } from './receipt-directory.js'
export type {
  CreateTraceReceiptVerifierParameters,
  CreateTraceReceiptVerifierReturnType,
  TraceReceiptDetail,
} from './trace-receipt-verifier.js'
export { createTraceReceiptVerifier } from './trace-receipt-verifier.js'
export type { VerifiableInferenceToolParameters, VerifiableInferenceToolResult } from './verifiable-inference.js'
export { verifiableInferenceTool } from './verifiable-inference.js'
