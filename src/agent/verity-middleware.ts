import type { BaseMessage } from '@langchain/core/messages'
import { AIMessage, ToolMessage } from '@langchain/core/messages'
import { createMiddleware } from 'langchain'
import { z } from 'zod'
import { canonicalDigest } from '../crypto/canonical-json.js'
import { digest } from '../crypto/digest.js'
import type { JsonValue } from '../memory/record.js'
import type { MemoryHit, MemoryStore } from '../tools/memory-store.js'
import { type NamespaceResolver, resolveNamespace } from '../tools/memory-tools.js'
import { findPendingProof, type PendingProof } from '../tools/pending-proof.js'
import type { DecisionRecorder } from '../trace/decision-recorder.js'
import { parseInput } from '../validation.js'
import { applyProofPolicy, DEFAULT_PROOF_POLICY, type ProofPolicy } from './policy.js'
import { formatRecallContext } from './recall-context.js'

/**
 * The Verity middleware for LangChain v1 `createAgent`: it turns every model turn, tool call and
 * result, automatic memory read and final answer into a decision for the {@link DecisionRecorder},
 * injects relevant memories before model turns, and applies the proof policy to verifiable tool
 * outputs. `createVerityAgent` installs it; add it yourself to any `createAgent` with
 * `middleware: [createVerityMiddleware({...})]`.
 */

export type CreateVerityMiddlewareParameters = {
  /** Agent name, written into `run-start` entries. */
  agentName?: string | undefined
  recorder: DecisionRecorder
  /** Memory for automatic recall (omit to disable). */
  memory?: MemoryStore | undefined
  /** Namespace of automatic recall (default `agent:<agentName>`). */
  namespace?: NamespaceResolver | undefined
  /** How many memories to inject before the first model turn of a task (default 3; 0 disables). */
  recallK?: number | undefined
  /** Proof policy for verifiable tools (default: require a verified receipt, 120 s timeout). */
  policy?: ProofPolicy | undefined
  /** `full` (default) records texts and arguments; `digests` records only their digests. */
  content?: 'full' | 'digests' | undefined
  /** Tool name -> `plugin@version` for plugin tools, written into their entries. */
  toolOrigins?: Map<string, string> | undefined
  /** Filled with toolCallId -> trace entry hash of each `tool-call` entry (memory provenance). */
  toolCallEntries?: Map<string, string> | undefined
  /** Finds the pending proof of a tool result (default: `artifact.pendingProof`). */
  findProof?: ((message: ToolMessage) => PendingProof | undefined) | undefined
  /** Collects background proof settlements (allow-pending). */
  background?: Set<Promise<unknown>> | undefined
}

const isRecorder = (value: unknown) =>
  typeof value === 'object' && value !== null && (value as DecisionRecorder).specificationVersion === 'v1'

const parametersSchema = z.object({
  agentName: z.string().min(1).max(200).optional(),
  recorder: z.custom<DecisionRecorder>(isRecorder, 'a DecisionRecorder with specificationVersion "v1"'),
  memory: z.custom<MemoryStore>(isRecorder, 'a MemoryStore with specificationVersion "v1"').optional(),
  namespace: z
    .union([z.string().min(1), z.custom<(context: Record<string, unknown>) => string>((value) => typeof value === 'function')])
    .optional(),
  recallK: z.number().int().min(0).max(50).optional(),
  policy: z.custom<ProofPolicy>((value) => isRecorder(value) && typeof (value as ProofPolicy).proofs === 'string').optional(),
  content: z.enum(['full', 'digests']).optional(),
  toolOrigins: z.instanceof(Map).optional(),
  toolCallEntries: z.instanceof(Map).optional(),
  findProof: z.custom<(message: ToolMessage) => PendingProof | undefined>((value) => typeof value === 'function').optional(),
  background: z.instanceof(Set).optional(),
})

type RecalledMemory = { id: string; text: string; digest: string }

/**
 * Creates the Verity middleware.
 *
 * @example
 * ```ts
 * import { createAgent } from 'langchain'
 * const recorder = createInMemoryDecisionRecorder()
 * const agent = createAgent({ model, tools, middleware: [createVerityMiddleware({ recorder, memory: store })] })
 * ```
 */
export function createVerityMiddleware(parameters: CreateVerityMiddlewareParameters) {
  const options = parseInput(parametersSchema, parameters, {
    what: 'createVerityMiddleware parameters',
    hint: 'Pass at least a DecisionRecorder (e.g. createInMemoryDecisionRecorder() or a trace adapter).',
    docsPath: 'agent.md',
  })
  const recorder = parameters.recorder
  const memory = parameters.memory
  const agentName = options.agentName ?? 'verity-agent'
  const namespace: NamespaceResolver = parameters.namespace ?? `agent:${agentName}`
  const recallK = options.recallK ?? 3
  const policy = parameters.policy ?? DEFAULT_PROOF_POLICY
  const full = (options.content ?? 'full') === 'full'
  const toolOrigins = parameters.toolOrigins ?? new Map<string, string>()
  const toolCallEntries = parameters.toolCallEntries ?? new Map<string, string>()
  const findProof = parameters.findProof ?? ((message: ToolMessage) => findPendingProof(message.artifact))
  const background = parameters.background ?? new Set<Promise<unknown>>()
  const text = (value: string): Record<string, JsonValue> => (full ? { text: value } : { textDigest: digest(value) })

  // Per-task state lives in this closure, keyed by the id LangGraph gives the human message,
  // so the middleware adds no graph nodes (each extra node costs milliseconds per decision).
  const recalledByTask = new Map<string, RecalledMemory[]>()
  const startTask = async (messages: BaseMessage[], context: unknown): Promise<RecalledMemory[]> => {
    const index = lastHumanIndex(messages)
    const human = messages[index]
    const key = human?.id ?? `${index}:${digest(lastHumanText(messages))}`
    const known = recalledByTask.get(key)
    if (known) return known
    const task = lastHumanText(messages)
    await recorder.record({
      kind: 'run-start',
      body: { agent: agentName, ...text(task), policy: policy.proofs, messages: messages.length },
      inputDigest: digest(task),
    })
    let recalled: RecalledMemory[] = []
    if (memory && recallK > 0 && task) {
      const space = resolveNamespace(namespace, context)
      const hits: MemoryHit[] = await memory.search({ query: task, namespace: space, k: recallK })
      await recorder.record({
        kind: 'memory-read',
        body: {
          automatic: true,
          namespace: space,
          ...(full ? { query: task } : { queryDigest: digest(task) }),
          ids: hits.map((hit) => hit.id),
        },
        refs: hits.map((hit) => ({ type: 'memory', digest: hit.digest })),
      })
      recalled = hits.map((hit) => ({ id: hit.id, text: hit.text, digest: hit.digest }))
    }
    recalledByTask.set(key, recalled)
    if (recalledByTask.size > 1000) recalledByTask.delete(recalledByTask.keys().next().value as string)
    return recalled
  }

  return createMiddleware({
    name: 'VerityMiddleware',
    wrapModelCall: async (request, handler) => {
      const recalled = await startTask(request.messages, request.runtime.context)
      const recallRan = memory !== undefined && recallK > 0
      // Injected whenever automatic recall ran, with "(none)" when nothing matched, so the model
      // knows memory was consulted.
      const systemMessage = recallRan
        ? request.systemMessage.concat(`${request.systemMessage.text ? '\n\n' : ''}${formatRecallContext(recalled)}`)
        : request.systemMessage
      // The model call is timed from before the handler runs (the entry is written after it answers).
      const startedAt = new Date()
      const handled = await handler({ ...request, systemMessage })
      const durationMs = Date.now() - startedAt.getTime()
      // With a responseFormat the model call may come back as a Command whose update carries the AI message.
      const response = modelMessage(handled)
      const toolCalls = (response.tool_calls ?? []).map((call) => ({
        id: call.id ?? '',
        name: call.name,
        ...(full ? { args: call.args as JsonValue } : { argsDigest: canonicalDigest(call.args) }),
      }))
      const answer = typeof response.content === 'string' ? response.content : (JSON.stringify(response.content) ?? '')
      await recorder.record({
        kind: 'model-turn',
        // Fields as in src/trace/trace-bodies.ts (modelCallBodySchema), read by `trace show` and the OTel export.
        body: {
          turn: request.messages.filter((message) => message.getType() === 'ai').length,
          ...modelIdentity(request.model, response),
          ...text(answer),
          toolCalls,
          ...tokenUsage(response),
          startedAt: startedAt.toISOString(),
          durationMs,
        },
        inputDigest: conversationDigest(request.messages),
        outputDigest: digest(answer),
        refs: recalled.map((memory) => ({ type: 'memory', digest: memory.digest })),
      })
      if (toolCalls.length === 0)
        await recorder.record({ kind: 'final-answer', body: { agent: agentName, ...text(answer) }, outputDigest: digest(answer) })
      return handled
    },
    wrapToolCall: async (request, handler) => {
      const call = request.toolCall
      const toolName = call.name
      const toolCallId = call.id ?? ''
      const origin = toolOrigins.get(toolName)
      const recorded = await recorder.record({
        kind: 'tool-call',
        body: {
          tool: toolName,
          toolCallId,
          ...(origin ? { plugin: origin } : {}),
          ...(full ? { args: call.args as JsonValue } : {}),
        },
        inputDigest: canonicalDigest(call.args),
      })
      if (toolCallId) toolCallEntries.set(toolCallId, recorded.hash)
      let result: Awaited<ReturnType<typeof handler>>
      try {
        result = await handler(request)
      } catch (error) {
        await recorder.record({
          kind: 'tool-error',
          body: {
            tool: toolName,
            toolCallId,
            ...(origin ? { plugin: origin } : {}),
            error: error instanceof Error ? error.message : String(error),
          },
        })
        throw error
      } finally {
        if (toolCallId) toolCallEntries.delete(toolCallId)
      }
      if (!ToolMessage.isInstance(result)) {
        await recorder.record({ kind: 'tool-result', body: { tool: toolName, toolCallId, command: true } })
        return result
      }
      const content = typeof result.content === 'string' ? result.content : JSON.stringify(result.content)
      const proof = findProof(result)
      const resultEntry = await recorder.record({
        kind: 'tool-result',
        body: {
          tool: toolName,
          toolCallId,
          status: result.status ?? 'success',
          ...(origin ? { plugin: origin } : {}),
          ...(full ? { content } : {}),
          ...(proof ? { receipt: proof.receiptDigest } : {}),
        },
        outputDigest: digest(content),
        refs: proof ? [{ type: 'receipt', digest: proof.receiptDigest }] : [],
      })
      if (proof)
        await applyProofPolicy({
          policy,
          proof,
          recorder,
          toolName,
          toolCallId,
          forSeq: resultEntry.seq,
          signal: request.runtime.signal,
          background,
        })
      return result
    },
  })
}

export type CreateVerityMiddlewareReturnType = ReturnType<typeof createVerityMiddleware>

// Digest of each message's [type, content], computed once per message object: the conversation
// grows by a few messages per turn, so re-canonicalising the whole history every turn was the
// middleware's largest cost after recall.
const messageDigests = new WeakMap<BaseMessage, string>()

/**
 * The `inputDigest` of a model turn: sha256 over the newline-joined per-message digests
 * `canonicalDigest([type, content])`, in order. Incremental: each message is hashed once.
 */
function conversationDigest(messages: BaseMessage[]): string {
  const parts: string[] = []
  for (const message of messages) {
    let known = messageDigests.get(message)
    if (known === undefined) {
      known = canonicalDigest([message.getType(), message.content as JsonValue])
      messageDigests.set(message, known)
    }
    parts.push(known)
  }
  return digest(parts.join('\n'))
}

/** `model` (as the provider reports it, else as configured) and `provider` of a model call. */
function modelIdentity(model: unknown, response: AIMessage): Record<string, JsonValue> {
  const metadata = (response.response_metadata ?? {}) as Record<string, unknown>
  let langsmith: { ls_model_name?: unknown; ls_provider?: unknown } = {}
  try {
    langsmith = (model as { getLsParams?: (options: unknown) => typeof langsmith }).getLsParams?.({}) ?? {}
  } catch {
    langsmith = {}
  }
  const configured = model as { model?: unknown; modelName?: unknown; _llmType?: () => unknown }
  const name = [metadata.model_name, metadata.model, langsmith.ls_model_name, configured.model, configured.modelName].find(
    (value): value is string => typeof value === 'string' && value.length > 0,
  )
  let type: unknown
  try {
    type = configured._llmType?.()
  } catch {
    type = undefined
  }
  const modelName = name ?? (typeof type === 'string' ? type : undefined)
  const provider = typeof langsmith.ls_provider === 'string' ? langsmith.ls_provider : undefined
  return { ...(modelName ? { model: modelName } : {}), ...(provider ? { provider } : {}) }
}

/** LangChain's `usage_metadata` as `{ usage: { inputTokens, outputTokens, totalTokens } }`. */
function tokenUsage(response: AIMessage): Record<string, JsonValue> {
  const usage = response.usage_metadata as { input_tokens: number; output_tokens: number; total_tokens: number } | undefined
  if (!usage) return {}
  return {
    usage: { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens, totalTokens: usage.total_tokens },
  }
}

function lastHumanIndex(messages: BaseMessage[]): number {
  for (let index = messages.length - 1; index >= 0; index--) if (messages[index]?.getType() === 'human') return index
  return -1
}

function lastHumanText(messages: BaseMessage[]): string {
  const message = messages[lastHumanIndex(messages)]
  if (!message) return ''
  return typeof message.content === 'string' ? message.content : message.text
}

/** The AI message of a model call: the message itself, or the last AI message of a Command's update. */
function modelMessage(handled: unknown): AIMessage {
  if (AIMessage.isInstance(handled)) return handled
  const messages = (handled as { update?: { messages?: unknown[] } } | undefined)?.update?.messages ?? []
  const found = [...messages].reverse().find((message) => AIMessage.isInstance(message))
  return (found ?? new AIMessage('')) as AIMessage
}
