import { type Attributes, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api'
import { z } from 'zod'
import { parseInput } from '../validation.js'
import { readTraceBlob, traceBlobDirectory } from './blob-store.js'
import type { JsonValue, TraceEntryLine } from './entry.js'
import { readTraceFile } from './read-trace.js'
import { readTraceBody } from './trace-bodies.js'
import { type TraceVerificationReport, type VerifyReceiptFunction, verifyTrace } from './verify-trace.js'

/**
 * Exports a trace as OpenTelemetry spans following the GenAI semantic conventions: one
 * `invoke_agent` span for the run, a `chat` span per model call, an `execute_tool` span per tool
 * call (ended by its result), and span events for the other entries. Each span carries `verity.*`
 * attributes (seq, entry hash, signature, agent, receipt status) so a span can be checked against
 * the signed trace. Uses only `@opentelemetry/api`: any SDK and exporter works.
 *
 * Bodies are read through the shared schemas of `trace-bodies.ts` (the ones the middleware writes):
 * a chat span runs from the model-call's `startedAt` for `durationMs`, with its `model`, `provider`
 * and `usage`; tool spans are matched to their results by `toolCallId`. The agent's name is
 * run-start `metadata.agentName`, else the agent's own run-start note (`agent`).
 */

export type ExportTraceToOpenTelemetryParameters = {
  /** The trace `.jsonl` file. */
  path: string
  /** Where spans go: `trace.getTracer('verity')` or a provider's tracer. */
  tracer: Tracer
  /** A report from {@link verifyTrace} (computed when absent) for receipt statuses and the verdict. */
  report?: TraceVerificationReport | undefined
  verifyReceipt?: VerifyReceiptFunction | undefined
}
export type ExportTraceToOpenTelemetryReturnType = {
  /** Spans started (and ended). */
  spans: number
  /** The OpenTelemetry trace id of the exported run. */
  traceId: string
  /** Whether the trace verified. */
  verified: boolean
}

const exportSchema = z.object({
  path: z.string().min(1),
  tracer: z.custom<Tracer>((value) => typeof (value as Tracer | undefined)?.startSpan === 'function', 'an OpenTelemetry Tracer'),
  report: z.custom<TraceVerificationReport>((value) => typeof value === 'object' && value !== null).optional(),
  verifyReceipt: z.custom<VerifyReceiptFunction>((value) => typeof value === 'function').optional(),
})

/**
 * Emits a verified trace as OpenTelemetry GenAI spans.
 *
 * @example
 * ```ts
 * import { trace } from '@opentelemetry/api'
 * await exportTraceToOpenTelemetry({ path: 'run.trace.jsonl', tracer: trace.getTracer('verity') })
 * ```
 */
export async function exportTraceToOpenTelemetry(
  parameters: ExportTraceToOpenTelemetryParameters,
): Promise<ExportTraceToOpenTelemetryReturnType> {
  const input = parseInput(exportSchema, parameters, { what: 'exportTraceToOpenTelemetry parameters' })
  const report =
    input.report ?? (await verifyTrace({ path: input.path, verifyReceipt: input.verifyReceipt, allowIncomplete: true }))
  const blobs = traceBlobDirectory(input.path)
  const entries = readTraceFile(input.path).lines.flatMap((item) => (item.ok && item.line.type === 'entry' ? [item.line] : []))
  const bodyOf = (entry: TraceEntryLine): Record<string, JsonValue> => {
    let body: unknown = entry.body
    if (body === undefined) {
      const blob = readTraceBlob(blobs, entry.bodyDigest)
      if (blob) {
        try {
          body = JSON.parse(Buffer.from(blob).toString('utf8'))
        } catch {
          body = undefined
        }
      }
    }
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, JsonValue>) : {}
  }
  const receiptStatus = new Map<number, string>()
  for (const receipt of report.receipts) {
    const status = receipt.status === 'unchecked' && receipt.provenBySeq !== undefined ? 'proven' : receipt.status
    receiptStatus.set(receipt.seq, status)
  }
  const verityAttributes = (entry: TraceEntryLine): Attributes => ({
    'verity.entry.seq': entry.seq,
    'verity.entry.kind': entry.kind,
    'verity.entry.hash': entry.hash,
    'verity.entry.signature': entry.signature,
    'verity.agent': entry.agent,
    ...(receiptStatus.has(entry.seq) ? { 'verity.receipt.status': receiptStatus.get(entry.seq) as string } : {}),
    ...(entry.refs.length ? { 'verity.entry.refs': entry.refs.map((ref) => `${ref.type}:${ref.digest}`) } : {}),
  })
  const time = (entry: TraceEntryLine | undefined) => (entry ? new Date(entry.time) : new Date())

  const first = entries[0]
  const last = entries.at(-1)
  const metadata = (bodyOf(first as TraceEntryLine).metadata ?? {}) as Record<string, JsonValue>
  const agentNote = entries.find((entry) => entry.kind === 'note' && bodyOf(entry).decision === 'run-start')
  const noted = agentNote ? bodyOf(agentNote).agent : undefined
  const agentName =
    typeof metadata.agentName === 'string' ? metadata.agentName : typeof noted === 'string' ? noted : 'verity-agent'
  let spans = 0
  const root = input.tracer.startSpan(`invoke_agent ${agentName}`, {
    kind: SpanKind.INTERNAL,
    startTime: time(first),
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': agentName,
      'gen_ai.agent.id': first?.agent ?? '',
      'verity.trace.origin': report.origin ?? '',
      'verity.trace.root': report.root,
      'verity.trace.entries': report.entries,
      'verity.trace.verified': report.ok,
      'verity.trace.complete': report.complete,
    },
  })
  spans++
  if (!report.ok)
    root.setStatus({ code: SpanStatusCode.ERROR, message: report.firstFailure?.reason ?? 'trace failed verification' })
  const parent = trace.setSpan(context.active(), root)
  // Open tool spans by call id (parallel calls each close on their own result); calls without an
  // id close in order per tool name.
  const openTools = new Map<string, Span>()
  const openByName = new Map<string, Span[]>()
  for (const entry of entries) {
    const body = bodyOf(entry)
    if (entry.kind === 'model-call') {
      const call = readTraceBody('model-call', body)
      const model = call?.model ?? 'unknown'
      const start = call?.startedAt ? new Date(call.startedAt) : time(entry)
      const end = call?.startedAt && call.durationMs !== undefined ? new Date(start.getTime() + call.durationMs) : time(entry)
      const span = input.tracer.startSpan(
        `chat ${model}`,
        {
          kind: SpanKind.CLIENT,
          startTime: start,
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': model,
            ...(call?.model ? { 'gen_ai.response.model': call.model } : {}),
            ...(call?.provider ? { 'gen_ai.provider.name': call.provider } : {}),
            ...(call?.usage
              ? { 'gen_ai.usage.input_tokens': call.usage.inputTokens, 'gen_ai.usage.output_tokens': call.usage.outputTokens }
              : {}),
            ...(call?.toolCalls?.length ? { 'verity.tool_calls': call.toolCalls.map((item) => item.id) } : {}),
            ...verityAttributes(entry),
          },
        },
        parent,
      )
      span.end(new Date(Math.max(start.getTime(), end.getTime())))
      spans++
    } else if (entry.kind === 'tool-call') {
      const call = readTraceBody('tool-call', body)
      const tool = call?.tool ?? 'unknown'
      const span = input.tracer.startSpan(
        `execute_tool ${tool}`,
        {
          kind: SpanKind.INTERNAL,
          startTime: time(entry),
          attributes: {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': tool,
            ...(call?.toolCallId ? { 'gen_ai.tool.call.id': call.toolCallId } : {}),
            ...(call?.plugin ? { 'verity.plugin': call.plugin } : {}),
            ...verityAttributes(entry),
          },
        },
        parent,
      )
      if (call?.toolCallId) openTools.set(call.toolCallId, span)
      else openByName.set(tool, [...(openByName.get(tool) ?? []), span])
      spans++
    } else if (entry.kind === 'tool-result') {
      const result = readTraceBody('tool-result', body)
      let span: Span | undefined
      if (result?.toolCallId) {
        span = openTools.get(result.toolCallId)
        openTools.delete(result.toolCallId)
      } else if (result) span = openByName.get(result.tool)?.shift()
      if (span) {
        span.setAttributes({
          'verity.result.seq': entry.seq,
          'verity.result.hash': entry.hash,
          'verity.result.signature': entry.signature,
          ...(receiptStatus.has(entry.seq) ? { 'verity.receipt.status': receiptStatus.get(entry.seq) as string } : {}),
        })
        if (result?.error !== undefined || result?.status === 'error')
          span.setStatus({ code: SpanStatusCode.ERROR, message: result?.error ?? 'tool error' })
        span.end(time(entry))
      } else root.addEvent('verity.tool-result', verityAttributes(entry), time(entry))
    } else root.addEvent(`verity.${entry.kind}`, verityAttributes(entry), time(entry))
  }
  for (const span of [...openTools.values(), ...[...openByName.values()].flat()]) span.end(time(last))
  root.end(time(last))
  return { spans, traceId: root.spanContext().traceId, verified: report.ok }
}
