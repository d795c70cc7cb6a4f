import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import type { BaseMessage, SystemMessage } from '@langchain/core/messages'
import type { RunnableConfig } from '@langchain/core/runnables'
import type { StructuredToolInterface } from '@langchain/core/tools'
import type { BaseCheckpointSaver, BaseStore } from '@langchain/langgraph-checkpoint'
import { type AgentMiddleware, type CreateAgentParams, createAgent } from 'langchain'
import { z } from 'zod'
import { AbortedError, InvalidInputError, isVerityError } from '../errors.js'
import type { AdapterVault } from '../langchain/vault-records.js'
import { VerityCheckpointSaver } from '../langchain/verity-checkpoint-saver.js'
import type { MemoryStore } from '../tools/memory-store.js'
import { createMemoryTools, type NamespaceResolver } from '../tools/memory-tools.js'
import type { PendingProof } from '../tools/pending-proof.js'
import { createInMemoryDecisionRecorder, type DecisionRecorder } from '../trace/decision-recorder.js'
import { parseInput } from '../validation.js'
import type { ProofPolicy } from './policy.js'
import { createScriptedChatModel } from './scripted-chat-model.js'
import type { TraceRecorderReturnType } from './trace-recorder.js'
import { vaultMemoryStore } from './vault-memory-store.js'
import { createVerityMiddleware } from './verity-middleware.js'

/** A plugin's contribution to an agent (what `loadPlugin` returns). */
export type VerityAgentPlugin = { name: string; version: string; tools: readonly StructuredToolInterface[] }

export type CreateVerityAgentParameters = {
  /** The agent's name (trace entries, default namespace `agent:<name>`). Default `verity-agent`. */
  name?: string | undefined
  /**
   * Any LangChain chat model, or a provider string for `initChatModel` (`'openai:gpt-4o'`).
   * Default: the offline {@link createScriptedChatModel} planner.
   */
  model?: BaseChatModel | string | undefined
  /** The agent's tools (LangChain tools; verifiable tools from `verity/tools`). */
  tools?: readonly StructuredToolInterface[] | undefined
  /** Memory (a vault through `vaultMemoryStore(vault)`, or `createInMemoryMemoryStore()`). */
  memory?: MemoryStore | undefined
  /** `'agent'` (default: `agent:<name>`), `'user'` (`user:<context.userId>`), a fixed string or a function of the run context. */
  namespace?: 'agent' | 'user' | NamespaceResolver | undefined
  /** Add `remember` / `recall` / `forget` tools (default true when `memory` is given). */
  memoryTools?: boolean | undefined
  /** Memories injected before the first model turn of each task (default 3; 0 disables automatic recall). */
  recallK?: number | undefined
  /** Where decisions go: the signed trace (through its adapter) or an in-memory recorder (default). */
  recorder?: DecisionRecorder | undefined
  /** Plugins loaded with `loadPlugin` (their tools are added and traced with their origin). */
  plugins?: readonly VerityAgentPlugin[] | undefined
  /** Proof policy (default: require a verified receipt, 120 s). */
  policy?: ProofPolicy | undefined
  systemPrompt?: string | SystemMessage | undefined
  /**
   * An open vault: the agent's memory (unless `memory` is given) and where its threads are kept,
   * encrypted, by a {@link VerityCheckpointSaver} (unless `checkpointer` is given).
   */
  vault?: AdapterVault | undefined
  /**
   * LangGraph checkpoint saver for multi-turn threads (`configurable.thread_id`). Default: a
   * {@link VerityCheckpointSaver} in the vault when there is one (given as `vault`, or behind
   * `memory: vaultMemoryStore({ vault })`), else none. `false` turns threads off.
   */
  checkpointer?: BaseCheckpointSaver | boolean | undefined
  /** LangGraph store for long-term memory tools read through `runtime.store` (e.g. `new VerityStore({ vault })`). */
  store?: BaseStore | undefined
  /** Structured output (zod schema, JSON schema, `toolStrategy(...)`, `providerStrategy(...)`): passed to `createAgent`. */
  responseFormat?: CreateAgentParams['responseFormat'] | undefined
  /** Extra graph state (passed to `createAgent`). */
  stateSchema?: CreateAgentParams['stateSchema'] | undefined
  /** Schema of the run `context` (passed to `createAgent`). */
  contextSchema?: CreateAgentParams['contextSchema'] | undefined
  /** Description of the agent (passed to `createAgent`, used when it is a sub-agent). */
  description?: string | undefined
  /** `'inline'`: put the agent name in its messages (passed to `createAgent`). */
  includeAgentName?: 'inline' | undefined
  /** Aborts every run of this agent (passed to `createAgent`). */
  signal?: AbortSignal | undefined
  /** Graph version (`'v1'` | `'v2'`, passed to `createAgent`). */
  version?: 'v1' | 'v2' | undefined
  /** Stream transformers (passed to `createAgent`). */
  streamTransformers?: CreateAgentParams['streamTransformers'] | undefined
  /** `full` (default) or `digests` (the trace holds only digests of texts and arguments). */
  content?: 'full' | 'digests' | undefined
  /**
   * With a vault and a `traceRecorder`, the personal fields of trace bodies (texts, recalled
   * memories, tool arguments and results) are sealed under the trace's body key kept in the vault
   * (default `true`); `false` writes them in plaintext (explicit opt-out). See docs/trace-format.md.
   */
  sealTraceBodies?: boolean | undefined
  /** Finds the pending proof of a tool result (default: `artifact.pendingProof`). */
  findProof?: CreateVerityAgentFindProof | undefined
  /** More LangChain middleware, run inside Verity's. */
  middleware?: readonly AgentMiddleware[] | undefined
}
type CreateVerityAgentFindProof = Parameters<typeof createVerityMiddleware>[0]['findProof']

/** What a Verity agent takes as input: a task string or LangChain's `{ messages }`. */
export type VerityAgentInput = string | { messages: (BaseMessage | { role: string; content: string })[] }

/** Options of one run: LangChain's config (`signal`, `configurable`, `callbacks`...) and the run `context`. */
export type VerityAgentRunOptions = Partial<RunnableConfig> & { context?: Record<string, unknown> | undefined }

export type VerityAgentResult = { messages: BaseMessage[]; answer: string; [key: string]: unknown }

export type CreateVerityAgentReturnType = {
  readonly name: string
  /** The underlying LangChain `ReactAgent` (graph), for anything not wrapped here. */
  readonly graph: ReturnType<typeof createAgent>
  /** The checkpoint saver keeping this agent's threads, if any. */
  readonly checkpointer: BaseCheckpointSaver | undefined
  readonly recorder: DecisionRecorder
  /** Every tool the model sees (yours, memory tools, plugin tools). */
  readonly tools: readonly StructuredToolInterface[]
  /** Runs a task to its final answer. */
  invoke(input: VerityAgentInput, options?: VerityAgentRunOptions): Promise<VerityAgentResult>
  /** Streams a run exactly like LangChain's `agent.stream` (`streamMode: 'messages' | 'updates' | 'values'`...). */
  stream(input: VerityAgentInput, options?: VerityAgentRunOptions & { streamMode?: unknown }): Promise<AsyncIterable<unknown>>
  /** Waits until every background proof (allow-pending policy) has landed in the trace. */
  settle(): Promise<void>
}

const isVersioned = (value: unknown) =>
  typeof value === 'object' && value !== null && (value as { specificationVersion?: unknown }).specificationVersion === 'v1'

const isObject = (value: unknown) => typeof value === 'object' && value !== null
const parametersSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore or dash')
    .optional(),
  model: z
    .union([
      z.string().min(3),
      z.custom<BaseChatModel>((value) => typeof value === 'object' && value !== null && 'invoke' in value),
    ])
    .optional(),
  tools: z
    .array(
      z.custom<StructuredToolInterface>(
        (value) => typeof value === 'object' && value !== null && 'name' in value && 'invoke' in value,
      ),
    )
    .optional(),
  memory: z.custom<MemoryStore>(isVersioned, 'a MemoryStore with specificationVersion "v1"').optional(),
  namespace: z
    .union([z.string().min(1), z.custom<(context: Record<string, unknown>) => string>((value) => typeof value === 'function')])
    .optional(),
  memoryTools: z.boolean().optional(),
  recallK: z.number().int().min(0).max(50).optional(),
  recorder: z.custom<DecisionRecorder>(isVersioned, 'a DecisionRecorder with specificationVersion "v1"').optional(),
  plugins: z.array(z.object({ name: z.string(), version: z.string(), tools: z.array(z.any()) }).loose()).optional(),
  policy: z.custom<ProofPolicy>(isVersioned, 'a ProofPolicy from createProofPolicy()').optional(),
  systemPrompt: z
    .union([z.string().max(100_000), z.custom<SystemMessage>((value) => isObject(value) && 'content' in (value as object))])
    .optional(),
  vault: z
    .custom<AdapterVault>(
      (value) => isObject(value) && typeof (value as AdapterVault).search === 'function',
      'an open vault (createVault / openVault)',
    )
    .optional(),
  checkpointer: z
    .union([
      z.boolean(),
      z.custom<BaseCheckpointSaver>(
        (value) => isObject(value) && typeof (value as BaseCheckpointSaver).getTuple === 'function',
        'a LangGraph BaseCheckpointSaver',
      ),
    ])
    .optional(),
  store: z
    .custom<BaseStore>((value) => isObject(value) && typeof (value as BaseStore).batch === 'function', 'a LangGraph BaseStore')
    .optional(),
  responseFormat: z.custom<CreateAgentParams['responseFormat']>((value) => isObject(value)).optional(),
  stateSchema: z.custom<CreateAgentParams['stateSchema']>((value) => isObject(value)).optional(),
  contextSchema: z.custom<CreateAgentParams['contextSchema']>((value) => isObject(value)).optional(),
  description: z.string().max(10_000).optional(),
  includeAgentName: z.literal('inline').optional(),
  signal: z.instanceof(AbortSignal).optional(),
  version: z.enum(['v1', 'v2']).optional(),
  streamTransformers: z.array(z.custom<() => unknown>((value) => typeof value === 'function')).optional(),
  sealTraceBodies: z.boolean().optional(),
  content: z.enum(['full', 'digests']).optional(),
  findProof: z.custom<(message: unknown) => PendingProof | undefined>((value) => typeof value === 'function').optional(),
  middleware: z
    .array(z.custom<AgentMiddleware>((value) => typeof value === 'object' && value !== null && 'name' in value))
    .optional(),
})

/**
 * Creates an agent on LangChain v1's `createAgent` whose every decision is recorded (model turns,
 * tool calls and results, memory reads and writes, proof outcomes, final answers), that recalls
 * relevant memories before it thinks, and that acts on verifiable tools' outputs only as its
 * proof policy allows.
 *
 * @example
 * ```ts
 * const agent = createVerityAgent({
 *   name: 'helper',
 *   model: createScriptedChatModel(), // or: await initChatModel('openai:gpt-4o')
 *   tools: [classify],
 *   memory: vaultMemoryStore(vault),
 *   recorder: traceRecorder(trace),
 *   policy: createProofPolicy({ proofs: 'require-verified', timeoutMs: 60_000 }),
 * })
 * const { answer } = await agent.invoke('Is this transaction risky? amount=120')
 * ```
 */
export function createVerityAgent(parameters: CreateVerityAgentParameters = {}): CreateVerityAgentReturnType {
  const options = parseInput(parametersSchema, parameters, {
    what: 'createVerityAgent parameters',
    hint: 'See docs/agent.md for the parameters of createVerityAgent (every createAgent option is accepted; an unknown key is refused).',
    docsPath: 'agent.md',
  })
  const memory = parameters.memory ?? (parameters.vault ? vaultMemoryStore({ vault: parameters.vault }) : undefined)
  const vault = parameters.vault ?? vaultBehind(parameters.memory)
  const checkpointer =
    parameters.checkpointer === false
      ? undefined
      : typeof parameters.checkpointer === 'object'
        ? parameters.checkpointer
        : vault
          ? new VerityCheckpointSaver({ vault })
          : undefined
  const name = options.name ?? 'verity-agent'
  const recorder = parameters.recorder ?? createInMemoryDecisionRecorder()
  // A trace recorder without a vault of its own seals bodies under a key kept in the agent's vault.
  const sealable = recorder as Partial<Pick<TraceRecorderReturnType, 'sealWith'>>
  if (vault && options.sealTraceBodies !== false && typeof sealable.sealWith === 'function') {
    // The trace's body key is a record in the vault: a vault open read-only cannot keep it, and
    // failing here beats failing at the first decision (or writing personal bodies in plaintext).
    if (vault.info().readOnly)
      throw new InvalidInputError('A read-only vault cannot keep the trace body key', {
        details: `vault ${vault.info().path}: sealed trace bodies store a per-trace key in the vault`,
        hint: 'Open the vault writable (a writer grant: grant(guard, { write: true })), or pass sealTraceBodies: false to write trace bodies in plaintext.',
        docsPath: 'trace-format.md',
      })
    sealable.sealWith(vault)
  }
  const namespace: NamespaceResolver =
    parameters.namespace === undefined || parameters.namespace === 'agent'
      ? `agent:${name}`
      : parameters.namespace === 'user'
        ? (context) => `user:${String(context.userId)}`
        : parameters.namespace
  const toolCallEntries = new Map<string, string>()
  const toolOrigins = new Map<string, string>()
  const background = new Set<Promise<unknown>>()

  const tools: StructuredToolInterface[] = [...(parameters.tools ?? [])]
  if (memory && (options.memoryTools ?? true))
    tools.push(...createMemoryTools({ store: memory, recorder, namespace, source: name, toolCallEntries }))
  for (const plugin of parameters.plugins ?? []) {
    for (const pluginTool of plugin.tools) {
      toolOrigins.set(pluginTool.name, `${plugin.name}@${plugin.version}`)
      tools.push(pluginTool)
    }
  }
  const seen = new Set<string>()
  for (const candidate of tools) {
    if (seen.has(candidate.name))
      throw new InvalidInputError(`Two tools are named "${candidate.name}"`, {
        details: `tools: ${tools.map((entry) => entry.name).join(', ')}`,
        hint: 'Rename one of them (memory tools are remember/recall/forget; plugin tools keep their plugin prefix).',
        docsPath: 'agent.md',
      })
    seen.add(candidate.name)
  }

  const middleware = createVerityMiddleware({
    agentName: name,
    recorder,
    memory,
    namespace,
    recallK: options.recallK,
    policy: parameters.policy,
    content: options.content,
    toolOrigins,
    toolCallEntries,
    findProof: parameters.findProof,
    background,
  })
  const agentParameters = {
    name,
    model: (parameters.model ?? createScriptedChatModel()) as BaseChatModel,
    tools,
    middleware: [middleware, ...(parameters.middleware ?? [])] as AgentMiddleware[],
    ...(parameters.systemPrompt === undefined ? {} : { systemPrompt: parameters.systemPrompt }),
    ...passThrough(parameters),
  } as CreateAgentParams
  const graph = createAgent({ ...agentParameters, ...(checkpointer ? { checkpointer } : {}) }) as unknown as ReturnType<
    typeof createAgent
  >
  // A run without `configurable.thread_id` is a one-off: it runs on a graph without the saver, so nothing is kept.
  let oneOff: ReturnType<typeof createAgent> | undefined
  const graphFor = (runOptions: VerityAgentRunOptions) => {
    if (!checkpointer || runOptions.configurable?.thread_id !== undefined) return graph
    oneOff ??= createAgent(agentParameters) as unknown as ReturnType<typeof createAgent>
    return oneOff
  }

  const toState = (input: VerityAgentInput) =>
    typeof input === 'string' ? { messages: [{ role: 'user', content: input }] } : input
  type LooseGraph = {
    invoke(state: unknown, config?: unknown): Promise<{ messages: BaseMessage[] }>
    stream(state: unknown, config?: unknown): Promise<AsyncIterable<unknown>>
  }

  return {
    name,
    graph,
    checkpointer,
    recorder,
    tools,
    async invoke(input, runOptions = {}) {
      try {
        const state = await (graphFor(runOptions) as unknown as LooseGraph).invoke(toState(input), runOptions)
        const last = state.messages.at(-1)
        const answer = last ? (typeof last.content === 'string' ? last.content : last.text) : ''
        return { ...state, answer }
      } catch (thrown) {
        // LangChain wraps errors thrown by middleware in a MiddlewareError: surface ours.
        const error = isVerityError(thrown) ? thrown : (findVerityCause(thrown) ?? thrown)
        const aborted = runOptions.signal?.aborted === true
        await recorder.record({
          kind: 'run-error',
          body: { agent: name, error: error instanceof Error ? error.message : String(error), aborted },
        })
        if (aborted && !isVerityError(error))
          throw new AbortedError('The agent run was aborted', {
            cause: error,
            hint: 'The caller aborted the run through its AbortSignal.',
          })
        throw error
      }
    },
    async stream(input, runOptions = {}) {
      return (graphFor(runOptions) as unknown as LooseGraph).stream(toState(input), runOptions)
    },
    async settle() {
      while (background.size > 0) await Promise.allSettled([...background])
    },
  }
}

/** The vault behind `vaultMemoryStore({ vault })`, when it is a full open vault. */
function vaultBehind(memory: MemoryStore | undefined): AdapterVault | undefined {
  const candidate = (memory as { vault?: Partial<AdapterVault> } | undefined)?.vault
  const methods = ['add', 'update', 'get', 'delete', 'list', 'search', 'info'] as const
  return candidate && methods.every((method) => typeof candidate[method] === 'function') ? (candidate as AdapterVault) : undefined
}

/** The `createAgent` options Verity does not interpret: handed over as given. */
const PASSED_THROUGH = [
  'store',
  'responseFormat',
  'stateSchema',
  'contextSchema',
  'description',
  'includeAgentName',
  'signal',
  'version',
  'streamTransformers',
] as const

function passThrough(parameters: CreateVerityAgentParameters): Partial<CreateAgentParams> {
  const out: Record<string, unknown> = {}
  for (const key of PASSED_THROUGH) if (parameters[key] !== undefined) out[key] = parameters[key]
  return out as Partial<CreateAgentParams>
}

function findVerityCause(error: unknown): unknown {
  const seen = new Set<unknown>()
  let current: unknown = error
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    if (isVerityError(current)) return current
    seen.add(current)
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
