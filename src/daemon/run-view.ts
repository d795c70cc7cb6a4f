import { join } from 'node:path'
import { z } from 'zod'
import { traceBodyKey } from '../agent/index.js'
import type { JsonValue } from '../crypto/index.js'
import { InvalidStateError, NotFoundError } from '../errors.js'
import { createTraceReceiptVerifier } from '../tools/index.js'
import { traceBlobDirectory } from '../trace/blob-store.js'
import { readTraceBlob, readTraceFile, type TraceVerificationReport, verifyTrace } from '../trace/index.js'
import { revealTrace, traceOrigin } from '../trace/reveal-trace.js'
import { isSealedTraceBody } from '../trace/sealed-body.js'
import { runAnchorSchema } from './anchor-checks.js'
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
  checks: z.object({
    chain: z.boolean(),
    signatures: z.boolean(),
    checkpoints: z.boolean(),
    receipts: z.boolean(),
    /** No recorded anchor failed its check against the chain. */
    anchors: z.boolean(),
  }),
  firstFailure: z
    .object({ what: z.string(), line: z.number(), seq: z.number().optional(), field: z.string(), reason: z.string() })
    .optional(),
  /** Where the trace's checkpoints were anchored on chain (records beside the trace), each checked when possible. */
  anchors: z.array(runAnchorSchema),
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
  const anchors = await services.anchors.check(services.runs.tracePath(runId))
  const anchorsOk = anchors.every((anchor) => anchor.status !== 'failed')
  const verification: Verification = {
    ok: report.ok && anchorsOk,
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
      anchors: anchorsOk,
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
    anchors,
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
      sealed: body === undefined || isSealedTraceBody(body),
      ...(status.has(entry.seq) ? { receiptStatus: status.get(entry.seq) } : {}),
      ...(typeof forSeq === 'number' ? { forSeq } : {}),
    })
  }
  return { entries, verification }
}

/** zod schema of `POST /v1/runs/{run}/reveal`'s answer. */
export const revealedEntrySchema = z.object({
  seq: z.number(),
  /** The body with its sealed fields opened (or as stored when it was never sealed). */
  body: z.json(),
  /** `sealed`: opened with the key from the owner's vault; `withheld`: only a digest was written (no vault was open). */
  state: z.enum(['public', 'sealed', 'withheld']),
})
export type RevealedEntry = z.infer<typeof revealedEntrySchema>

/**
 * The body of one entry for the run's owner: a sealed body is opened with the trace's body key, read from the
 * owner's vault, which must be open in a session of the daemon (the key is never stored anywhere else).
 *
 * @example
 * ```ts
 * const { body } = await revealEntry(services, { runId, owner: principal.owner, seq: 3 })
 * ```
 */
export async function revealEntry(
  services: DaemonServices,
  parameters: { runId: string; owner: string; seq: number },
): Promise<RevealedEntry> {
  const { runId, owner, seq } = parameters
  const run = services.runs.owned(runId, owner)
  const path = services.runs.tracePath(runId)
  for (const item of readTraceFile(path).lines) {
    if (!item.ok || item.line.type !== 'entry' || item.line.seq !== seq) continue
    let body = item.line.body as JsonValue | undefined
    if (body === undefined) {
      const blob = readTraceBlob(traceBlobDirectory(path), item.line.bodyDigest)
      if (!blob) throw new NotFoundError('The body of this entry was withheld', { details: `seq ${seq}` })
      body = JSON.parse(Buffer.from(blob).toString('utf8')) as JsonValue
    }
    if (!isSealedTraceBody(body)) {
      const withheld = typeof body === 'object' && body !== null && !Array.isArray(body) && 'withheldDigest' in body
      return { seq, body, state: withheld ? 'withheld' : 'public' }
    }
    const vault = run.sealedIn
    if (!vault || !services.vaults.list(owner).some((session) => session.name === vault && session.open))
      throw new InvalidStateError("Open the vault that holds this run's key to reveal it", {
        details: vault ? `vault ${vault}` : 'the run records no vault',
        hint: vault
          ? `POST /v1/vaults/${vault}/open with its guard, then reveal again.`
          : 'Runs made while no vault was open keep only digests of private fields.',
      })
    const key = await services.vaults.use(owner, vault, (open) => traceBodyKey({ vault: open, origin: traceOrigin(path) }))
    const revealed = revealTrace({ path, key, seqs: [seq] }).entries[0]
    return { seq, body: (revealed?.body ?? null) as JsonValue, state: 'sealed' }
  }
  throw new NotFoundError('No such entry', { details: `seq ${seq}` })
}
