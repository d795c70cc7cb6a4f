import type { JsonValue } from '../crypto/index.js'
import { canonicalDigest } from '../crypto/index.js'
import type { TraceRef, TraceWriter } from '../trace/index.js'
import { runKeyResolver, sealRunTrace } from './run-sealing.js'
import type { RunStore } from './run-store.js'
import type { VaultSessions } from './vault-sessions.js'

export type McpToolCall = { owner: string; tool: string; arguments: JsonValue }
export type McpToolOutcome = { result: JsonValue; refs?: TraceRef[] | undefined; error?: string | undefined }

export type McpTraceLog = {
  /** Records a tool call and its result in the owner's MCP run (one per owner per daemon process). */
  record<T extends McpToolOutcome>(call: McpToolCall, work: () => Promise<T>): Promise<T>
  /** The owner's current MCP run id, if any call was made. */
  runOf(owner: string): string | undefined
  endAll(): Promise<void>
}
export type CreateMcpTraceLogParameters = { runs: RunStore; vaults: VaultSessions }
export type CreateMcpTraceLogReturnType = McpTraceLog

/**
 * Every MCP tool call in a signed trace of the daemon's agent identity: a `tool-call` entry (arguments sealed under
 * the owner's vault key, their digest public) acknowledged before the tool runs, then a `tool-result` linking receipts.
 *
 * @example
 * ```ts
 * const log = createMcpTraceLog({ runs, vaults })
 * await log.record({ owner, tool: 'recall', arguments: { query } }, async () => ({ result: hits }))
 * ```
 */
export function createMcpTraceLog(parameters: CreateMcpTraceLogParameters): CreateMcpTraceLogReturnType {
  const { runs, vaults } = parameters
  const open = new Map<string, Promise<{ runId: string; trace: TraceWriter }>>()
  const traceOf = (owner: string) => {
    let pending = open.get(owner)
    if (!pending) {
      // Arguments and results (memory texts, queries) are sealed under a key in the owner's open vault, from the
      // first call made while one is open; before that they are withheld (digest only). See run-sealing.ts.
      pending = runs.start({ owner, kind: 'mcp', agent: 'mcp' }).then(({ run, trace }) => ({
        runId: run.id,
        trace: sealRunTrace({ trace, key: runKeyResolver({ vaults, runs, owner, runId: run.id, origin: trace.origin }) }),
      }))
      open.set(owner, pending)
    }
    return pending
  }
  const ids = new Map<string, string>()
  return {
    async record<T extends McpToolOutcome>(call: McpToolCall, work: () => Promise<T>): Promise<T> {
      const { runId, trace } = await traceOf(call.owner)
      ids.set(call.owner, runId)
      const callEntry = await trace.append({
        kind: 'tool-call',
        inputDigest: canonicalDigest(call.arguments),
        body: { tool: call.tool, arguments: call.arguments },
        private: true,
      })
      let outcome: T
      try {
        outcome = await work()
      } catch (error) {
        await trace.append({
          kind: 'tool-result',
          body: { tool: call.tool, forSeq: callEntry.seq, error: (error as { shortMessage?: string }).shortMessage ?? 'failed' },
        })
        throw error
      }
      await trace.append({
        kind: 'tool-result',
        outputDigest: canonicalDigest(outcome.result),
        refs: outcome.refs ?? [],
        body: { tool: call.tool, forSeq: callEntry.seq, result: outcome.result },
        private: true,
      })
      return outcome
    },
    runOf: (owner) => ids.get(owner),
    async endAll() {
      const traces = [...open.values()]
      open.clear()
      for (const pending of traces) {
        const { runId, trace } = await pending
        await trace.end({ body: { status: 'completed' } })
        runs.finish(runId, 'completed')
      }
    },
  }
}
