import { z } from 'zod'
import type { JsonValue } from './entry.js'

/**
 * The one vocabulary of an agent's trace entry bodies. The Verity middleware writes them, and
 * `verity trace show` (the timeline) and the OpenTelemetry export read them, all through these
 * schemas: a field renamed here is renamed for all three. Bodies are loose objects (a writer may
 * add fields; `decision` keeps the agent's own decision kind), and every field but the tool name is
 * optional, because `content: 'digests'` replaces texts and arguments by their digests.
 */

const digestString = z.string().regex(/^[a-z0-9-]{2,16}:[0-9a-f]{32,128}$/)
const isoTime = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
const count = z.number().int().nonnegative()

/**
 * Token counts of one model call (from LangChain's `usage_metadata`).
 *
 * @example
 * ```ts
 * tokenUsageSchema.parse({ inputTokens: 31, outputTokens: 12 })
 * ```
 */
export const tokenUsageSchema = z.looseObject({ inputTokens: count, outputTokens: count, totalTokens: count.optional() })
export type TokenUsage = z.infer<typeof tokenUsageSchema>

/**
 * One tool call a model asked for.
 *
 * @example
 * ```ts
 * requestedToolCallSchema.parse({ id: 'call-1', name: 'weather', args: { city: 'Lisbon' } })
 * ```
 */
export const requestedToolCallSchema = z.looseObject({
  /** The call id the model gave (LangChain `tool_call.id`); the matching `tool-call`/`tool-result` carry it as `toolCallId`. */
  id: z.string(),
  name: z.string(),
  /** Arguments (`content: 'full'`), or their digest. */
  args: z.json().optional(),
  argsDigest: digestString.optional(),
})
export type RequestedToolCall = z.infer<typeof requestedToolCallSchema>

/**
 * Body of a `model-call` entry (the agent's `model-turn` decision).
 *
 * @example
 * ```ts
 * modelCallBodySchema.parse(entry.body).usage?.inputTokens
 * ```
 */
export const modelCallBodySchema = z.looseObject({
  decision: z.string().optional(),
  /** The model's name as the provider reports it (`response_metadata.model_name`), else as configured. */
  model: z.string().optional(),
  /** The provider (LangChain's `ls_provider`, e.g. `openai`). */
  provider: z.string().optional(),
  /** Model answers before this one in the conversation (0 for the first call). */
  turn: z.number().int().optional(),
  /** The model's text answer, or its digest. */
  text: z.string().optional(),
  textDigest: digestString.optional(),
  toolCalls: z.array(requestedToolCallSchema).optional(),
  usage: tokenUsageSchema.optional(),
  /** When the model was called (the entry's own `time` is when it answered). */
  startedAt: isoTime.optional(),
  /** How long the model call took, milliseconds. */
  durationMs: z.number().nonnegative().optional(),
})
export type ModelCallBody = z.infer<typeof modelCallBodySchema>

/**
 * Body of a `tool-call` entry, written before the tool runs.
 *
 * @example
 * ```ts
 * toolCallBodySchema.parse(entry.body).toolCallId
 * ```
 */
export const toolCallBodySchema = z.looseObject({
  decision: z.string().optional(),
  tool: z.string(),
  toolCallId: z.string().optional(),
  /** Arguments (`content: 'full'`); the entry's `inputDigest` always commits to them. */
  args: z.json().optional(),
  /** `plugin@version` of a plugin tool. */
  plugin: z.string().optional(),
})
export type ToolCallBody = z.infer<typeof toolCallBodySchema>

/**
 * Body of a `tool-result` entry (also a tool error: `decision: 'tool-error'`, `error`).
 *
 * @example
 * ```ts
 * toolResultBodySchema.parse(entry.body).content
 * ```
 */
export const toolResultBodySchema = z.looseObject({
  decision: z.string().optional(),
  tool: z.string(),
  toolCallId: z.string().optional(),
  status: z.string().optional(),
  /** The tool's output text (`content: 'full'`); the entry's `outputDigest` always commits to it. */
  content: z.string().optional(),
  error: z.string().optional(),
  /** Digest of the receipt of a verifiable tool's output. */
  receipt: digestString.optional(),
  plugin: z.string().optional(),
})
export type ToolResultBody = z.infer<typeof toolResultBodySchema>

/**
 * Body of an `answer` entry (the agent's `final-answer`).
 *
 * @example
 * ```ts
 * answerBodySchema.parse(entry.body).text
 * ```
 */
export const answerBodySchema = z.looseObject({
  decision: z.string().optional(),
  agent: z.string().optional(),
  text: z.string().optional(),
  textDigest: digestString.optional(),
})
export type AnswerBody = z.infer<typeof answerBodySchema>

/** The body types by entry kind. */
export type TraceBodies = {
  'model-call': ModelCallBody
  'tool-call': ToolCallBody
  'tool-result': ToolResultBody
  answer: AnswerBody
}

const schemas: { [K in keyof TraceBodies]: z.ZodType<TraceBodies[K]> } = {
  'model-call': modelCallBodySchema,
  'tool-call': toolCallBodySchema,
  'tool-result': toolResultBodySchema,
  answer: answerBodySchema,
}

/**
 * Reads a body of a known kind through its schema; `undefined` when it does not fit (a body of
 * another writer, or withheld).
 *
 * @example
 * ```ts
 * const body = readTraceBody('model-call', entry.body)
 * body?.usage?.inputTokens
 * ```
 */
export function readTraceBody<K extends keyof TraceBodies>(kind: K, body: JsonValue | undefined): TraceBodies[K] | undefined {
  const result = schemas[kind].safeParse(body)
  return result.success ? result.data : undefined
}
