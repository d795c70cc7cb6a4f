import { z } from 'zod'
import { InvalidInputError } from '../errors.js'
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

/**
 * Body of the `run-end` control entry: a closed vocabulary of codes, never free text. Control entries
 * are never sealed (a verifier without the key reads them), so personal data cannot go here: the
 * answer, the task or an error message belong in a sealed entry before `run-end`.
 *
 * @example
 * ```ts
 * runEndBodySchema.parse({ status: 'failed', errorCode: 'VERITY_ABORTED' })
 * ```
 */
export const runEndBodySchema = z.strictObject({
  /** How the run ended, as a code: `completed`, `failed`, `cancelled`, `interrupted`, `ok`... */
  status: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/)
    .optional(),
  /** The writer's run id (`20261128T070102Z-1a2b3c4d`). */
  runId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional(),
  interrupted: z.boolean().optional(),
  /** Why, as a code (`daemon-stopped`). */
  reason: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/)
    .optional(),
  /** The `VerityError` code of a failed run (`VERITY_ABORTED`); its message goes in a sealed entry. */
  errorCode: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,63}$/)
    .optional(),
})
export type RunEndBody = z.infer<typeof runEndBodySchema>

/** The body types by entry kind. */
export type TraceBodies = {
  'model-call': ModelCallBody
  'tool-call': ToolCallBody
  'tool-result': ToolResultBody
  answer: AnswerBody
  'run-end': RunEndBody
}

const schemas: { [K in keyof TraceBodies]: z.ZodType<TraceBodies[K]> } = {
  'model-call': modelCallBodySchema,
  'tool-call': toolCallBodySchema,
  'tool-result': toolResultBodySchema,
  answer: answerBodySchema,
  'run-end': runEndBodySchema,
}

/**
 * Field names that carry personal free text in this vocabulary (answers, tasks, memory texts, tool
 * arguments and results, queries, prompts, error messages). A writer seals them; a control entry,
 * never sealed, may not carry them at any depth (see {@link controlBodyProblem}).
 */
export const PERSONAL_TRACE_BODY_FIELDS: ReadonlySet<string> = new Set([
  'answer',
  'task',
  'text',
  'texts',
  'memory',
  'memories',
  'args',
  'arguments',
  'result',
  'results',
  'content',
  'query',
  'prompt',
  'error',
])

/** The control entries whose body a caller gives (`run-start` metadata, `receipt-proven` details, `run-end`). */
export type ControlBodyKind = 'run-start' | 'receipt-proven' | 'run-end'

/** Why a control entry's body is refused: the field (a dotted path) and what is wrong with it. */
export type ControlBodyProblem = { field: string; reason: 'personal' | 'not-in-vocabulary' | 'invalid' }

/**
 * Checks a caller's part of a control entry body: no personal free-text field at any depth, and for
 * `run-end` only the fields of {@link runEndBodySchema}. `undefined` when the body is fine.
 *
 * @example
 * ```ts
 * controlBodyProblem('run-end', { status: 'completed', answer: 'Paris' }) // { field: 'answer', reason: 'personal' }
 * ```
 */
export function controlBodyProblem(kind: ControlBodyKind, body: JsonValue | undefined): ControlBodyProblem | undefined {
  const personal = personalField(body, '')
  if (personal !== undefined) return { field: personal, reason: 'personal' }
  if (kind !== 'run-end' || body === undefined || body === null) return undefined
  if (typeof body !== 'object' || Array.isArray(body)) return { field: '(body)', reason: 'invalid' }
  const result = runEndBodySchema.safeParse(body)
  if (result.success) return undefined
  const issue = result.error.issues[0]
  if (issue?.code === 'unrecognized_keys') return { field: String(issue.keys[0]), reason: 'not-in-vocabulary' }
  return { field: issue?.path.map(String).join('.') || '(body)', reason: 'invalid' }
}

/**
 * Throws when {@link controlBodyProblem} finds a problem, or when a control entry is to be sealed: an `InvalidInputError` naming the entry kind and the
 * field (`meta.kind`, `meta.field`), whose hint says where the data belongs.
 *
 * @example
 * ```ts
 * assertControlBody('run-end', { status: 'completed' }) // fine
 * assertControlBody('run-end', { answer: 'Paris' }) // throws: run-end cannot carry 'answer'
 * ```
 */
export function assertControlBody(
  kind: ControlBodyKind,
  body: JsonValue | undefined,
  options: { sealed?: boolean | undefined } = {},
): void {
  if (options.sealed)
    throw new InvalidInputError(`A ${kind} entry is never sealed`, {
      hint: 'Control entries stay readable without the key: put private data in a sealed note or answer before it.',
      docsPath: 'trace-format.md',
      meta: { kind },
    })
  const problem = controlBodyProblem(kind, body)
  if (!problem) return
  const where = kind === 'run-start' ? 'run-start metadata' : kind === 'receipt-proven' ? 'receipt-proven details' : 'run-end'
  const hints = {
    personal: `'${problem.field}' is personal data, and a control entry is never sealed: append it in a sealed entry first (trace.append({ kind: 'note' or 'answer', body, seal: bodyKey }), or private: true without a key).`,
    'not-in-vocabulary': `A run-end body has only ${Object.keys(runEndBodySchema.shape).join(', ')}; anything else goes in a sealed entry before it.`,
    invalid: 'A run-end body is null or an object of codes (see runEndBodySchema in src/trace/trace-bodies.ts).',
  }
  throw new InvalidInputError(`The ${where} cannot carry '${problem.field}'`, {
    details:
      problem.reason === 'personal' ? 'personal free text in an entry that is never sealed' : 'not in the run-end vocabulary',
    hint: hints[problem.reason],
    docsPath: 'trace-format.md',
    meta: { kind, field: problem.field, reason: problem.reason },
  })
}

function personalField(value: JsonValue | undefined, path: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = personalField(item, `${path}[${index}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const [name, item] of Object.entries(value)) {
    const field = path ? `${path}.${name}` : name
    if (PERSONAL_TRACE_BODY_FIELDS.has(name)) return field
    const found = personalField(item, field)
    if (found !== undefined) return found
  }
  return undefined
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
