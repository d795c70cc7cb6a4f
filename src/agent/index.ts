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
  CreateProofPolicyParameters,
  CreateProofPolicyReturnType,
  ProofPolicy,
} from './policy.js'
export { createProofPolicy, DEFAULT_PROOF_POLICY } from './policy.js'
export { formatRecallContext, parseRecallContext, RECALL_CONTEXT_HEADER, type RecalledMemory } from './recall-context.js'
export type {
  CreateScriptedChatModelParameters,
  CreateScriptedChatModelReturnType,
  ScriptedChatModel,
  ScriptedChatModelFields,
} from './scripted-chat-model.js'
export { createScriptedChatModel } from './scripted-chat-model.js'
export type { TraceRecorderParameters, TraceRecorderReturnType } from './trace-recorder.js'
export { traceRecorder } from './trace-recorder.js'
export type { VaultMemoryStoreParameters, VaultMemoryStoreReturnType } from './vault-memory-store.js'
export { vaultMemoryStore } from './vault-memory-store.js'
export type { CreateVerityMiddlewareParameters, CreateVerityMiddlewareReturnType } from './verity-middleware.js'
export { createVerityMiddleware } from './verity-middleware.js'
