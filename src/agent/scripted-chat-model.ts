import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager'
import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BaseChatModelParams,
  type BindToolsInput,
} from '@langchain/core/language_models/chat_models'
import { AIMessage, AIMessageChunk, type BaseMessage } from '@langchain/core/messages'
import { type ChatGeneration, ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs'
import { convertToOpenAITool } from '@langchain/core/utils/function_calling'
import { z } from 'zod'
import { AbortedError } from '../errors.js'
import { tokenize } from '../memory/tokenize.js'
import { parseInput } from '../validation.js'
import { parseRecallContext, RECALL_CONTEXT_HEADER, type RecalledMemory } from './recall-context.js'

/**
 * The offline default chat model: a small, deterministic **planner** that does real tool calling
 * through LangChain's interfaces. It is not a language model and not a canned transcript: on every
 * turn it reads the conversation and the JSON schemas of the tools bound with `bindTools`, then
 * decides by fixed rules what to do next:
 *
 * 1. **recall** – if a `recall` tool is bound, nothing has been recalled for this task yet and no
 *    automatic recall context is present, it calls `recall({ query: task })`;
 * 2. **act** – it calls each bound tool whose name or description matches the task (one per turn,
 *    so later tools see earlier results), filling arguments from the tool's schema: explicit
 *    `name=value` pairs in the task, fields of earlier tool results with the same name, numbers in
 *    the task for number and number-array fields, the task text for string fields;
 * 3. **remember** – if a `remember` tool is bound and a tool produced a result (or the task says
 *    "remember ..."), it stores the outcome;
 * 4. **answer** – it replies with a summary of what it recalled, which tools returned what, and the decision.
 *
 * Switch to a real model in one line: `model: await initChatModel('openai:gpt-4o')` (after
 * `npm install @langchain/openai`), or any other LangChain chat model.
 *
 * @example
 * ```ts
 * import { createAgent, tool } from 'langchain'
 * const agent = createAgent({ model: createScriptedChatModel(), tools: [adder] })
 * const result = await agent.invoke({ messages: [{ role: 'user', content: 'add 2 and 3' }] })
 * ```
 */
export class ScriptedChatModel extends BaseChatModel<BaseChatModelCallOptions, AIMessageChunk> {
  /** Tools bound with {@link ScriptedChatModel.bindTools}, in OpenAI function format. */
  readonly boundTools: PlannerTool[]
  /** Delay between streamed chunks, to make streaming observable (0 by default). */
  readonly chunkDelayMs: number

  constructor(fields: ScriptedChatModelFields = {}) {
    const { tools = [], chunkDelayMs = 0, ...rest } = fields
    super(rest)
    this.boundTools = tools
    this.chunkDelayMs = chunkDelayMs
  }

  static override lc_name(): string {
    return 'ScriptedChatModel'
  }

  _llmType(): string {
    return 'verity-scripted'
  }

  override bindTools(tools: BindToolsInput[]): ScriptedChatModel {
    const converted = tools.map((candidate) => toPlannerTool(candidate))
    return new ScriptedChatModel({ tools: [...this.boundTools, ...converted], chunkDelayMs: this.chunkDelayMs })
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    throwIfAborted(options.signal)
    const step = planNextStep({ messages, tools: this.boundTools })
    const message = new AIMessage({
      content: step.text,
      tool_calls: step.toolCalls.map((call) => ({ ...call, type: 'tool_call' as const })),
      response_metadata: step.decision === undefined ? {} : { decision: step.decision },
    })
    const generation: ChatGeneration = { text: step.text, message }
    return { generations: [generation], llmOutput: { planner: step.rule } }
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    throwIfAborted(options.signal)
    const step = planNextStep({ messages, tools: this.boundTools })
    if (step.toolCalls.length > 0) {
      const chunk = new ChatGenerationChunk({
        text: '',
        message: new AIMessageChunk({
          content: '',
          tool_call_chunks: step.toolCalls.map((call, index) => ({
            type: 'tool_call_chunk' as const,
            name: call.name,
            args: JSON.stringify(call.args),
            id: call.id,
            index,
          })),
        }),
      })
      yield chunk
      return
    }
    const pieces = step.text.match(/\S+\s*/g) ?? ['']
    for (const [position, piece] of pieces.entries()) {
      throwIfAborted(options.signal)
      if (this.chunkDelayMs > 0) await sleep(this.chunkDelayMs, options.signal)
      const last = position === pieces.length - 1 && step.decision !== undefined
      const chunk = new ChatGenerationChunk({
        text: piece,
        message: new AIMessageChunk({ content: piece, response_metadata: last ? { decision: step.decision } : {} }),
      })
      await runManager?.handleLLMNewToken(piece, undefined, undefined, undefined, undefined, { chunk })
      yield chunk
    }
  }
}

/**
 * The decision the scripted model reached in its final answer (its `response_metadata.decision`),
 * as a value rather than text to parse; undefined for any other message.
 *
 * @example
 * ```ts
 * const { messages } = await agent.invoke('Is this transaction risky? amount=120')
 * scriptedDecision(messages.at(-1)) // 'risk = 0.99 is 0.9 or more, so: hold the payment (rule recalled from memory)'
 * ```
 */
export function scriptedDecision(message: BaseMessage | undefined): string | undefined {
  const decision = (message?.response_metadata as { decision?: unknown } | undefined)?.decision
  return typeof decision === 'string' ? decision : undefined
}

/** Constructor fields of {@link ScriptedChatModel}. */
export type ScriptedChatModelFields = BaseChatModelParams & {
  tools?: PlannerTool[] | undefined
  chunkDelayMs?: number | undefined
}

/** A tool as the planner sees it: name, description, JSON schema of its arguments. */
export type PlannerTool = { name: string; description: string; parameters: JsonSchema }

type JsonSchema = {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  enum?: unknown[]
  minItems?: number
  maxItems?: number
  description?: string
  anyOf?: JsonSchema[]
}

export type CreateScriptedChatModelParameters = {
  /** Delay in milliseconds between streamed chunks of the final answer (default 0). */
  chunkDelayMs?: number | undefined
}
export type CreateScriptedChatModelReturnType = ScriptedChatModel

const createScriptedChatModelSchema = z.object({ chunkDelayMs: z.number().int().min(0).max(10_000).optional() }).strict()

/**
 * Creates the offline, deterministic planner model (see {@link ScriptedChatModel}).
 *
 * @example
 * ```ts
 * const model = createScriptedChatModel()
 * // or, with a real provider:  const model = await initChatModel('openai:gpt-4o')
 * const agent = createVerityAgent({ model, tools, vault, recorder })
 * ```
 */
export function createScriptedChatModel(parameters: CreateScriptedChatModelParameters = {}): CreateScriptedChatModelReturnType {
  const parsed = parseInput(createScriptedChatModelSchema, parameters, {
    what: 'createScriptedChatModel parameters',
    docsPath: 'agent.md',
  })
  return new ScriptedChatModel({ chunkDelayMs: parsed.chunkDelayMs })
}

/** Names the planner treats as memory tools rather than action tools. */
export const MEMORY_TOOL_NAMES = { recall: 'recall', remember: 'remember', forget: 'forget' } as const

export type PlanNextStepParameters = { messages: BaseMessage[]; tools: PlannerTool[] }
export type PlannedToolCall = { id: string; name: string; args: Record<string, unknown> }
export type PlanNextStepReturnType = {
  /** Which rule fired: `recall`, `act`, `remember`, `forget` or `answer`. */
  rule: 'recall' | 'act' | 'remember' | 'forget' | 'answer'
  text: string
  toolCalls: PlannedToolCall[]
  /** With `answer` after an action: the decision drawn from the last action's result (also the answer's `Decision:` sentence). */
  decision?: string | undefined
}

/**
 * The planner's decision function, exposed for tests and for documentation: given the
 * conversation and the bound tools, what does the scripted model do next?
 *
 * @example
 * ```ts
 * const step = planNextStep({ messages: [new HumanMessage('add 2 and 3')], tools: [adderTool] })
 * step.toolCalls // [{ name: 'add', args: { a: 2, b: 3 }, id: 'call_0_add' }]
 * ```
 */
export function planNextStep(parameters: PlanNextStepParameters): PlanNextStepReturnType {
  const { messages, tools } = parameters
  let taskIndex = -1
  for (let index = messages.length - 1; index >= 0; index--) {
    if (messages[index]?.getType() === 'human') {
      taskIndex = index
      break
    }
  }
  const task = taskIndex >= 0 ? messageText(messages[taskIndex] as BaseMessage).trim() : ''
  const systemText = messages
    .filter((message) => message.getType() === 'system')
    .map(messageText)
    .join('\n')
  const autoRecallRan = systemText.includes(RECALL_CONTEXT_HEADER)
  const autoRecalled = parseRecallContext(systemText)
  const after = messages.slice(taskIndex + 1)
  const step = after.filter((message) => message.getType() === 'ai').length
  const called = new Map<string, string>()
  const results: { name: string; content: string }[] = []
  for (const message of after) {
    if (message.getType() === 'ai') {
      for (const call of (message as AIMessage).tool_calls ?? []) if (call.id) called.set(call.id, call.name)
    } else if (message.getType() === 'tool') {
      const toolMessage = message as BaseMessage & { tool_call_id: string; name?: string }
      results.push({ name: toolMessage.name ?? called.get(toolMessage.tool_call_id) ?? 'tool', content: messageText(message) })
    }
  }
  const calledNames = new Set(called.values())
  const byName = new Map(tools.map((candidate) => [candidate.name, candidate]))
  const call = (name: string, args: Record<string, unknown>, rule: PlanNextStepReturnType['rule']): PlanNextStepReturnType => ({
    rule,
    text: '',
    toolCalls: [{ id: `call_${step}_${name}`, name, args }],
  })

  const lower = task.toLowerCase()
  const rememberIntent = /^(please\s+)?remember\b/.exec(lower)
  const forgetIntent = /^(please\s+)?forget\b/.exec(lower)

  // 1. recall
  const recallTool = byName.get(MEMORY_TOOL_NAMES.recall)
  if (task && recallTool && !calledNames.has(recallTool.name) && !rememberIntent && (!autoRecallRan || forgetIntent)) {
    const query = forgetIntent ? task.slice(forgetIntent[0].length).trim() || task : task
    return call(recallTool.name, fillArguments(recallTool, query, [], { query, text: query }), 'recall')
  }

  // forget: remove the best recalled memory
  const forgetTool = byName.get(MEMORY_TOOL_NAMES.forget)
  if (forgetIntent && forgetTool && !calledNames.has(forgetTool.name)) {
    const recalledIds = [...recalledFromResults(results), ...autoRecalled].map((memory) => memory.id).filter(Boolean)
    if (recalledIds[0]) return call(forgetTool.name, fillArguments(forgetTool, task, [], { id: recalledIds[0] }), 'forget')
  }

  // 2. act
  const memoryNames = new Set<string>(Object.values(MEMORY_TOOL_NAMES))
  if (task && !rememberIntent && !forgetIntent) {
    for (const candidate of tools) {
      if (memoryNames.has(candidate.name) || calledNames.has(candidate.name)) continue
      if (!isRelevant(candidate, lower)) continue
      return call(candidate.name, fillArguments(candidate, task, results, {}), 'act')
    }
  }

  // 3. remember
  const rememberTool = byName.get(MEMORY_TOOL_NAMES.remember)
  const actionResults = results.filter((result) => !memoryNames.has(result.name))
  if (rememberTool && !calledNames.has(rememberTool.name) && (rememberIntent || actionResults.length > 0)) {
    const text = rememberIntent
      ? task
          .slice(rememberIntent[0].length)
          .replace(/^\s*(that\s+)?/i, '')
          .trim()
      : `${task} -> ${actionResults.map((result) => `${result.name}: ${compact(result.content)}`).join('; ')}`
    return call(rememberTool.name, fillArguments(rememberTool, text, [], { text }), 'remember')
  }

  // 4. answer
  const lines: string[] = []
  const recalled = [...autoRecalled, ...recalledFromResults(results)]
  if (recalled.length > 0)
    lines.push(
      `Recalled ${recalled.length} memor${recalled.length === 1 ? 'y' : 'ies'}: ${recalled.map((memory) => `"${compact(memory.text, 80)}"`).join(', ')}.`,
    )
  for (const result of actionResults) lines.push(`${result.name} returned ${summaryOf(result.content)}.`)
  if (results.some((result) => result.name === MEMORY_TOOL_NAMES.remember)) lines.push('I stored the outcome in memory.')
  if (results.some((result) => result.name === MEMORY_TOOL_NAMES.forget)) lines.push('I forgot the matching memory.')
  const last = actionResults.at(-1)
  const decision = last ? decisionFrom(last.content, recalled) : undefined
  if (decision !== undefined) lines.push(`Decision: ${decision}`)
  if (lines.length === 0) lines.push(task ? `No tool matches "${compact(task, 80)}"; nothing to do.` : 'No task given.')
  return { rule: 'answer', text: lines.join(' '), toolCalls: [], ...(decision === undefined ? {} : { decision }) }
}

function toPlannerTool(candidate: BindToolsInput): PlannerTool {
  const converted = convertToOpenAITool(candidate as Parameters<typeof convertToOpenAITool>[0]) as {
    function: { name: string; description?: string; parameters?: JsonSchema }
  }
  return {
    name: converted.function.name,
    description: converted.function.description ?? '',
    parameters: converted.function.parameters ?? { type: 'object', properties: {} },
  }
}

function messageText(message: BaseMessage): string {
  const content = message.content as unknown
  if (typeof content === 'string') return content
  if (Array.isArray(content))
    return content
      .map((part) =>
        typeof part === 'string' ? part : part && typeof part === 'object' && 'text' in part ? String(part.text) : '',
      )
      .join('')
  return ''
}

const STOP_WORDS = new Set(
  'the a an and or of to for in on with by from is are be this that it its as at into about please tool tools use using returns return value values given input output'.split(
    ' ',
  ),
)

function words(text: string): string[] {
  return tokenize(text).filter((word) => word.length >= 3 && !STOP_WORDS.has(word))
}

function isRelevant(candidate: PlannerTool, lowerTask: string): boolean {
  const nameWords = tokenize(candidate.name)
  if (lowerTask.includes(candidate.name.toLowerCase()) || lowerTask.includes(nameWords.join(' '))) return true
  const taskWords = new Set(words(lowerTask))
  let score = 0
  for (const word of new Set(nameWords)) if (taskWords.has(word)) score += 2
  for (const word of new Set(words(candidate.description))) if (taskWords.has(word)) score += 1
  return score >= 2
}

function fillArguments(
  candidate: PlannerTool,
  task: string,
  results: { name: string; content: string }[],
  preset: Record<string, unknown>,
): Record<string, unknown> {
  const properties = candidate.parameters.properties ?? {}
  const required = new Set(candidate.parameters.required ?? [])
  const numbers = (task.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number)
  let nextNumber = 0
  const previous = results
    .map((result) => parseJson(result.content))
    .filter((value): value is Record<string, unknown> => isObject(value))
  const args: Record<string, unknown> = {}
  for (const [key, schema] of Object.entries(properties)) {
    const type = schemaType(schema)
    const explicit = new RegExp(`\\b${escapeRegExp(key)}\\s*[=:]\\s*("[^"]*"|\\[[^\\]]*\\]|[^\\s,;]+)`, 'i').exec(task)
    if (key in preset && (type === 'string' || type === undefined)) {
      args[key] = preset[key]
      continue
    }
    if (explicit?.[1]) {
      const parsed = parseJson(explicit[1])
      args[key] = parsed === undefined ? explicit[1] : parsed
      continue
    }
    const fromResult = previous.find((value) => key in value)
    if (fromResult) {
      args[key] = fromResult[key]
      continue
    }
    if (!required.has(key)) {
      if (key in preset) args[key] = preset[key]
      continue
    }
    if (type === 'number' || type === 'integer') {
      const value = numbers[nextNumber++]
      if (value !== undefined) args[key] = type === 'integer' ? Math.trunc(value) : value
    } else if (type === 'array') {
      const itemType = schemaType(schema.items ?? {})
      if (itemType === 'number' || itemType === 'integer' || itemType === undefined) {
        let values = numbers.slice(nextNumber)
        nextNumber = numbers.length
        if (schema.maxItems !== undefined) values = values.slice(0, schema.maxItems)
        if (schema.minItems !== undefined) while (values.length < schema.minItems) values.push(0)
        args[key] = values
      } else if (itemType === 'string') args[key] = [task]
    } else if (type === 'string') {
      if (schema.enum) {
        const match = schema.enum.find(
          (option) => typeof option === 'string' && task.toLowerCase().includes(option.toLowerCase()),
        )
        args[key] = match ?? schema.enum[0]
      } else args[key] = task
    } else if (type === 'boolean') {
      if (required.has(key)) args[key] = task.toLowerCase().includes(key.toLowerCase())
    }
    if (!(key in args) && key in preset) args[key] = preset[key]
  }
  return args
}

function schemaType(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((type) => type !== 'null')
  if (schema.type) return schema.type
  const option = schema.anyOf?.find((candidate) => candidate.type && candidate.type !== 'null')
  return option ? schemaType(option) : undefined
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function recalledFromResults(results: { name: string; content: string }[]): RecalledMemory[] {
  const out: RecalledMemory[] = []
  for (const result of results) {
    if (result.name !== MEMORY_TOOL_NAMES.recall) continue
    const parsed = parseJson(result.content)
    const list = Array.isArray(parsed) ? parsed : isObject(parsed) && Array.isArray(parsed.memories) ? parsed.memories : []
    for (const item of list)
      if (isObject(item) && typeof item.text === 'string') out.push({ id: String(item.id ?? ''), text: item.text })
  }
  return out
}

function compact(text: string, limit = 160): string {
  const single = text.replace(/\s+/g, ' ').trim()
  return single.length > limit ? `${single.slice(0, limit - 1)}…` : single
}

/**
 * A threshold rule recalled from memory, e.g. "a transaction whose risk is 0.8 or more is held for
 * review": the named output, the threshold and what follows when the output reaches it.
 */
type ThresholdRule = { label: string; threshold: number; consequence: string }

const THRESHOLD_RULE = /\b([a-z_][a-z0-9_]*) (?:is|of) (-?[0-9]+(?:\.[0-9]+)?) or (?:more|above|higher) (?:is |are )?([^,.;]+)/i

function thresholdRules(memories: readonly { text: string }[]): ThresholdRule[] {
  const rules: ThresholdRule[] = []
  for (const memory of memories) {
    const match = THRESHOLD_RULE.exec(memory.text)
    if (match) rules.push({ label: match[1]!.toLowerCase(), threshold: Number(match[2]), consequence: match[3]!.trim() })
  }
  return rules
}

/** Labelled outputs of a verifiable tool (`{ labelled: { risk: 0.99 } }`), if any. */
function labelledOutputs(parsed: unknown): [string, unknown][] {
  return isObject(parsed) && isObject(parsed.labelled) ? Object.entries(parsed.labelled) : []
}

/** A tool result in one short phrase: labelled outputs and receipt status rather than raw JSON. */
function summaryOf(content: string): string {
  const parsed = parseJson(content)
  const labelled = labelledOutputs(parsed)
  if (labelled.length === 0) return compact(content)
  const receipt = isObject(parsed) && isObject(parsed.receipt) ? parsed.receipt.status : undefined
  const outputs = labelled.map(([key, value]) => `${key} = ${compact(JSON.stringify(value), 60)}`).join(', ')
  return typeof receipt === 'string' ? `${outputs} (proof receipt ${receipt})` : outputs
}

function decisionFrom(content: string, recalled: readonly { text: string }[] = []): string {
  const parsed = parseJson(content)
  if (isObject(parsed)) {
    // Verifiable tools name their outputs: "risk = 0.99" reads better than the raw tensor; a
    // recalled threshold rule on that output turns it into a decision.
    const labelled = labelledOutputs(parsed)
    if (labelled.length > 0) {
      const rules = thresholdRules(recalled)
      const applied = labelled.flatMap(([key, value]) => {
        const number = Array.isArray(value) ? Number(value.flat(4)[0]) : Number(value)
        const rule = rules.find((candidate) => candidate.label === key.toLowerCase())
        if (!rule || !Number.isFinite(number)) return []
        return number >= rule.threshold
          ? [`${key} = ${number} is ${rule.threshold} or more, so: ${rule.consequence} (rule recalled from memory)`]
          : [`${key} = ${number} is below ${rule.threshold}, so the recalled rule (${rule.consequence}) does not apply`]
      })
      if (applied.length > 0) return applied.join('; ')
      return labelled.map(([key, value]) => `${key} = ${compact(JSON.stringify(value), 60)}`).join(', ')
    }
    const keys = Object.keys(parsed)
    const key =
      ['decision', 'label', 'answer', 'result', 'output'].find((candidate) => candidate in parsed) ??
      (keys.length === 1 ? keys[0] : undefined)
    if (key !== undefined) return `${key} = ${compact(JSON.stringify(parsed[key]), 120)}`
  }
  return compact(content, 120)
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new AbortedError('The model call was aborted', { cause: signal.reason, hint: 'The caller aborted the run.' })
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, milliseconds)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(new AbortedError('The model call was aborted', { cause: signal.reason }))
      },
      { once: true },
    )
  })
}
