import { z } from 'zod'
import { parseInput } from '../validation.js'
import { readTraceBlob, traceBlobDirectory } from './blob-store.js'
import type { JsonValue, TraceEntryKind, TraceRef } from './entry.js'
import { readTraceFile } from './read-trace.js'
import { readTraceBody } from './trace-bodies.js'
import { type TraceVerificationReport, type VerifyReceiptFunction, verifyTrace } from './verify-trace.js'

/** One row of a readable timeline. */
export type TraceTimelineRow = {
  seq: number
  time: string
  kind: TraceEntryKind
  agent: string
  /** One human line about the entry. */
  summary: string
  refs: TraceRef[]
  /** Where the body is: inline, in a blob, or withheld. */
  body: 'inline' | 'blob' | 'withheld'
  /** For entries linking a receipt: verified / failed / unchecked, or proven when a receipt-proven entry points back. */
  receiptStatus: string | undefined
  hash: string
}

export type TraceTimelineParameters = { path: string; verifyReceipt?: VerifyReceiptFunction | undefined }
export type TraceTimelineReturnType = { rows: TraceTimelineRow[]; report: TraceVerificationReport }

const timelineSchema = z.object({
  path: z.string().min(1),
  verifyReceipt: z.custom<VerifyReceiptFunction>((value) => typeof value === 'function').optional(),
})

/**
 * A readable timeline of a trace (seq, time, kind, summary, refs, receipt status) with its verification report.
 *
 * @example
 * ```ts
 * const { rows, report } = await traceTimeline({ path: 'run.trace.jsonl' })
 * ```
 */
export async function traceTimeline(parameters: TraceTimelineParameters): Promise<TraceTimelineReturnType> {
  const input = parseInput(timelineSchema, parameters, { what: 'traceTimeline parameters' })
  const report = await verifyTrace({ path: input.path, verifyReceipt: input.verifyReceipt, allowIncomplete: true })
  const status = new Map<number, string>()
  for (const receipt of report.receipts)
    status.set(
      receipt.seq,
      receipt.status === 'unchecked' && receipt.provenBySeq !== undefined
        ? `proven (seq ${receipt.provenBySeq}), unchecked`
        : receipt.status,
    )
  const blobs = traceBlobDirectory(input.path)
  const rows: TraceTimelineRow[] = []
  for (const item of readTraceFile(input.path).lines) {
    if (!item.ok || item.line.type !== 'entry') continue
    const entry = item.line
    let body: JsonValue | undefined = entry.body as JsonValue | undefined
    let where: TraceTimelineRow['body'] = 'inline'
    if (body === undefined) {
      const blob = /^sha256:[0-9a-f]{64}$/.test(entry.bodyDigest) ? readTraceBlob(blobs, entry.bodyDigest) : undefined
      where = blob ? 'blob' : 'withheld'
      if (blob) {
        try {
          body = JSON.parse(Buffer.from(blob).toString('utf8')) as JsonValue
        } catch {
          body = undefined
        }
      }
    }
    rows.push({
      seq: entry.seq,
      time: entry.time,
      kind: entry.kind,
      agent: entry.agent,
      summary:
        body === undefined
          ? `(body ${where === 'withheld' ? 'withheld' : 'unreadable'}: ${entry.bodyDigest})`
          : summarize(entry.kind, body),
      refs: entry.refs,
      body: where,
      receiptStatus: status.get(entry.seq),
      hash: entry.hash,
    })
  }
  return { rows, report }
}

function summarize(kind: TraceEntryKind, body: JsonValue): string {
  const record = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, JsonValue>) : {}
  const text = (value: JsonValue | undefined) =>
    value === undefined ? '' : clip(typeof value === 'string' ? value : JSON.stringify(value))
  switch (kind) {
    case 'run-start':
      return `run ${text(record.origin)}${record.metadata ? ` ${text(record.metadata)}` : ''}`
    case 'model-call': {
      const call = readTraceBody('model-call', body)
      const usage = call?.usage ? ` [${call.usage.inputTokens} in, ${call.usage.outputTokens} out tokens]` : ''
      const calls = call?.toolCalls?.length ? ` → ${call.toolCalls.map((item) => item.name).join(', ')}` : ''
      const said = call?.text ? `: ${text(call.text)}` : ''
      return `model ${call?.model ?? 'unknown'}${usage}${calls}${said}`
    }
    case 'tool-call': {
      const call = readTraceBody('tool-call', body)
      if (!call) return text(body)
      return `${call.tool}(${call.args === undefined ? '…' : text(call.args as JsonValue)})${call.toolCallId ? ` #${call.toolCallId}` : ''}`
    }
    case 'tool-result': {
      const result = readTraceBody('tool-result', body)
      if (!result) return text(body)
      const output = result.error !== undefined ? `error: ${result.error}` : result.content === undefined ? '…' : result.content
      return `${result.tool} → ${text(output)}${result.toolCallId ? ` #${result.toolCallId}` : ''}`
    }
    case 'receipt-proven':
      return `receipt of seq ${text(record.forSeq)} proven: ${text(record.receiptDigest)}`
    case 'key-rotation':
      return `key ${text(record.previousAgent)} → ${text(record.nextAgent)}`
    case 'answer': {
      const answer = readTraceBody('answer', body)
      return text(answer?.text ?? answer?.textDigest ?? body)
    }
    default:
      return text(body)
  }
}

function clip(text: string, length = 100): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text
}
