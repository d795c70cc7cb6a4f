import { join } from 'node:path'
import { z } from 'zod'
import type { JsonValue } from '../crypto/index.js'
import { NotFoundError } from '../errors.js'
import { createTraceReceiptVerifier } from '../tools/index.js'
import { traceBlobDirectory } from '../trace/blob-store.js'
import { readTraceBlob, readTraceFile, type TraceVerificationReport, verifyTrace } from '../trace/index.js'
import type { DaemonServices } from './daemon-services.js'

/** zod schema of one row of a run's timeline as the API and explorer show it. */
export const timelineEntrySchema = z.object({
  seq: z.number(),
  time: z.string(),
  kind: z.string(),
  agent: z.string(),
  hash: z.string(),
  refs: z.array(z.object({ type: z.string(), digest: z.string() })),
  /** Inline bodies only; sealed (private) bodies are shown only through `reveal` to the run's owner. */
  body: z.json().optional(),
  sealed: z.boolean(),
  /** For entries linking a receipt: verified / failed / unchecked / pending. */
  receiptStatus: z.string().optional(),
  /** `receipt-proven` entries: the entry whose receipt they settle. */
  forSeq: z.number().optional(),
})
export type TimelineEntry = z.infer<typeof timelineEntrySchema>

/** zod schema of the verification badge: each check and the first failing entry. */
export const verificationSchema = z.object({
  ok: z.boolean(),
  complete: z.boolean(),
  entries: z.number(),
  checkpoints: z.number(),
  root: z.string(),
  agents: z.array(z.string()),
  checks: z.object({ chain: z.boolean(), signatures: z.boolean(), checkpoints: z.boolean(), receipts: z.boolean() }),
  firstFailure: z
    .object({ what: z.string(), line: z.number(), seq: z.number().optional(), field: z.string(), reason: z.string() })
    .optional(),
  anchors: z.array(z.string()),
})
export type Verification = z.infer<typeof verificationSchema>

/** The receipt verifier for a run: its own receipts, the daemon's inference receipts, the configured models. */
function receiptVerifier(services: DaemonServices, runId: string) {
  return createTraceReceiptVerifier({
    receiptDirectories: [services.runs.receiptsDirectory(runId), join(services.config.home, 'receipts')],
    modelDirectories: services.config.modelDirectories,
  })
}

/**
 * Verifies a run's trace (chain, signatures, checkpoints, linked receipts with their proofs) and summarises it.
 *
 * @example
 * ```ts
 * const badge = await verifyRun(services, runId)
 * ```
 */
export async function verifyRun(
  services: DaemonServices,
  runId: string,
): Promise<{ verification: Verification; report: TraceVerificationReport }> {
  const report = await verifyTrace({
    path: services.runs.tracePath(runId),
    verifyReceipt: receiptVerifier(services, runId).verifyReceipt,
    workers: 0,
    // a run still in progress has no run-end yet: the badge reports completeness separately
    allowIncomplete: true,
  })
  const failing = (fields: string[]) => report.failures.some((failure) => fields.includes(failure.field))
  const verification: Verification = {
    ok: report.ok,
    complete: report.complete,
    entries: report.entries,
    checkpoints: report.checkpoints,
    root: report.root,
    agents: report.agents,
    checks: {
      chain: !failing(['prevHash', 'seq', 'hash', 'line', 'json', 'body', 'bodyDigest']),
      signatures: !failing(['signature', 'agent']),
      checkpoints: !report.failures.some(
        (failure) => failure.what === 'checkpoint' || failure.what === 'sidecar' || failure.field === 'root',
      ),
      receipts: !report.receipts.some((receipt) => receipt.status === 'failed'),
    },
    ...(report.firstFailure
      ? {
          firstFailure: {
            what: report.firstFailure.what,
            line: report.firstFailure.line,
            ...(report.firstFailure.seq !== undefined ? { seq: report.firstFailure.seq } : {}),
            field: report.firstFailure.field,
            reason: report.firstFailure.reason,
          },
        }
      : {}),
    anchors: [],
  }
  return { verification, report }
}

/**
 * A run's timeline: every entry with its kind, links and receipt status; sealed bodies are not included.
 *
 * @example
 * ```ts
 * const { entries, verification } = await runTimeline(services, runId)
 * ```
 */
export async function runTimeline(
  services: DaemonServices,
  runId: string,
): Promise<{ entries: TimelineEntry[]; verification: Verification }> {
  const { verification, report } = await verifyRun(services, runId)
  const status = new Map<number, string>()
  for (const receipt of report.receipts)
    status.set(
      receipt.seq,
      receipt.status === 'unchecked' ? (receipt.provenBySeq === undefined ? 'pending' : 'proven') : receipt.status,
    )
  const entries: TimelineEntry[] = []
  for (const item of readTraceFile(services.runs.tracePath(runId)).lines) {
    if (!item.ok || item.line.type !== 'entry') continue
    const entry = item.line
    const body = entry.body as JsonValue | undefined
    const forSeq = entry.kind === 'receipt-proven' ? (body as { forSeq?: unknown } | undefined)?.forSeq : undefined
    entries.push({
      seq: entry.seq,
      time: entry.time,
      kind: entry.kind,
      agent: entry.agent,
      hash: entry.hash,
      refs: entry.refs,
      ...(body !== undefined ? { body } : {}),
      sealed: body === undefined,
      ...(status.has(entry.seq) ? { receiptStatus: status.get(entry.seq) } : {}),
      ...(typeof forSeq === 'number' ? { forSeq } : {}),
    })
  }
  return { entries, verification }
}

/**
 * The sealed body of one entry, for the run's owner (the caller checks ownership first).
 *
 * @example
 * ```ts
 * const { body } = revealEntry(services, runId, 3)
 * ```
 */
export function revealEntry(services: DaemonServices, runId: string, seq: number): { seq: number; body: JsonValue } {
  const path = services.runs.tracePath(runId)
  for (const item of readTraceFile(path).lines) {
    if (!item.ok || item.line.type !== 'entry' || item.line.seq !== seq) continue
    if (item.line.body !== undefined) return { seq, body: item.line.body as JsonValue }
    const blob = readTraceBlob(traceBlobDirectory(path), item.line.bodyDigest)
    if (!blob) throw new NotFoundError('The body of this entry was withheld', { details: `seq ${seq}` })
    return { seq, body: JSON.parse(Buffer.from(blob).toString('utf8')) as JsonValue }
  }
  throw new NotFoundError('No such entry', { details: `seq ${seq}` })
}
