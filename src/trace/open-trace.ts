import { closeSync, existsSync, fdatasync, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import { fromHex, toHex } from '../crypto/bytes.js'
import { canonicalJson } from '../crypto/canonical-json.js'
import { digest } from '../crypto/digest.js'
import { randomId } from '../crypto/random.js'
import { IntegrityError, InvalidStateError, StorageError, TruncatedDataError } from '../errors.js'
import { DEFAULT_TRACE_CHAIN_ID } from '../identity/agent-domain.js'
import type { AgentSigner } from '../identity/secp256k1-signer.js'
import { fsyncDirectory, writeFileAtomic } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { traceBlobDirectory, writeTraceBlob } from './blob-store.js'
import {
  entryHash,
  type JsonValue,
  TRACE_ENTRY_KINDS,
  TRACE_FORMAT,
  TRACE_FORMAT_VERSION,
  type TraceCheckpointLine,
  type TraceEntryHeader,
  type TraceEntryKind,
  type TraceEntryLine,
  type TraceRef,
  traceRefSchema,
  ZERO_HASH,
} from './entry.js'
import { MerkleAccumulator, merkleLeafHash } from './merkle.js'
import { readTraceFile } from './read-trace.js'
import { sealTraceBody } from './sealed-body.js'
import { checkpointDigest, keyRotationDigest, signatureHex, traceEntryDigest } from './signing.js'
import { assertControlBody } from './trace-bodies.js'
import { TraceChain } from './trace-chain.js'
import { acquireTraceLock, type TraceLock } from './trace-lock.js'

/**
 * The trace writer: one JSONL file per run, appended by a single locked writer.
 *
 * Durability (group commit): `append` signs the entry at once and queues its line; the queue is
 * written with one `write` and made durable with one `fdatasync` (on the thread pool) on the next
 * turn of the event loop (or on `flush()`), and only then does `append`'s promise resolve. A resolved
 * append is an **acknowledged** entry: it survives `kill -9` and power loss. Entries appended in the
 * same tick, or while a sync is in flight, share the next fsync. A crash can leave at most an
 * unacknowledged torn last line, which readers report.
 */

/** Default number of entries between checkpoints. */
export const DEFAULT_CHECKPOINT_INTERVAL = 256
/** Bodies whose canonical JSON is larger than this many bytes go to a blob (default 4 KiB). */
export const DEFAULT_BLOB_THRESHOLD = 4096

/**
 * The sidecar holding the latest signed checkpoint, replaced atomically at every checkpoint, so a
 * log truncated after a checkpoint is detected even when the checkpoint line itself was cut off.
 *
 * @example
 * ```ts
 * traceCheckpointSidecarPath('run.trace.jsonl') // 'run.trace.jsonl.checkpoint.json'
 * ```
 */
export function traceCheckpointSidecarPath(tracePath: string): string {
  return `${tracePath}.checkpoint.json`
}

/** What to append. */
export type AppendTraceEntryParameters = {
  kind: Exclude<TraceEntryKind, 'run-start' | 'key-rotation'>
  /** Digest of the decision's input (e.g. `canonicalDigest(prompt)`). */
  inputDigest?: string | null | undefined
  /** Digest of the decision's output. */
  outputDigest?: string | null | undefined
  /** Typed links by digest: `{ type: 'receipt', digest }`, `{ type: 'memory', digest }`... */
  refs?: TraceRef[] | undefined
  /** Any JSON; stored inline when small, in a blob when large or private. */
  body?: JsonValue | undefined
  /** Store the body only as a blob (so it can be withheld when sharing the trace). */
  private?: boolean | undefined
  /**
   * A 32-byte trace body key: seal the body's private fields (AES-256-GCM, bound to this trace's
   * origin, agent, seq and kind; see `sealTraceBody`). `bodyDigest` commits to the sealed body.
   */
  seal?: Uint8Array | undefined
}
export type AppendTraceEntryReturnType = { seq: number; hash: string }

/** A live trace writer. */
export type TraceWriter = {
  readonly path: string
  readonly origin: string
  readonly chainId: number
  /** Address currently signing (changes after `rotateKey`). */
  readonly agent: string
  /** Number of entries appended (acknowledged or queued). */
  readonly size: number
  /** Set when an existing trace was opened with `repair` and a torn last line was cut off. */
  readonly repaired: { lineNumber: number; bytes: number } | undefined
  /** Appends an entry; resolves once it is durable (acknowledged). */
  append(parameters: AppendTraceEntryParameters): Promise<AppendTraceEntryReturnType>
  /** Records that the receipt of entry `forSeq` was proven: a new entry, never an edit. */
  recordReceiptProven(parameters: RecordReceiptProvenParameters): Promise<AppendTraceEntryReturnType>
  /** Appends a `key-rotation` entry signed by the current key and countersigned by `signer`, then signs with `signer`. */
  rotateKey(parameters: { signer: AgentSigner }): Promise<AppendTraceEntryReturnType>
  /** Writes a signed checkpoint of the current size now (if anything was appended since the last). */
  checkpoint(): Promise<TraceCheckpointLine | undefined>
  /** Makes every queued entry durable. */
  flush(): Promise<void>
  /** Appends `run-end`, a final checkpoint, and closes. */
  end(parameters?: { body?: JsonValue | undefined }): Promise<{ seq: number; checkpoint: TraceCheckpointLine }>
  /** Flushes and releases the file and lock without ending the run (it can be reopened and resumed). */
  close(): Promise<void>
}

export type RecordReceiptProvenParameters = {
  /** Seq of the entry whose receipt is now proven. */
  forSeq: number
  /** Digest of the proven receipt. */
  receiptDigest: string
  /** Digest of the proof. */
  proofDigest?: string | undefined
  /** Extra facts (verification status, timings...). */
  details?: JsonValue | undefined
}

export type OpenTraceParameters = {
  /** The `.jsonl` file of this run (created with a `run-start` entry when missing). */
  path: string
  signer: AgentSigner
  /** Chain id of the EIP-712 domain (new traces; default 1). */
  chainId?: number | undefined
  /** Run metadata for the `run-start` entry (new traces). */
  metadata?: JsonValue | undefined
  /** Entries between checkpoints (default 256). */
  checkpointInterval?: number | undefined
  /** Inline body limit in bytes (default 4096). */
  blobThreshold?: number | undefined
  /** Cut off a torn last line (an unacknowledged append) instead of refusing to open. */
  repair?: boolean | undefined
}
export type OpenTraceReturnType = TraceWriter

const signerSchema = z.custom<AgentSigner>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    (value as AgentSigner).specificationVersion === 'v1' &&
    typeof (value as AgentSigner).address === 'string' &&
    typeof (value as AgentSigner).signDigest === 'function',
  'an AgentSigner (specificationVersion v1)',
)

const openSchema = z.object({
  path: z.string().min(1),
  signer: signerSchema,
  chainId: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  metadata: z.json().optional(),
  checkpointInterval: z.number().int().min(1).max(1_000_000).optional(),
  blobThreshold: z
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * 1024)
    .optional(),
  repair: z.boolean().optional(),
})

const digestOrNull = z
  .string()
  .regex(/^[a-z0-9-]{2,16}:[0-9a-f]{32,128}$/, 'a digest like sha256:<hex>')
  .nullable()
  .optional()

const appendSchema = z.object({
  kind: z.enum(TRACE_ENTRY_KINDS).refine((kind) => kind !== 'run-start' && kind !== 'key-rotation', {
    message: 'run-start and key-rotation entries are written by openTrace and rotateKey',
  }),
  inputDigest: digestOrNull,
  outputDigest: digestOrNull,
  refs: z.array(traceRefSchema).max(1024).optional(),
  body: z.json().optional(),
  private: z.boolean().optional(),
  seal: z
    .instanceof(Uint8Array)
    .refine((key) => key.length === 32, 'a 32-byte key')
    .optional(),
})

const receiptProvenSchema = z.object({
  forSeq: z.number().int().nonnegative(),
  receiptDigest: z.string().regex(/^[a-z0-9-]{2,16}:[0-9a-f]{32,128}$/),
  proofDigest: z
    .string()
    .regex(/^[a-z0-9-]{2,16}:[0-9a-f]{32,128}$/)
    .optional(),
  details: z.json().optional(),
})

type Waiter = { resolve: () => void; reject: (error: unknown) => void }

/**
 * Opens a trace for appending: creates it with a signed `run-start` entry, or resumes an existing
 * one (checking its chain, refusing a torn last line unless `repair`, refusing an ended run).
 *
 * @example
 * ```ts
 * const trace = await openTrace({ path: 'runs/42.trace.jsonl', signer: identity.signer })
 * await trace.append({ kind: 'tool-call', body: { tool: 'search', arguments: { q: 'verity' } } })
 * await trace.end()
 * ```
 */
export async function openTrace(parameters: OpenTraceParameters): Promise<OpenTraceReturnType> {
  const input = parseInput(openSchema, parameters, {
    what: 'openTrace parameters',
    hint: 'Pass { path, signer } where signer comes from createAgentIdentity/loadAgentIdentity or createKeySigner.',
  })
  assertControlBody('run-start', input.metadata as JsonValue | undefined)
  const lock = acquireTraceLock(input.path)
  try {
    return await TraceWriterImplementation.open(input as OpenTraceParameters, lock)
  } catch (error) {
    lock.release()
    throw error
  }
}

class TraceWriterImplementation implements TraceWriter {
  readonly path: string
  origin = ''
  chainId = DEFAULT_TRACE_CHAIN_ID
  repaired: { lineNumber: number; bytes: number } | undefined
  #signer: AgentSigner
  #agent: string
  #fd: number | undefined
  #lock: TraceLock
  #seq = 0
  #prevHash = ZERO_HASH
  #accumulator: MerkleAccumulator = new MerkleAccumulator()
  #lastCheckpointSize = 0
  #checkpointInterval: number
  #blobThreshold: number
  #blobDirectory: string
  #pending: string[] = []
  #pendingCheckpoint: TraceCheckpointLine | undefined
  #waiters: Waiter[] = []
  #scheduled = false
  #syncing = false
  #broken: unknown
  #ended = false
  #closed = false

  private constructor(input: OpenTraceParameters, lock: TraceLock) {
    this.path = input.path
    this.#signer = input.signer
    this.#agent = input.signer.address
    this.#lock = lock
    this.#checkpointInterval = input.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL
    this.#blobThreshold = input.blobThreshold ?? DEFAULT_BLOB_THRESHOLD
    this.#blobDirectory = traceBlobDirectory(input.path)
  }

  static async open(input: OpenTraceParameters, lock: TraceLock): Promise<TraceWriterImplementation> {
    const writer = new TraceWriterImplementation(input, lock)
    const exists = existsSync(input.path)
    if (exists) writer.#resume(input)
    try {
      writer.#fd = openSync(input.path, 'a', 0o600)
      if (!exists) fsyncDirectory(dirname(input.path))
    } catch (cause) {
      throw new StorageError('Could not open the trace file', { details: `${input.path}: ${(cause as Error).message}`, cause })
    }
    if (writer.#seq === 0) {
      writer.chainId = input.chainId ?? DEFAULT_TRACE_CHAIN_ID
      writer.origin = `verity-trace/${writer.#agent}/${randomId()}`
      const pending = writer.#appendNow({
        kind: 'run-start',
        body: {
          format: TRACE_FORMAT,
          origin: writer.origin,
          chainId: writer.chainId,
          checkpointInterval: writer.#checkpointInterval,
          metadata: input.metadata ?? null,
        },
        inline: true,
      })
      await pending.acknowledged
    }
    return writer
  }

  get agent(): string {
    return this.#agent
  }

  get size(): number {
    return this.#seq
  }

  #resume(input: OpenTraceParameters): void {
    const { lines, tornTail } = readTraceFile(input.path)
    if (tornTail) {
      if (!input.repair)
        throw new TruncatedDataError('Trace ends with a torn line', {
          details: `${input.path} line ${tornTail.lineNumber}: ${tornTail.reason} (${tornTail.bytes} bytes at offset ${tornTail.offset})`,
          hint: 'This is an append that was never acknowledged (a crash mid-write). Reopen with { repair: true } to cut it off.',
          meta: { lineNumber: tornTail.lineNumber, offset: tornTail.offset, bytes: tornTail.bytes },
        })
      try {
        const fd = openSync(input.path, 'r+')
        try {
          ftruncateSync(fd, tornTail.offset)
          fdatasyncSync(fd)
        } finally {
          closeSync(fd)
        }
      } catch (cause) {
        throw new StorageError('Could not cut off the torn last line', { details: input.path, cause })
      }
      this.repaired = { lineNumber: tornTail.lineNumber, bytes: tornTail.bytes }
    }
    // The same chain walk as verifyTrace (signatures are left to verify): any problem refuses the resume.
    const chain = new TraceChain({
      collectSignatures: false,
      onFailure: (failure) => {
        throw new IntegrityError('Trace is damaged and cannot be appended to', {
          details: `${input.path} line ${failure.line}${failure.seq === undefined ? '' : ` (seq ${failure.seq})`}, ${failure.field}: ${failure.reason}`,
          hint: 'Run `verity trace verify` on it; start a new trace for new entries.',
          meta: { failure },
        })
      },
    })
    for (const item of lines) {
      if (!item.ok)
        throw new IntegrityError('Trace is damaged and cannot be appended to', {
          details: `${input.path} line ${item.lineNumber}: ${item.reason}`,
          hint: 'Run `verity trace verify` on it; start a new trace for new entries.',
        })
      chain.line(item.line, item.lineNumber)
    }
    if (chain.size > 0) {
      if (chain.origin === undefined || chain.chainId === undefined || chain.agent === undefined)
        throw new IntegrityError('Trace is damaged and cannot be appended to', {
          details: `${input.path}: no valid run-start entry`,
          hint: 'Run `verity trace verify` on it; start a new trace for new entries.',
        })
      this.origin = chain.origin
      this.chainId = chain.chainId
      this.#agent = chain.agent
      if (chain.checkpointInterval !== undefined) this.#checkpointInterval = chain.checkpointInterval
    }
    this.#accumulator = chain.accumulator
    this.#prevHash = chain.prevHash
    this.#seq = chain.size
    this.#lastCheckpointSize = chain.lastCheckpointSize
    this.#ended = chain.ended
    if (this.#ended)
      throw new InvalidStateError('Trace has ended', {
        details: `${input.path} ends with a run-end entry`,
        hint: 'A finished run is never reopened; start a new trace file for a new run.',
      })
    if (this.#seq > 0 && this.#agent !== this.#signer.address)
      throw new InvalidStateError('Signer is not the agent of this trace', {
        details: `trace is signed by ${this.#agent}, signer is ${this.#signer.address}`,
        hint: 'Load the agent identity that wrote this trace (after its last key rotation).',
      })
  }

  #assertWritable(): void {
    if (this.#closed || this.#ended)
      throw new InvalidStateError('Trace is closed', { details: this.path, hint: 'Open the trace again to append.' })
    if (this.#broken !== undefined)
      throw new StorageError('Trace writer failed earlier and accepts no more entries', {
        details: this.path,
        hint: 'Reopen the trace with { repair: true } after fixing the disk problem.',
        cause: this.#broken,
      })
  }

  /** Builds, signs and queues one entry synchronously; `acknowledged` resolves after its fsync. */
  #appendNow(entry: {
    kind: TraceEntryKind
    inputDigest?: string | null | undefined
    outputDigest?: string | null | undefined
    refs?: TraceRef[] | undefined
    body?: JsonValue | undefined
    private?: boolean | undefined
    seal?: Uint8Array | undefined
    inline?: boolean | undefined
    /** Runs after the entry is signed, before a due checkpoint is signed (key rotation switches keys here). */
    afterSign?: (() => void) | undefined
  }): { seq: number; hash: string; acknowledged: Promise<void> } {
    this.#assertWritable()
    const body = entry.seal
      ? sealTraceBody({
          key: entry.seal,
          origin: this.origin,
          agent: this.#agent,
          seq: this.#seq,
          kind: entry.kind,
          body: entry.body ?? null,
        })
      : (entry.body ?? null)
    const bodyJson = canonicalJson(body)
    const bodyDigest = digest(bodyJson)
    const inline = entry.inline || (!entry.private && Buffer.byteLength(bodyJson) <= this.#blobThreshold)
    if (!inline) writeTraceBlob(this.#blobDirectory, bodyJson)
    const header: TraceEntryHeader = {
      v: TRACE_FORMAT_VERSION,
      seq: this.#seq,
      prevHash: this.#prevHash,
      agent: this.#agent,
      kind: entry.kind,
      time: new Date().toISOString(),
      inputDigest: entry.inputDigest ?? null,
      outputDigest: entry.outputDigest ?? null,
      refs: entry.refs ?? [],
      bodyDigest,
    }
    const hash = entryHash(header)
    const signature = signatureHex(
      this.#signer.signDigest(
        traceEntryDigest(
          { agent: this.#agent, chainId: this.chainId },
          { seq: header.seq, prevHash: header.prevHash, entryHash: hash },
        ),
      ),
    )
    const line: TraceEntryLine = { type: 'entry', ...header, ...(inline ? { body } : {}), hash, signature }
    this.#pending.push(`${JSON.stringify(line)}\n`)
    this.#accumulator.push(merkleLeafHash(fromHex(hash)))
    this.#prevHash = hash
    const seq = this.#seq++
    entry.afterSign?.()
    if (this.#seq - this.#lastCheckpointSize >= this.#checkpointInterval) this.#queueCheckpoint()
    return { seq, hash, acknowledged: this.#waitForFlush() }
  }

  #queueCheckpoint(): TraceCheckpointLine | undefined {
    const size = this.#accumulator.size
    if (size === this.#lastCheckpointSize) return undefined
    const root = `0x${toHex(this.#accumulator.root())}`
    const signature = signatureHex(
      this.#signer.signDigest(
        checkpointDigest({ agent: this.#agent, chainId: this.chainId }, { origin: this.origin, size, root }),
      ),
    )
    const line: TraceCheckpointLine = { type: 'checkpoint', origin: this.origin, size, root, agent: this.#agent, signature }
    this.#pending.push(`${JSON.stringify(line)}\n`)
    this.#pendingCheckpoint = line
    this.#lastCheckpointSize = size
    return line
  }

  #waitForFlush(): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }))
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.#flushNow())
    }
    return promise
  }

  /**
   * Writes the queued lines with one `write`, then `fdatasync`s on the thread pool while new
   * entries keep being signed and queued; the waiters of a batch resolve when its sync completes.
   * One sync is in flight at a time; the next batch starts when it ends.
   */
  #flushNow(): void {
    this.#scheduled = false
    if (this.#syncing) return
    const waiters = this.#waiters
    this.#waiters = []
    if (this.#pending.length === 0) {
      for (const waiter of waiters) waiter.resolve()
      return
    }
    const data = Buffer.from(this.#pending.join(''), 'utf8')
    const checkpoint = this.#pendingCheckpoint
    this.#pending = []
    this.#pendingCheckpoint = undefined
    const failed = (cause: unknown) => {
      this.#broken ??= cause
      const error = new StorageError('Could not append to the trace durably', {
        details: `${this.path}: ${(cause as Error).message}`,
        hint: 'Entries not acknowledged are lost; check disk space, then reopen with { repair: true }.',
        cause,
      })
      for (const waiter of waiters) waiter.reject(error)
      for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
    }
    const fd = this.#fd
    try {
      if (this.#broken !== undefined) throw this.#broken
      if (fd === undefined) throw new Error('trace file is not open')
      let offset = 0
      while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset)
    } catch (cause) {
      failed(cause)
      return
    }
    this.#syncing = true
    fdatasync(fd, (syncError) => {
      this.#syncing = false
      try {
        if (syncError) throw syncError
        if (checkpoint) writeFileAtomic({ path: traceCheckpointSidecarPath(this.path), data: `${JSON.stringify(checkpoint)}\n` })
      } catch (cause) {
        failed(cause)
        return
      }
      for (const waiter of waiters) waiter.resolve()
      if (this.#pending.length > 0 || this.#waiters.length > 0) this.#flushNow()
    })
  }

  async append(parameters: AppendTraceEntryParameters): Promise<AppendTraceEntryReturnType> {
    const input = parseInput(appendSchema, parameters, { what: 'trace entry', hint: 'See AppendTraceEntryParameters.' })
    if (input.kind === 'run-end' || input.kind === 'receipt-proven')
      assertControlBody(input.kind, input.body as JsonValue | undefined, { sealed: input.seal !== undefined })
    const pending = this.#appendNow(input as AppendTraceEntryParameters)
    await pending.acknowledged
    return { seq: pending.seq, hash: pending.hash }
  }

  async recordReceiptProven(parameters: RecordReceiptProvenParameters): Promise<AppendTraceEntryReturnType> {
    const input = parseInput(receiptProvenSchema, parameters, { what: 'recordReceiptProven parameters' })
    assertControlBody('receipt-proven', input.details as JsonValue | undefined)
    if (input.forSeq >= this.#seq)
      throw new InvalidStateError('receipt-proven must point back to an earlier entry', {
        details: `forSeq ${input.forSeq} is not below the next seq ${this.#seq}`,
      })
    const refs: TraceRef[] = [{ type: 'receipt', digest: input.receiptDigest }]
    if (input.proofDigest) refs.push({ type: 'proof', digest: input.proofDigest })
    const pending = this.#appendNow({
      kind: 'receipt-proven',
      refs,
      outputDigest: input.receiptDigest,
      body: {
        forSeq: input.forSeq,
        receiptDigest: input.receiptDigest,
        proofDigest: input.proofDigest ?? null,
        details: (input.details ?? null) as JsonValue,
      },
      inline: true,
    })
    await pending.acknowledged
    return { seq: pending.seq, hash: pending.hash }
  }

  async rotateKey(parameters: { signer: AgentSigner }): Promise<AppendTraceEntryReturnType> {
    const { signer } = parseInput(z.object({ signer: signerSchema }), parameters, { what: 'rotateKey parameters' })
    this.#assertWritable()
    if (signer.address === this.#agent)
      throw new InvalidStateError('The new key is the current key', { hint: 'Rotate to a freshly created identity.' })
    const previousAgent = this.#agent
    const consent = signer.signDigest(
      keyRotationDigest(
        { agent: signer.address, chainId: this.chainId },
        { previousAgent, nextAgent: signer.address, seq: this.#seq, prevHash: this.#prevHash },
      ),
    )
    const pending = this.#appendNow({
      kind: 'key-rotation',
      body: { previousAgent, nextAgent: signer.address, nextAgentSignature: signatureHex(consent) },
      inline: true,
      afterSign: () => {
        this.#signer = signer
        this.#agent = signer.address
      },
    })
    await pending.acknowledged
    return { seq: pending.seq, hash: pending.hash }
  }

  async checkpoint(): Promise<TraceCheckpointLine | undefined> {
    this.#assertWritable()
    const line = this.#queueCheckpoint()
    await this.#waitForFlush()
    return line
  }

  async flush(): Promise<void> {
    if (this.#pending.length === 0 && this.#waiters.length === 0 && !this.#syncing) return
    await this.#waitForFlush()
  }

  async end(parameters: { body?: JsonValue | undefined } = {}): Promise<{ seq: number; checkpoint: TraceCheckpointLine }> {
    const body = parameters.body === undefined ? undefined : parseInput(z.json(), parameters.body, { what: 'run-end body' })
    assertControlBody('run-end', body as JsonValue | undefined)
    const pending = this.#appendNow({ kind: 'run-end', body: (body ?? null) as JsonValue })
    const checkpoint = (this.#queueCheckpoint() ?? this.#pendingCheckpoint) as TraceCheckpointLine
    await pending.acknowledged
    this.#ended = true
    await this.close()
    return { seq: pending.seq, checkpoint }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    if (this.#pending.length > 0 || this.#waiters.length > 0 || this.#syncing) await this.#waitForFlush()
    this.#closed = true
    if (this.#fd !== undefined) {
      try {
        closeSync(this.#fd)
      } catch {
        // already closed
      }
      this.#fd = undefined
    }
    this.#lock.release()
  }
}
