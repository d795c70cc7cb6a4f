import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import { fromHex, toHex } from '../crypto/bytes.js'
import { parseInput } from '../validation.js'
import { traceBlobDirectory } from './blob-store.js'
import type { TraceCheckpointLine, TraceEntryLine, TraceRef } from './entry.js'
import { merkleRoot } from './merkle.js'
import { traceCheckpointSidecarPath } from './open-trace.js'
import { parseTraceLine, readTraceFile, type TornTail, type TraceFileLine } from './read-trace.js'
import { createRecoverPool, type RecoverPool, recoverSigners } from './recover-signers.js'
import { checkpointDigest } from './signing.js'
import { TraceChain, type TraceFailure } from './trace-chain.js'

/** What a receipt verifier says about one linked receipt. */
export type ReceiptVerdict = 'verified' | 'failed' | 'unchecked'

/**
 * Checks one receipt linked from an entry (injected: the proofs module provides it). A small
 * versioned function type: `(ref, entry) => Promise<'verified' | 'failed' | 'unchecked'>`.
 */
export type VerifyReceiptFunction = (ref: TraceRef, entry: TraceEntryLine) => Promise<ReceiptVerdict>

export type { TraceFailure } from './trace-chain.js'

/** Verdict on one receipt linked from an entry. */
export type TraceReceiptStatus = {
  seq: number
  digest: string
  /** `verified`/`failed`/`unchecked` from the verifier. */
  status: ReceiptVerdict
  /** Seq of the `receipt-proven` entry that points back to this entry, if any. */
  provenBySeq: number | undefined
}

/** The structured result of {@link verifyTrace}. */
export type TraceVerificationReport = {
  /** True when nothing failed (withheld bodies and unchecked receipts are not failures). */
  ok: boolean
  path: string
  origin: string | undefined
  chainId: number | undefined
  /** Every agent address that signed, in order (more than one after key rotations). */
  agents: string[]
  entries: number
  checkpoints: number
  /** `0x` RFC 9162 root over all entry hashes. */
  root: string
  /**
   * The run ended: the last entry is `run-end`, a checkpoint line covers every entry and the sidecar
   * holds that final checkpoint. Unless `allowIncomplete`, an unfinished run is a failure.
   */
  complete: boolean
  /** Why the run is not complete (empty when it is); with `allowIncomplete` these are reported, not failures. */
  incomplete: TraceFailure[]
  firstFailure: TraceFailure | undefined
  /** Failures in file order (at most 1000). */
  failures: TraceFailure[]
  tornTail: TornTail | undefined
  /** Bodies neither inline nor in `blobs/`: their digests are signed but the content was withheld. */
  withheld: { seq: number; bodyDigest: string }[]
  /** Things that could not be checked (receipts without a verifier...). */
  unchecked: { seq: number; what: string; reason: string }[]
  receipts: TraceReceiptStatus[]
}

export type VerifyTraceParameters = {
  /** The trace `.jsonl` file. */
  path: string
  /** Checks linked receipts; without it they are reported `unchecked`. */
  verifyReceipt?: VerifyReceiptFunction | undefined
  /** Checkpoints known from elsewhere (anchored on chain, published): the log must contain them. */
  trustedCheckpoints?: TraceCheckpointLine[] | undefined
  /**
   * Accept a run that has not ended (still being written, or cut short): by default a trace
   * without `run-end`, a final checkpoint line covering every entry and a sidecar holding it fails
   * verification. With `true` those problems are only reported in `incomplete`.
   */
  allowIncomplete?: boolean | undefined
  /** @deprecated Completeness is required by default now; kept so older callers still type-check. */
  requireComplete?: boolean | undefined
  /** Worker threads for signature recovery (default: one per core; 0 = none). */
  workers?: number | undefined
}
export type VerifyTraceReturnType = TraceVerificationReport

const verifySchema = z.object({
  path: z.string().min(1),
  verifyReceipt: z.custom<VerifyReceiptFunction>((value) => typeof value === 'function', 'a function').optional(),
  trustedCheckpoints: z.array(z.unknown()).optional(),
  allowIncomplete: z.boolean().optional(),
  requireComplete: z.boolean().optional(),
  workers: z.number().int().min(0).max(64).optional(),
})

const MAX_FAILURES = 1000

/**
 * Verifies a trace offline: the hash chain, every signature and agent address, seq order, the
 * Merkle checkpoints, the checkpoint sidecar and any trusted checkpoints (so truncation after a
 * checkpoint is caught), blob bodies, key rotations and every linked receipt (through
 * `verifyReceipt`). A run that has not ended (no `run-end`, no final checkpoint covering it, no
 * sidecar holding that checkpoint) fails unless `allowIncomplete`. Never throws on a bad trace:
 * returns a report naming the first failure.
 *
 * @example
 * ```ts
 * const report = await verifyTrace({ path: 'runs/42.trace.jsonl' })
 * if (!report.ok) console.error(report.firstFailure)
 * ```
 */
export async function verifyTrace(parameters: VerifyTraceParameters): Promise<VerifyTraceReturnType> {
  const input = parseInput(verifySchema, parameters, {
    what: 'verifyTrace parameters',
    hint: 'Pass { path } and optionally { verifyReceipt, trustedCheckpoints, allowIncomplete }.',
  })
  const path = input.path
  const { lines, tornTail } = readTraceFile(path)
  // Start the recovery threads now so they load while the lines are checked.
  const pool = input.workers !== 0 && lines.length >= 512 ? createRecoverPool({ workers: input.workers }) : undefined
  try {
    return await verifyLines(input, path, lines, tornTail, pool)
  } finally {
    await pool?.close()
  }
}

async function verifyLines(
  input: {
    verifyReceipt?: VerifyReceiptFunction | undefined
    trustedCheckpoints?: unknown[] | undefined
    allowIncomplete?: boolean | undefined
  },
  path: string,
  lines: TraceFileLine[],
  tornTail: TornTail | undefined,
  pool: RecoverPool | undefined,
): Promise<TraceVerificationReport> {
  const failures: TraceFailure[] = []
  const fail = (failure: TraceFailure) => {
    if (failures.length < MAX_FAILURES) failures.push(failure)
  }
  const chain = new TraceChain({ onFailure: fail, blobDirectory: traceBlobDirectory(path), keepLeaves: true })
  const withheld: TraceVerificationReport['withheld'] = []
  const unchecked: TraceVerificationReport['unchecked'] = []
  const receiptLinks: { seq: number; line: number; ref: TraceRef; entry: TraceEntryLine }[] = []

  for (const item of lines) {
    if (!item.ok) {
      fail({ what: 'file', line: item.lineNumber, seq: undefined, field: 'line', reason: item.reason })
      continue
    }
    const line = item.line
    const walked = chain.line(line, item.lineNumber)
    if (line.type !== 'entry') continue
    if (walked?.withheld) withheld.push({ seq: line.seq, bodyDigest: line.bodyDigest })
    for (const ref of line.refs)
      if (ref.type === 'receipt') receiptLinks.push({ seq: line.seq, line: item.lineNumber, ref, entry: line })
  }

  if (tornTail)
    fail({
      what: 'file',
      line: tornTail.lineNumber,
      seq: undefined,
      field: 'line',
      reason: `torn last line (${tornTail.bytes} bytes): ${tornTail.reason}; it was never acknowledged`,
    })

  // Checkpoints from outside the log: the sidecar and any trusted ones.
  const checks = chain.signatureChecks
  const external: { what: 'sidecar' | 'trusted-checkpoint'; checkpoint: unknown }[] = []
  const sidecarPath = traceCheckpointSidecarPath(path)
  let sidecar: TraceCheckpointLine | undefined
  if (existsSync(sidecarPath)) {
    const parsed = parseTraceLine(readFileSync(sidecarPath))
    if (parsed.ok && parsed.line.type === 'checkpoint') {
      sidecar = parsed.line
      external.push({ what: 'sidecar', checkpoint: parsed.line })
    } else fail({ what: 'sidecar', line: 0, seq: undefined, field: 'line', reason: `${sidecarPath} is not a valid checkpoint` })
  }
  for (const checkpoint of input.trustedCheckpoints ?? []) external.push({ what: 'trusted-checkpoint', checkpoint })
  for (const { what, checkpoint: raw } of external) {
    const parsed = parseTraceLine(Buffer.from(JSON.stringify(raw)))
    if (!parsed.ok || parsed.line.type !== 'checkpoint') {
      fail({ what, line: 0, seq: undefined, field: 'checkpoint', reason: parsed.ok ? 'not a checkpoint' : parsed.reason })
      continue
    }
    const checkpoint = parsed.line
    const at = { what, line: 0, seq: checkpoint.size }
    if (chain.origin !== undefined && checkpoint.origin !== chain.origin) {
      // A checkpoint of another run (replayed or mixed up) says nothing about this one.
      fail({ ...at, field: 'origin', reason: `checkpoint is for ${checkpoint.origin}, not this trace` })
      if (what === 'sidecar') sidecar = undefined
      continue
    }
    if (checkpoint.size > chain.leaves.length)
      fail({
        ...at,
        field: 'size',
        reason: `truncated: a signed checkpoint covers ${checkpoint.size} entries but the log has only ${chain.leaves.length}`,
      })
    else if (hex(merkleRoot(chain.leaves.slice(0, checkpoint.size))) !== checkpoint.root)
      fail({ ...at, field: 'root', reason: `the log's first ${checkpoint.size} entries do not match the signed checkpoint root` })
    if (!chain.agents.includes(checkpoint.agent))
      fail({ ...at, field: 'agent', reason: `checkpoint signed by ${checkpoint.agent}, not an agent of this trace` })
    checks.push({
      digest: checkpointDigest(
        { agent: checkpoint.agent, chainId: chain.chainId ?? 0 },
        { origin: checkpoint.origin, size: checkpoint.size, root: checkpoint.root },
      ),
      signature: fromHex(checkpoint.signature),
      expected: checkpoint.agent,
      failure: { ...at, field: 'signature' },
    })
  }

  // Signatures, batched (worker threads for large traces).
  const recovered = pool ? await pool.recover(checks) : await recoverSigners({ tasks: checks, workers: 0 })
  for (const [index, check] of checks.entries()) {
    const address = recovered[index]
    if (address !== check.expected)
      fail({
        ...check.failure,
        reason:
          address === undefined
            ? 'signature is malformed or does not recover'
            : `signature was made by ${address}, expected ${check.expected}`,
      })
  }

  // Receipts.
  const receipts: TraceReceiptStatus[] = []
  for (const link of receiptLinks) {
    let status: ReceiptVerdict = 'unchecked'
    if (input.verifyReceipt) {
      try {
        status = await input.verifyReceipt(link.ref, link.entry)
      } catch (error) {
        status = 'failed'
        unchecked.push({
          seq: link.seq,
          what: `receipt ${link.ref.digest}`,
          reason: `verifier threw: ${(error as Error).message}`,
        })
      }
      if (status === 'failed')
        fail({
          what: 'receipt',
          line: link.line,
          seq: link.seq,
          field: 'refs',
          reason: `linked receipt ${link.ref.digest} does not verify`,
        })
      if (status === 'unchecked')
        unchecked.push({ seq: link.seq, what: `receipt ${link.ref.digest}`, reason: 'the verifier could not check it' })
    } else unchecked.push({ seq: link.seq, what: `receipt ${link.ref.digest}`, reason: 'no receipt verifier was given' })
    receipts.push({ seq: link.seq, digest: link.ref.digest, status, provenBySeq: chain.provenBy.get(link.seq) })
  }

  const incomplete = completenessProblems(chain, sidecar, sidecarPath)
  if (!input.allowIncomplete) for (const problem of incomplete) fail(problem)
  if (chain.size === 0 && !tornTail)
    fail({ what: 'file', line: 0, seq: undefined, field: 'line', reason: 'the trace has no entries' })

  failures.sort((a, b) => (a.line || Number.MAX_SAFE_INTEGER) - (b.line || Number.MAX_SAFE_INTEGER))
  return {
    ok: failures.length === 0,
    path,
    origin: chain.origin,
    chainId: chain.chainId,
    agents: chain.agents,
    entries: chain.size,
    checkpoints: chain.checkpoints,
    root: chain.root(),
    complete: incomplete.length === 0,
    incomplete,
    firstFailure: failures[0],
    failures,
    tornTail,
    withheld,
    unchecked,
    receipts,
  }
}

/**
 * Why a run is not complete (empty when it is): it must end with `run-end`, a checkpoint line must
 * cover every entry after it, and the sidecar must hold that final checkpoint. A log cut short
 * loses its `run-end` (which the cutter cannot forge without the agent's key); dropping the final
 * checkpoint or the sidecar is named too.
 */
function completenessProblems(chain: TraceChain, sidecar: TraceCheckpointLine | undefined, sidecarPath: string): TraceFailure[] {
  const problems: TraceFailure[] = []
  const at = { what: 'file' as const, line: 0, seq: undefined }
  if (chain.size === 0) return problems
  if (!chain.ended)
    problems.push({
      ...at,
      field: 'run-end',
      reason: `the run has not ended: the last entry (seq ${chain.size - 1}, ${chain.lastKind}) is not run-end; the log was cut short or the run is still open`,
    })
  else if (chain.lastCheckpointSize !== chain.size)
    problems.push({
      ...at,
      field: 'checkpoint',
      reason: `no checkpoint line covers the end: the last one covers ${chain.lastCheckpointSize} of ${chain.size} entries (the final checkpoint was removed)`,
    })
  if (sidecar === undefined)
    problems.push({
      what: 'sidecar',
      line: 0,
      seq: undefined,
      field: 'sidecar',
      reason: `the checkpoint sidecar ${sidecarPath} is missing or unusable, so a cut after the last checkpoint line could go unseen`,
    })
  else if (sidecar.size !== chain.size)
    problems.push({
      what: 'sidecar',
      line: 0,
      seq: sidecar.size,
      field: 'size',
      reason: `the sidecar checkpoint covers ${sidecar.size} of ${chain.size} entries: it is not the run's final checkpoint`,
    })
  return problems
}

function hex(bytes: Uint8Array): string {
  return `0x${toHex(bytes)}`
}
