import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import { fromHex, toHex } from '../crypto/bytes.js'
import { canonicalDigest } from '../crypto/canonical-json.js'
import { digest } from '../crypto/digest.js'
import { checksumAddress } from '../identity/secp256k1-signer.js'
import { parseInput } from '../validation.js'
import { readTraceBlob, traceBlobDirectory } from './blob-store.js'
import {
  entryHash,
  type JsonValue,
  TRACE_FORMAT,
  type TraceCheckpointLine,
  type TraceEntryLine,
  type TraceRef,
  ZERO_HASH,
} from './entry.js'
import { MerkleAccumulator, merkleLeafHash, merkleRoot } from './merkle.js'
import { traceCheckpointSidecarPath } from './open-trace.js'
import { parseTraceLine, readTraceFile, type TornTail, type TraceFileLine } from './read-trace.js'
import { createRecoverPool, type RecoverPool, recoverSigners } from './recover-signers.js'
import { checkpointDigest, keyRotationDigest, traceEntryDigest } from './signing.js'

/** What a receipt verifier says about one linked receipt. */
export type ReceiptVerdict = 'verified' | 'failed' | 'unchecked'

/**
 * Checks one receipt linked from an entry (injected: the proofs module provides it). A small
 * versioned function type: `(ref, entry) => Promise<'verified' | 'failed' | 'unchecked'>`.
 */
export type VerifyReceiptFunction = (ref: TraceRef, entry: TraceEntryLine) => Promise<ReceiptVerdict>

/** One verification failure, naming where and why. */
export type TraceFailure = {
  /** What failed: an entry, a checkpoint line, the file itself, the sidecar or a trusted checkpoint. */
  what: 'entry' | 'checkpoint' | 'file' | 'sidecar' | 'trusted-checkpoint' | 'receipt'
  /** 1-based line in the file (0 when not in the file). */
  line: number
  /** Seq of the failing entry (for checkpoints: the size they claim). */
  seq: number | undefined
  /** The field that does not check out (`prevHash`, `signature`, `body`, `root`...). */
  field: string
  reason: string
}

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
  /** The run ended: last entry is `run-end` and a checkpoint covers every entry. */
  complete: boolean
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
  /** Fail when the run has not ended (no `run-end` + final checkpoint). */
  requireComplete?: boolean | undefined
  /** Worker threads for signature recovery (default: one per core; 0 = none). */
  workers?: number | undefined
}
export type VerifyTraceReturnType = TraceVerificationReport

const verifySchema = z.object({
  path: z.string().min(1),
  verifyReceipt: z.custom<VerifyReceiptFunction>((value) => typeof value === 'function', 'a function').optional(),
  trustedCheckpoints: z.array(z.unknown()).optional(),
  requireComplete: z.boolean().optional(),
  workers: z.number().int().min(0).max(64).optional(),
})

const MAX_FAILURES = 1000

type SignatureCheck = { digest: Uint8Array; signature: Uint8Array; expected: string; failure: Omit<TraceFailure, 'reason'> }

/**
 * Verifies a trace offline: the hash chain, every signature and agent address, seq order, the
 * Merkle checkpoints, the checkpoint sidecar and any trusted checkpoints (so truncation after a
 * checkpoint is caught), blob bodies, key rotations and every linked receipt (through
 * `verifyReceipt`). Never throws on a bad trace: returns a report naming the first failure.
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
    hint: 'Pass { path } and optionally { verifyReceipt, trustedCheckpoints }.',
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
    requireComplete?: boolean | undefined
  },
  path: string,
  lines: TraceFileLine[],
  tornTail: TornTail | undefined,
  pool: RecoverPool | undefined,
): Promise<TraceVerificationReport> {
  const blobDirectory = traceBlobDirectory(path)
  const failures: TraceFailure[] = []
  const fail = (failure: TraceFailure) => {
    if (failures.length < MAX_FAILURES) failures.push(failure)
  }
  const checks: SignatureCheck[] = []
  const withheld: TraceVerificationReport['withheld'] = []
  const unchecked: TraceVerificationReport['unchecked'] = []
  const receiptLinks: { seq: number; ref: TraceRef; entry: TraceEntryLine }[] = []
  const provenBy = new Map<number, number>()
  const agents: string[] = []
  const leaves: Uint8Array[] = []
  const accumulator = new MerkleAccumulator()

  let origin: string | undefined
  let chainId: number | undefined
  let agent: string | undefined
  let expectedSeq = 0
  let prevHash = ZERO_HASH
  let checkpointCount = 0
  let lastCheckpointSize = 0
  let lastKind: string | undefined
  let checkpointInterval: number | undefined
  let ended = false

  for (const item of lines) {
    if (!item.ok) {
      fail({ what: 'file', line: item.lineNumber, seq: undefined, field: 'line', reason: item.reason })
      continue
    }
    const line = item.line
    if (line.type === 'checkpoint') {
      checkpointCount++
      const at = { what: 'checkpoint' as const, line: item.lineNumber, seq: line.size }
      if (origin !== undefined && line.origin !== origin)
        fail({ ...at, field: 'origin', reason: `checkpoint origin ${line.origin} is not the trace origin ${origin}` })
      if (line.size !== accumulator.size)
        fail({
          ...at,
          field: 'size',
          reason: `checkpoint covers ${line.size} entries but ${accumulator.size} precede it (entries were removed or added)`,
        })
      else if (line.root !== hex(accumulator.root()))
        fail({ ...at, field: 'root', reason: 'checkpoint root does not match the entries before it' })
      if (line.size <= lastCheckpointSize)
        fail({
          ...at,
          field: 'size',
          reason: `checkpoint size ${line.size} does not grow past the previous checkpoint (${lastCheckpointSize}): a duplicated or reordered checkpoint`,
        })
      lastCheckpointSize = Math.max(lastCheckpointSize, line.size)
      if (agent !== undefined && line.agent !== agent)
        fail({ ...at, field: 'agent', reason: `checkpoint signed as ${line.agent}, current agent is ${agent}` })
      if (chainId !== undefined)
        checks.push({
          digest: checkpointDigest({ agent: line.agent, chainId }, { origin: line.origin, size: line.size, root: line.root }),
          signature: fromHex(line.signature),
          expected: line.agent,
          failure: { ...at, field: 'signature' },
        })
      continue
    }

    const at = { what: 'entry' as const, line: item.lineNumber, seq: line.seq }
    if (checkpointInterval !== undefined && accumulator.size - lastCheckpointSize >= checkpointInterval)
      fail({
        ...at,
        field: 'checkpoint',
        reason: `a checkpoint was due after ${lastCheckpointSize + checkpointInterval} entries and is missing (deleted or moved)`,
      })
    if (line.seq !== expectedSeq)
      fail({
        ...at,
        field: 'seq',
        reason: `expected seq ${expectedSeq}, found ${line.seq}: an entry was deleted, inserted, duplicated or reordered`,
      })
    if (line.prevHash !== prevHash)
      fail({ ...at, field: 'prevHash', reason: 'prevHash does not match the hash of the previous entry' })
    const recomputed = entryHash(line)
    if (recomputed !== line.hash)
      fail({ ...at, field: 'hash', reason: 'entry content does not match its hash: a field of this entry was changed' })
    if (ended) fail({ ...at, field: 'kind', reason: 'entry after run-end' })
    if (safeChecksum(line.agent) !== line.agent)
      fail({ ...at, field: 'agent', reason: 'agent address is not in EIP-55 checksum form' })

    // Body: inline, in a blob, or withheld.
    let body: JsonValue | undefined
    let bodyKnown = false
    if (line.body !== undefined) {
      body = line.body as JsonValue
      bodyKnown = true
      if (canonicalDigest(body) !== line.bodyDigest)
        fail({ ...at, field: 'body', reason: 'inline body does not match bodyDigest: the body was changed' })
    } else if (/^sha256:[0-9a-f]{64}$/.test(line.bodyDigest)) {
      const blob = readTraceBlob(blobDirectory, line.bodyDigest)
      if (blob === undefined) withheld.push({ seq: line.seq, bodyDigest: line.bodyDigest })
      else if (digest(blob) !== line.bodyDigest)
        fail({ ...at, field: 'body', reason: `blob ${line.bodyDigest} does not match its digest: the blob was changed` })
      else {
        const parsed = parseJson(blob)
        if (parsed.ok) {
          body = parsed.value
          bodyKnown = true
        } else fail({ ...at, field: 'body', reason: 'blob is not JSON' })
      }
    } else withheld.push({ seq: line.seq, bodyDigest: line.bodyDigest })

    if (line.seq === 0 || line.kind === 'run-start') {
      if (line.kind !== 'run-start' || line.seq !== 0)
        fail({ ...at, field: 'kind', reason: 'a trace starts with exactly one run-start entry, at seq 0' })
      const start = body as { format?: unknown; origin?: unknown; chainId?: unknown } | undefined
      if (
        line.kind === 'run-start' &&
        (!bodyKnown ||
          start?.format !== TRACE_FORMAT ||
          typeof start.origin !== 'string' ||
          typeof start.chainId !== 'number' ||
          !Number.isSafeInteger(start.chainId))
      )
        fail({ ...at, field: 'body', reason: `run-start body must hold { format: '${TRACE_FORMAT}', origin, chainId }` })
      else if (line.kind === 'run-start' && origin === undefined) {
        origin = start?.origin as string
        chainId = start?.chainId as number
        const interval = (start as { checkpointInterval?: unknown }).checkpointInterval
        if (interval !== undefined) {
          if (typeof interval === 'number' && Number.isSafeInteger(interval) && interval >= 1) checkpointInterval = interval
          else fail({ ...at, field: 'body.checkpointInterval', reason: 'checkpointInterval must be a positive integer' })
        }
        agent = line.agent
        agents.push(agent)
      }
    }
    if (agent === undefined) {
      agent = line.agent
      agents.push(agent)
    }
    if (line.agent !== agent)
      fail({ ...at, field: 'agent', reason: `signed as ${line.agent}, but the current agent is ${agent}` })
    const domainChain = chainId ?? 0
    checks.push({
      digest: traceEntryDigest(
        { agent: line.agent, chainId: domainChain },
        { seq: line.seq, prevHash: line.prevHash, entryHash: line.hash },
      ),
      signature: fromHex(line.signature),
      expected: line.agent,
      failure: { ...at, field: 'signature' },
    })

    if (line.kind === 'key-rotation') {
      const rotation = body as { previousAgent?: unknown; nextAgent?: unknown; nextAgentSignature?: unknown } | undefined
      if (
        !bodyKnown ||
        typeof rotation?.previousAgent !== 'string' ||
        typeof rotation.nextAgent !== 'string' ||
        !/^0x[0-9a-fA-F]{40}$/.test(rotation.nextAgent) ||
        typeof rotation.nextAgentSignature !== 'string' ||
        !/^0x[0-9a-f]{130}$/.test(rotation.nextAgentSignature)
      )
        fail({ ...at, field: 'body', reason: 'key-rotation body must hold previousAgent, nextAgent and nextAgentSignature' })
      else {
        if (rotation.previousAgent !== line.agent)
          fail({ ...at, field: 'body.previousAgent', reason: 'previousAgent is not the key that signed the rotation' })
        const nextAgent = safeChecksum(rotation.nextAgent) ?? rotation.nextAgent
        checks.push({
          digest: keyRotationDigest(
            { agent: nextAgent, chainId: domainChain },
            { previousAgent: line.agent, nextAgent, seq: line.seq, prevHash: line.prevHash },
          ),
          signature: fromHex(rotation.nextAgentSignature),
          expected: nextAgent,
          failure: { ...at, field: 'body.nextAgentSignature' },
        })
        agent = nextAgent
        agents.push(nextAgent)
      }
    }
    if (line.kind === 'receipt-proven') {
      const forSeq = (body as { forSeq?: unknown } | undefined)?.forSeq
      if (bodyKnown && (typeof forSeq !== 'number' || !Number.isSafeInteger(forSeq) || forSeq < 0 || forSeq >= line.seq))
        fail({ ...at, field: 'body.forSeq', reason: 'receipt-proven must point back to an earlier entry by seq' })
      else if (typeof forSeq === 'number') provenBy.set(forSeq, line.seq)
    }
    for (const ref of line.refs) if (ref.type === 'receipt') receiptLinks.push({ seq: line.seq, ref, entry: line })
    if (line.kind === 'run-end') ended = true

    const leaf = merkleLeafHash(fromHex(line.hash))
    leaves.push(leaf)
    accumulator.push(leaf)
    prevHash = line.hash
    expectedSeq = line.seq + 1
    lastKind = line.kind
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
  const external: { what: 'sidecar' | 'trusted-checkpoint'; checkpoint: unknown }[] = []
  const sidecar = traceCheckpointSidecarPath(path)
  if (existsSync(sidecar)) {
    const parsed = parseTraceLine(readFileSync(sidecar))
    if (parsed.ok && parsed.line.type === 'checkpoint') external.push({ what: 'sidecar', checkpoint: parsed.line })
    else fail({ what: 'sidecar', line: 0, seq: undefined, field: 'line', reason: `${sidecar} is not a valid checkpoint` })
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
    if (origin !== undefined && checkpoint.origin !== origin) {
      fail({ ...at, field: 'origin', reason: `checkpoint is for ${checkpoint.origin}, not this trace` })
      continue
    }
    if (checkpoint.size > leaves.length)
      fail({
        ...at,
        field: 'size',
        reason: `truncated: a signed checkpoint covers ${checkpoint.size} entries but the log has only ${leaves.length}`,
      })
    else if (hex(merkleRoot(leaves.slice(0, checkpoint.size))) !== checkpoint.root)
      fail({ ...at, field: 'root', reason: `the log's first ${checkpoint.size} entries do not match the signed checkpoint root` })
    if (!agents.includes(checkpoint.agent))
      fail({ ...at, field: 'agent', reason: `checkpoint signed by ${checkpoint.agent}, not an agent of this trace` })
    checks.push({
      digest: checkpointDigest(
        { agent: checkpoint.agent, chainId: chainId ?? 0 },
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
          line: lines.find((item) => item.ok && item.line.type === 'entry' && item.line.seq === link.seq)?.lineNumber ?? 0,
          seq: link.seq,
          field: 'refs',
          reason: `linked receipt ${link.ref.digest} does not verify`,
        })
      if (status === 'unchecked')
        unchecked.push({ seq: link.seq, what: `receipt ${link.ref.digest}`, reason: 'the verifier could not check it' })
    } else unchecked.push({ seq: link.seq, what: `receipt ${link.ref.digest}`, reason: 'no receipt verifier was given' })
    receipts.push({ seq: link.seq, digest: link.ref.digest, status, provenBySeq: provenBy.get(link.seq) })
  }

  const complete = lastKind === 'run-end' && lastCheckpointSize === leaves.length && leaves.length > 0
  if (input.requireComplete && !complete)
    fail({
      what: 'file',
      line: 0,
      seq: undefined,
      field: 'run-end',
      reason: 'the run has not ended: no run-end entry followed by a checkpoint of every entry (truncated or still open)',
    })
  if (leaves.length === 0 && !tornTail)
    fail({ what: 'file', line: 0, seq: undefined, field: 'line', reason: 'the trace has no entries' })

  failures.sort((a, b) => (a.line || Number.MAX_SAFE_INTEGER) - (b.line || Number.MAX_SAFE_INTEGER))
  return {
    ok: failures.length === 0,
    path,
    origin,
    chainId,
    agents,
    entries: leaves.length,
    checkpoints: checkpointCount,
    root: hex(accumulator.root()),
    complete,
    firstFailure: failures[0],
    failures,
    tornTail,
    withheld,
    unchecked,
    receipts,
  }
}

function safeChecksum(address: string): string | undefined {
  try {
    return checksumAddress(address)
  } catch {
    return undefined
  }
}

function hex(bytes: Uint8Array): string {
  return `0x${toHex(bytes)}`
}

function parseJson(bytes: Uint8Array): { ok: true; value: JsonValue } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(Buffer.from(bytes).toString('utf8')) as JsonValue }
  } catch {
    return { ok: false }
  }
}
