/**
 * `verity/agent`: agents on LangChain v1 whose every decision lands in a trace, with vault memory
 * and proof policies.
 *
 * @example
 * ```ts
 * import { createVerityAgent, createScriptedChatModel, createProofPolicy } from 'verity/agent'
 * const agent = createVerityAgent({ model: createScriptedChatModel(), tools, memory, recorder })
 * ```
 */

export type { AgentScript, AgentScriptContext } from './agent-script.js'
export type {
  CreateVerityAgentParameters,
  CreateVerityAgentReturnType,
  VerityAgentInput,
  VerityAgentPlugin,
  VerityAgentResult,
  VerityAgentRunOptions,
} from './create-verity-agent.js'
export { createVerityAgent } from './create-verity-agent.js'
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
export type {
  ApplyProofPolicyParameters,
  CreateProofPolicyParameters,
  CreateProofPolicyReturnType,
  PendingProof,
  ProofOutcome,
  ProofPolicy,
} from './policy.js'
export { applyProofPolicy, createProofPolicy, DEFAULT_PROOF_POLICY, findPendingProof } from './policy.js'
export type {
  CreateScriptedChatModelParameters,
  CreateScriptedChatModelReturnType,
  PlanNextStepParameters,
  PlanNextStepReturnType,
  PlannedToolCall,
  PlannerTool,
  ScriptedChatModelFields,
} from './scripted-chat-model.js'
export {
  createScriptedChatModel,
  MEMORY_TOOL_NAMES,
  planNextStep,
  RECALL_CONTEXT_HEADER,
  ScriptedChatModel,
} from './scripted-chat-model.js'
export type { TraceRecorderParameters, TraceRecorderReturnType } from './trace-recorder.js'
export { traceRecorder } from './trace-recorder.js'
export type { VaultMemoryStoreParameters, VaultMemoryStoreReturnType } from './vault-memory-store.js'
export { vaultMemoryStore } from './vault-memory-store.js'
export type { CreateVerityMiddlewareParameters, CreateVerityMiddlewareReturnType } from './verity-middleware.js'
export { createVerityMiddleware } from './verity-middleware.js'
