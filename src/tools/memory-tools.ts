import type { ToolRuntime } from '@langchain/core/tools'
import { tool } from '@langchain/core/tools'
import { z } from 'zod'
import { InvalidInputError } from '../errors.js'
import type { JsonValue } from '../memory/record.js'
import type { DecisionRecorder } from '../trace/decision-recorder.js'
import { parseInput } from '../validation.js'
import type { MemoryStore } from './memory-store.js'

/**
 * `remember`, `recall` and `forget`: LangChain tools over a {@link MemoryStore} (the vault, through
 * its adapter). Each call writes a `memory-write`, `memory-read` or `memory-delete` trace entry whose
 * `refs` are the digests of the memories touched; every memory written records, as provenance,
 * the trace entry of the tool call that wrote it.
 */

/** Resolves the namespace of a call from the run's context (e.g. `{ userId }`). */
export type NamespaceResolver = string | ((context: Record<string, unknown>) => string)

export type CreateMemoryToolsParameters = {
  store: MemoryStore
  /** Where decisions go; omit to record nothing (tools still work). */
  recorder?: DecisionRecorder | undefined
  /** A fixed namespace (`agent:alice-assistant`) or a function of the run context (`(c) => \`user:${c.userId}\``). */
  namespace: NamespaceResolver
  /** Recorded as the memory's `provenance.source` (usually the agent name). */
  source?: string | undefined
  /** Trace entry hash of each tool call by id, filled by the Verity middleware (for provenance). */
  toolCallEntries?: Map<string, string> | undefined
  /** How many memories `recall` returns by default (default 5). */
  defaultK?: number | undefined
}

const createMemoryToolsSchema = z.object({
  store: z.custom<MemoryStore>(
    (value) => typeof value === 'object' && value !== null && (value as MemoryStore).specificationVersion === 'v1',
    'a MemoryStore with specificationVersion "v1"',
  ),
  recorder: z
    .custom<DecisionRecorder>(
      (value) => typeof value === 'object' && value !== null && (value as DecisionRecorder).specificationVersion === 'v1',
    )
    .optional(),
  namespace: z.union([
    z.string().min(1).max(200),
    z.custom<(context: Record<string, unknown>) => string>((value) => typeof value === 'function'),
  ]),
  source: z.string().max(200).optional(),
  toolCallEntries: z.instanceof(Map).optional(),
  defaultK: z.number().int().min(1).max(100).optional(),
})

const metadataSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))

/**
 * Creates the three memory tools.
 *
 * @example
 * ```ts
 * const [remember, recall, forget] = createMemoryTools({ store, recorder, namespace: 'agent:helper' })
 * const agent = createAgent({ model, tools: [remember, recall, forget] })
 * ```
 */
export function createMemoryTools(parameters: CreateMemoryToolsParameters) {
  const options = parseInput(createMemoryToolsSchema, parameters, {
    what: 'createMemoryTools parameters',
    hint: 'Pass a MemoryStore (e.g. vaultMemoryStore(vault)) and a namespace.',
    docsPath: 'agent.md',
  })
  const { store, recorder } = parameters
  const defaultK = options.defaultK ?? 5
  const resolve = (runtime: ToolRuntime | undefined): string => resolveNamespace(parameters.namespace, runtime?.context)
  const provenanceFor = (runtime: ToolRuntime | undefined) => {
    const entry = runtime?.toolCallId ? parameters.toolCallEntries?.get(runtime.toolCallId) : undefined
    return { ...(entry ? { traceEntry: entry } : {}), ...(options.source ? { source: options.source } : {}) }
  }

  const remember = tool(
    async (
      input: { text: string; metadata?: Record<string, string | number | boolean | null> | undefined },
      runtime: ToolRuntime,
    ) => {
      const namespace = resolve(runtime)
      const metadata = (input.metadata ?? {}) as Record<string, JsonValue>
      const provenance = provenanceFor(runtime)
      const { id, digest } = await store.add({ text: input.text, namespace, metadata, provenance })
      await recorder?.record({
        kind: 'memory-write',
        body: {
          tool: 'remember',
          namespace,
          id,
          text: input.text,
          ...(provenance.traceEntry ? { writtenBy: provenance.traceEntry } : {}),
        },
        outputDigest: digest,
        refs: [{ type: 'memory', digest }],
      })
      return JSON.stringify({ id, digest, namespace })
    },
    {
      name: 'remember',
      description: 'Store a fact or outcome in long-term memory so it can be recalled later.',
      schema: z.object({
        text: z.string().min(1).max(100_000).describe('The fact to remember, as a self-contained sentence.'),
        metadata: metadataSchema.optional().describe('Optional flat key/value tags.'),
      }),
    },
  )

  const recall = tool(
    async (input: { query: string; k?: number | undefined }, runtime: ToolRuntime) => {
      const namespace = resolve(runtime)
      const hits = await store.search({ query: input.query, namespace, k: input.k ?? defaultK })
      await recorder?.record({
        kind: 'memory-read',
        body: { tool: 'recall', namespace, query: input.query, ids: hits.map((hit) => hit.id) },
        refs: hits.map((hit) => ({ type: 'memory', digest: hit.digest })),
      })
      return JSON.stringify({
        memories: hits.map((hit) => ({ id: hit.id, text: hit.text, score: Number(hit.score.toFixed(4)), digest: hit.digest })),
      })
    },
    {
      name: 'recall',
      description: 'Search long-term memory for facts relevant to a query.',
      schema: z.object({
        query: z.string().min(1).max(10_000).describe('What to look for.'),
        k: z.number().int().min(1).max(50).optional().describe('How many memories to return.'),
      }),
    },
  )

  const forget = tool(
    async (input: { id: string }, runtime: ToolRuntime) => {
      const namespace = resolve(runtime)
      const { deleted } = await store.delete({ id: input.id, namespace })
      await recorder?.record({ kind: 'memory-delete', body: { tool: 'forget', namespace, id: input.id, deleted } })
      return JSON.stringify({ id: input.id, deleted })
    },
    {
      name: 'forget',
      description: 'Delete a memory by its id (as returned by recall).',
      schema: z.object({ id: z.string().min(1).max(200).describe('The id of the memory to delete.') }),
    },
  )

  // A mutable tuple, so it can be passed straight to LangChain's createAgent({ tools }).
  const tools: [typeof remember, typeof recall, typeof forget] = [remember, recall, forget]
  return tools
}

export type CreateMemoryToolsReturnType = ReturnType<typeof createMemoryTools>

/**
 * Resolves a {@link NamespaceResolver} against a run context.
 *
 * @example
 * ```ts
 * resolveNamespace((context) => `user:${context.userId}`, { userId: 'alice' }) // 'user:alice'
 * ```
 */
export function resolveNamespace(resolver: NamespaceResolver, context: unknown): string {
  if (typeof resolver === 'string') return resolver
  const value = resolver(typeof context === 'object' && context !== null ? (context as Record<string, unknown>) : {})
  if (typeof value !== 'string' || value.length === 0 || value.includes('undefined'))
    throw new InvalidInputError('Could not resolve the memory namespace for this run', {
      details: `the namespace function returned ${JSON.stringify(value)}`,
      hint: "Pass the run context the namespace needs, e.g. agent.invoke(input, { context: { userId: 'alice' } }).",
      docsPath: 'agent.md',
    })
  return value
}
