import type { JsonValue } from '../crypto/index.js'
import { canonicalDigest } from '../crypto/index.js'
import type { TraceRef, TraceWriter } from '../trace/index.js'
import type { RunStore } from './run-store.js'

export type McpToolCall = { owner: string; tool: string; arguments: JsonValue }
export type McpToolOutcome = { result: JsonValue; refs?: TraceRef[] | undefined; error?: string | undefined }

export type McpTraceLog = {
  /** Records a tool call and its result in the owner's MCP run (one per owner per daemon process). */
  record<T extends McpToolOutcome>(call: McpToolCall, work: () => Promise<T>): Promise<T>
  /** The owner's current MCP run id, if any call was made. */
  runOf(owner: string): string | undefined
  endAll(): Promise<void>
}
export type CreateMcpTraceLogParameters = { runs: RunStore }
export type CreateMcpTraceLogReturnType = McpTraceLog

/**
 * Every MCP tool call in a signed trace of the daemon's agent identity: a `tool-call` entry (arguments sealed as a
 * private body, their digest public) acknowledged before the tool runs, then a `tool-result` linking receipts.
 *
 * @example
 * ```ts
 * const log = createMcpTraceLog({ runs })
 * await log.record({ owner, tool: 'recall', arguments: { query } }, async () => ({ result: hits }))
 * ```
 */
export function createMcpTraceLog(parameters: CreateMcpTraceLogParameters): CreateMcpTraceLogReturnType {
  const { runs } = parameters
  const open = new Map<string, Promise<{ runId: string; trace: TraceWriter }>>()
  const traceOf = (owner: string) => {
    let pending = open.get(owner)
    if (!pending) {
      pending = runs.start({ owner, kind: 'mcp', agent: 'mcp' }).then(({ run, trace }) => ({ runId: run.id, trace }))
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
