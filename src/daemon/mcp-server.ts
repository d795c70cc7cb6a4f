import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { TRACE_BODY_KEY_NAMESPACE } from '../agent/index.js'
import { fromBase64, toBase64 } from '../crypto/bytes.js'
import type { JsonValue } from '../crypto/index.js'
import { canonicalDigest } from '../crypto/index.js'
import { AccessDeniedError, InvalidInputError, isVerityError, NotFoundError, type VerityError } from '../errors.js'
import type { TraceRef } from '../trace/index.js'
import type { DaemonServices } from './daemon-services.js'
import { runTimeline, verifyRun } from './run-view.js'
import { type Principal, type ScopeLevel, type ScopeResource, scopeAllows } from './scopes.js'

/** The tools every Verity MCP server offers. */
export const MCP_TOOL_NAMES = ['remember', 'recall', 'forget', 'infer', 'verify_receipt', 'verify_trace'] as const

export type CreateVerityMcpServerParameters = {
  services: DaemonServices
  /** Whose vaults, receipts and runs the tools act on (HTTP: the token's owner; stdio: the local owner). */
  principal: Principal
  /** Server version reported to clients. */
  version?: string | undefined
}
export type CreateVerityMcpServerReturnType = McpServer

const vaultArgument = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/)
  .optional()
  .describe('vault name (default: the first open vault)')

function text(value: unknown) {
  return {
    content: [{ type: 'text' as const, text: JSON.stringify(value, null, 2) }],
    structuredContent: value as Record<string, unknown>,
  }
}

function failure(error: unknown) {
  const body = isVerityError(error) ? (error as VerityError).toJSON() : { shortMessage: 'Internal error' }
  return { content: [{ type: 'text' as const, text: JSON.stringify({ error: body }) }], isError: true }
}

/**
 * The Verity MCP server: encrypted memory (`remember`, `recall`, `forget`), verifiable inference (`infer` with a
 * receipt), `verify_receipt`, `verify_trace`, and resources for runs and receipts. Every tool call is recorded in
 * a signed trace of the daemon's agent identity (the owner's MCP run).
 *
 * @example
 * ```ts
 * const server = createVerityMcpServer({ services, principal })
 * await server.connect(new StdioServerTransport())
 * ```
 */
export function createVerityMcpServer(parameters: CreateVerityMcpServerParameters): CreateVerityMcpServerReturnType {
  const { services, principal } = parameters
  const owner = principal.owner
  const server = new McpServer({ name: 'verity', version: parameters.version ?? '0.1.0' })
  const need = (level: ScopeLevel, resource: ScopeResource) => {
    if (!scopeAllows(principal.scopes, level, resource))
      throw new AccessDeniedError('Missing scope for this tool', { details: `${level}:${resource}` })
  }
  const vaultName = (name: string | undefined) => {
    const chosen = name ?? services.vaults.defaultName(owner)
    if (!chosen)
      throw new NotFoundError('No open vault', { hint: 'Open a vault on the daemon first (POST /v1/vaults/{vault}/open).' })
    return chosen
  }
  /** Runs a tool inside the trace: call entry, work, result entry. */
  const traced = async (
    tool: string,
    args: Record<string, unknown>,
    work: () => Promise<{ result: JsonValue; refs?: TraceRef[] }>,
  ) => {
    try {
      const { result } = await services.mcpTrace.record({ owner, tool, arguments: args as JsonValue }, work)
      return text(result)
    } catch (error) {
      return failure(error)
    }
  }

  server.registerTool(
    'remember',
    {
      description: 'Store a memory in the encrypted vault (durable when acknowledged).',
      inputSchema: { text: z.string().min(1).max(100_000), vault: vaultArgument, namespace: z.string().max(200).optional() },
    },
    (args) =>
      traced('remember', args, async () => {
        need('write', 'vault')
        const record = await services.vaults.use(owner, vaultName(args.vault), (vault) =>
          vault.add({ text: args.text, ...(args.namespace ? { namespace: args.namespace } : {}) }),
        )
        return {
          result: { id: record.id },
          refs: [{ type: 'memory', digest: canonicalDigest({ id: record.id, text: record.text }) }],
        }
      }),
  )
  server.registerTool(
    'recall',
    {
      description: 'Search the encrypted vault for memories related to a query.',
      inputSchema: { query: z.string().min(1).max(10_000), k: z.number().int().min(1).max(100).optional(), vault: vaultArgument },
    },
    (args) =>
      traced('recall', args, async () => {
        need('read', 'vault')
        const hits = await services.vaults.use(owner, vaultName(args.vault), (vault) =>
          vault.search({ query: args.query, k: (args.k ?? 5) + 8 }),
        )
        // Trace body keys live in the same vault (namespace verity:trace-keys): they are not memories.
        const memories = hits.filter((hit) => hit.record.namespace !== TRACE_BODY_KEY_NAMESPACE).slice(0, args.k ?? 5)
        return { result: { memories: memories.map((hit) => ({ id: hit.record.id, text: hit.record.text, score: hit.score })) } }
      }),
  )
  server.registerTool(
    'forget',
    { description: 'Delete a memory by id.', inputSchema: { id: z.string().min(1).max(200), vault: vaultArgument } },
    (args) =>
      traced('forget', args, async () => {
        need('write', 'vault')
        const deleted = await services.vaults.use(owner, vaultName(args.vault), (vault) => vault.delete(args.id))
        return { result: deleted }
      }),
  )
  server.registerTool(
    'infer',
    {
      description: 'Run a model with a zero-knowledge proof: the proven output and a receipt (pending until the proof lands).',
      inputSchema: {
        model: z.string().min(1).max(200),
        input: z.array(z.array(z.number())).min(1).max(64),
        waitForProof: z.boolean().optional().describe('wait until the receipt is verified'),
      },
    },
    (args) =>
      traced('infer', args, async () => {
        need('write', 'agent')
        const { output, receipt } = await services.inference.infer({
          owner,
          request: { model: args.model, input: args.input, prove: true },
        })
        const final = args.waitForProof ? await services.inference.settled(owner, receipt.id) : receipt
        return { result: { output, receipt: final as unknown as JsonValue }, refs: [{ type: 'receipt', digest: receipt.id }] }
      }),
  )
  server.registerTool(
    'verify_receipt',
    {
      description:
        'Verify a receipt and its EZKL proof offline. Pass receiptId (a receipt of yours) or receipt + proof (base64).',
      inputSchema: {
        receiptId: z.string().optional(),
        receipt: z.record(z.string(), z.unknown()).optional(),
        proof: z.string().optional(),
      },
    },
    (args) =>
      traced('verify_receipt', { receiptId: args.receiptId ?? null }, async () => {
        need('read', 'agent')
        let receipt: unknown = args.receipt
        let proof = args.proof ? fromBase64(args.proof) : undefined
        if (args.receiptId) {
          const stored = services.inference.receipt(owner, args.receiptId)
          receipt = stored.receipt
          proof = stored.proof
        }
        if (!receipt || !proof)
          throw new InvalidInputError('Nothing to verify yet', {
            hint: 'Wait until the receipt is proven, or pass receipt and proof.',
          })
        const result = await services.inference.verify({ receipt, proof })
        return { result: { valid: result.valid, checks: result.checks as unknown as JsonValue } }
      }),
  )
  server.registerTool(
    'verify_trace',
    {
      description: 'Verify a run trace (chain, signatures, checkpoints, receipts). Without runId: this MCP session’s own trace.',
      inputSchema: { runId: z.string().optional() },
    },
    (args) =>
      traced('verify_trace', args, async () => {
        need('read', 'agent')
        const runId = args.runId ?? services.mcpTrace.runOf(owner)
        if (!runId) throw new NotFoundError('No run to verify')
        services.runs.owned(runId, owner)
        const { verification } = await verifyRun(services, runId)
        return { result: { runId, ...verification } as unknown as JsonValue }
      }),
  )

  server.registerResource(
    'runs',
    'verity://runs',
    { description: 'Your runs (agent runs and MCP sessions)', mimeType: 'application/json' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(services.runs.list(owner)) }],
    }),
  )
  server.registerResource(
    'run',
    new ResourceTemplate('verity://runs/{runId}', {
      list: async () => ({
        resources: services.runs.list(owner).map((run) => ({ uri: `verity://runs/${run.id}`, name: run.id })),
      }),
    }),
    { description: "A run's trace timeline and verification", mimeType: 'application/json' },
    async (uri, variables) => {
      const runId = String(variables.runId)
      services.runs.owned(runId, owner)
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await runTimeline(services, runId)) }],
      }
    },
  )
  server.registerResource(
    'receipt',
    new ResourceTemplate('verity://receipts/{receiptId}', { list: undefined }),
    { description: 'A receipt of yours and its proof (base64) once proven', mimeType: 'application/json' },
    async (uri, variables) => {
      const { receipt, proof } = services.inference.receipt(owner, decodeURIComponent(String(variables.receiptId)))
      const body = { receipt, ...(proof ? { proof: toBase64(proof) } : {}) }
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(body) }] }
    },
  )
  return server
}
