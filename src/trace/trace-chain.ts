import { fromHex, toHex } from '../crypto/bytes.js'
import { canonicalDigest } from '../crypto/canonical-json.js'
import { digest } from '../crypto/digest.js'
import { checksumAddress } from '../identity/secp256k1-signer.js'
import { readTraceBlob } from './blob-store.js'
import { entryHash, type JsonValue, TRACE_FORMAT, type TraceCheckpointLine, type TraceEntryLine, ZERO_HASH } from './entry.js'
import { MerkleAccumulator, merkleLeafHash } from './merkle.js'
import { checkpointDigest, keyRotationDigest, traceEntryDigest } from './signing.js'

/**
 * The one walk of a trace's chain, shared by the writer (resuming an existing trace) and the
 * verifier: seq order, `prevHash` links, entry hashes, EIP-55 agents, bodies against
 * `bodyDigest`, the `run-start` rules, key rotations, `receipt-proven` back-links, checkpoint
 * lines (origin, size, root, agent, growth) and the checkpoint interval. Signatures are not
 * recovered here: each one to check is queued in {@link TraceChain.signatureChecks}, so the
 * verifier can batch them on worker threads and the writer can skip them.
 */

/** One problem found in a trace, naming where and why. */
export type TraceFailure = {
  /** What failed: an entry, a checkpoint line, the file itself, the sidecar or a trusted checkpoint. */
  what: 'entry' | 'checkpoint' | 'file' | 'sidecar' | 'trusted-checkpoint' | 'receipt'
  /** 1-based line in the file (0 when not in the file). */
  line: number
  /** Seq of the failing entry (for checkpoints: the size they claim). */
  seq: number | undefined
  /** The field that does not check out (`prevHash`, `signature`, `body`, `root`, `run-end`...). */
  field: string
  reason: string
}

/** A signature the walk met: `signature` over `digest` must recover to `expected`. */
export type TraceSignatureCheck = {
  digest: Uint8Array
  signature: Uint8Array
  expected: string
  failure: Omit<TraceFailure, 'reason'>
}

/** What the walk learnt about one entry's body. */
export type TraceChainEntryReturnType = {
  /** The body (inline or from its blob) when known and intact. */
  body: JsonValue | undefined
  /** False when the body is withheld (neither inline nor in `blobs/`) or unreadable. */
  bodyKnown: boolean
  /** True when the body is neither inline nor in `blobs/`. */
  withheld: boolean
}

export type TraceChainParameters = {
  /** Called for every problem, in file order. */
  onFailure: (failure: TraceFailure) => void
  /** Folder of the trace's blobs (bodies not inline are looked up there; without it they count as withheld). */
  blobDirectory?: string | undefined
  /** Keep every leaf hash (needed to check checkpoints from outside the log against a prefix). */
  keepLeaves?: boolean | undefined
  /** Queue the signatures met in {@link TraceChain.signatureChecks} (default true; the writer's resume skips them). */
  collectSignatures?: boolean | undefined
}

/**
 * Walks a trace line by line, keeping the chain's state.
 *
 * @example
 * ```ts
 * const chain = new TraceChain({ onFailure: (failure) => console.error(failure) })
 * for (const item of readTraceFile(path).lines) if (item.ok) chain.line(item.line, item.lineNumber)
 * chain.size // entries walked
 * ```
 */
export class TraceChain {
  /** `origin` of the run-start body. */
  origin: string | undefined
  /** `chainId` of the run-start body (the EIP-712 domain's chain). */
  chainId: number | undefined
  /** `checkpointInterval` of the run-start body, when present. */
  checkpointInterval: number | undefined
  /** The current agent (after key rotations). */
  agent: string | undefined
  /** Every agent that signed, in order. */
  readonly agents: string[] = []
  /** The Merkle accumulator over the entries walked. */
  readonly accumulator = new MerkleAccumulator()
  /** Leaf hashes, when `keepLeaves`. */
  readonly leaves: Uint8Array[] = []
  /** `hash` of the last entry (32 zero bytes before the first). */
  prevHash = ZERO_HASH
  /** Size covered by the last checkpoint line. */
  lastCheckpointSize = 0
  /** Checkpoint lines walked. */
  checkpoints = 0
  /** Kind of the last entry walked. */
  lastKind: string | undefined
  /** A `run-end` entry was walked. */
  ended = false
  /** For each entry whose receipt was proven later: the seq of the `receipt-proven` entry. */
  readonly provenBy = new Map<number, number>()
  /** Signatures to check, in walk order. */
  readonly signatureChecks: TraceSignatureCheck[] = []
  #expectedSeq = 0
  #onFailure: (failure: TraceFailure) => void
  #blobDirectory: string | undefined
  #keepLeaves: boolean
  #collectSignatures: boolean

  constructor(parameters: TraceChainParameters) {
    this.#onFailure = parameters.onFailure
    this.#blobDirectory = parameters.blobDirectory
    this.#keepLeaves = parameters.keepLeaves ?? false
    this.#collectSignatures = parameters.collectSignatures ?? true
  }

  /** Entries walked. */
  get size(): number {
    return this.accumulator.size
  }

  /** The Merkle root over the entries walked, `0x` hex. */
  root(): string {
    return `0x${toHex(this.accumulator.root())}`
  }

  /** Walks one line (an entry or a checkpoint). */
  line(line: TraceEntryLine | TraceCheckpointLine, lineNumber: number): TraceChainEntryReturnType | undefined {
    if (line.type === 'checkpoint') {
      this.checkpoint(line, lineNumber)
      return undefined
    }
    return this.entry(line, lineNumber)
  }

  /** Walks a checkpoint line. */
  checkpoint(line: TraceCheckpointLine, lineNumber: number): void {
    const fail = this.#onFailure
    this.checkpoints++
    const at = { what: 'checkpoint' as const, line: lineNumber, seq: line.size }
    if (this.origin !== undefined && line.origin !== this.origin)
      fail({ ...at, field: 'origin', reason: `checkpoint origin ${line.origin} is not the trace origin ${this.origin}` })
    if (line.size !== this.size)
      fail({
        ...at,
        field: 'size',
        reason: `checkpoint covers ${line.size} entries but ${this.size} precede it (entries were removed or added)`,
      })
    else if (line.root !== this.root())
      fail({ ...at, field: 'root', reason: 'checkpoint root does not match the entries before it' })
    if (line.size <= this.lastCheckpointSize)
      fail({
        ...at,
        field: 'size',
        reason: `checkpoint size ${line.size} does not grow past the previous checkpoint (${this.lastCheckpointSize}): a duplicated or reordered checkpoint`,
      })
    this.lastCheckpointSize = Math.max(this.lastCheckpointSize, line.size)
    if (this.agent !== undefined && line.agent !== this.agent)
      fail({ ...at, field: 'agent', reason: `checkpoint signed as ${line.agent}, current agent is ${this.agent}` })
    if (this.chainId !== undefined && this.#collectSignatures)
      this.signatureChecks.push({
        digest: checkpointDigest(
          { agent: line.agent, chainId: this.chainId },
          { origin: line.origin, size: line.size, root: line.root },
        ),
        signature: fromHex(line.signature),
        expected: line.agent,
        failure: { ...at, field: 'signature' },
      })
  }

  /** Walks an entry line. */
  entry(line: TraceEntryLine, lineNumber: number): TraceChainEntryReturnType {
    const fail = this.#onFailure
    const at = { what: 'entry' as const, line: lineNumber, seq: line.seq }
    if (this.checkpointInterval !== undefined && this.size - this.lastCheckpointSize >= this.checkpointInterval)
      fail({
        ...at,
        field: 'checkpoint',
        reason: `a checkpoint was due after ${this.lastCheckpointSize + this.checkpointInterval} entries and is missing (deleted or moved)`,
      })
    if (line.seq !== this.#expectedSeq)
      fail({
        ...at,
        field: 'seq',
        reason: `expected seq ${this.#expectedSeq}, found ${line.seq}: an entry was deleted, inserted, duplicated or reordered`,
      })
    if (line.prevHash !== this.prevHash)
      fail({ ...at, field: 'prevHash', reason: 'prevHash does not match the hash of the previous entry' })
    if (entryHash(line) !== line.hash)
      fail({ ...at, field: 'hash', reason: 'entry content does not match its hash: a field of this entry was changed' })
    if (this.ended) fail({ ...at, field: 'kind', reason: 'entry after run-end' })
    if (safeChecksum(line.agent) !== line.agent)
      fail({ ...at, field: 'agent', reason: 'agent address is not in EIP-55 checksum form' })

    const { body, bodyKnown, withheld } = this.#body(line, lineNumber)

    if (line.seq === 0 || line.kind === 'run-start') this.#runStart(line, lineNumber, body, bodyKnown)
    if (this.agent === undefined) {
      this.agent = line.agent
      this.agents.push(line.agent)
    }
    if (line.agent !== this.agent)
      fail({ ...at, field: 'agent', reason: `signed as ${line.agent}, but the current agent is ${this.agent}` })
    const domainChain = this.chainId ?? 0
    if (this.#collectSignatures)
      this.signatureChecks.push({
        digest: traceEntryDigest(
          { agent: line.agent, chainId: domainChain },
          { seq: line.seq, prevHash: line.prevHash, entryHash: line.hash },
        ),
        signature: fromHex(line.signature),
        expected: line.agent,
        failure: { ...at, field: 'signature' },
      })

    if (line.kind === 'key-rotation') this.#keyRotation(line, lineNumber, body, bodyKnown)
    if (line.kind === 'receipt-proven') {
      const forSeq = (body as { forSeq?: unknown } | undefined)?.forSeq
      if (bodyKnown && (typeof forSeq !== 'number' || !Number.isSafeInteger(forSeq) || forSeq < 0 || forSeq >= line.seq))
        fail({ ...at, field: 'body.forSeq', reason: 'receipt-proven must point back to an earlier entry by seq' })
      else if (typeof forSeq === 'number') this.provenBy.set(forSeq, line.seq)
    }
    if (line.kind === 'run-end') this.ended = true

    const leaf = merkleLeafHash(fromHex(line.hash))
    if (this.#keepLeaves) this.leaves.push(leaf)
    this.accumulator.push(leaf)
    this.prevHash = line.hash
    this.#expectedSeq = line.seq + 1
    this.lastKind = line.kind
    return { body, bodyKnown, withheld }
  }

  #body(line: TraceEntryLine, lineNumber: number): TraceChainEntryReturnType {
    const at = { what: 'entry' as const, line: lineNumber, seq: line.seq }
    if (line.body !== undefined) {
      if (canonicalDigest(line.body as JsonValue) !== line.bodyDigest)
        this.#onFailure({ ...at, field: 'body', reason: 'inline body does not match bodyDigest: the body was changed' })
      return { body: line.body as JsonValue, bodyKnown: true, withheld: false }
    }
    if (this.#blobDirectory === undefined || !/^sha256:[0-9a-f]{64}$/.test(line.bodyDigest))
      return { body: undefined, bodyKnown: false, withheld: true }
    const blob = readTraceBlob(this.#blobDirectory, line.bodyDigest)
    if (blob === undefined) return { body: undefined, bodyKnown: false, withheld: true }
    if (digest(blob) !== line.bodyDigest) {
      this.#onFailure({ ...at, field: 'body', reason: `blob ${line.bodyDigest} does not match its digest: the blob was changed` })
      return { body: undefined, bodyKnown: false, withheld: false }
    }
    try {
      return { body: JSON.parse(Buffer.from(blob).toString('utf8')) as JsonValue, bodyKnown: true, withheld: false }
    } catch {
      this.#onFailure({ ...at, field: 'body', reason: 'blob is not JSON' })
      return { body: undefined, bodyKnown: false, withheld: false }
    }
  }

  #runStart(line: TraceEntryLine, lineNumber: number, body: JsonValue | undefined, bodyKnown: boolean): void {
    const at = { what: 'entry' as const, line: lineNumber, seq: line.seq }
    if (line.kind !== 'run-start' || line.seq !== 0)
      this.#onFailure({ ...at, field: 'kind', reason: 'a trace starts with exactly one run-start entry, at seq 0' })
    if (line.kind !== 'run-start') return
    const start = body as { format?: unknown; origin?: unknown; chainId?: unknown; checkpointInterval?: unknown } | undefined
    if (
      !bodyKnown ||
      start?.format !== TRACE_FORMAT ||
      typeof start.origin !== 'string' ||
      typeof start.chainId !== 'number' ||
      !Number.isSafeInteger(start.chainId)
    ) {
      this.#onFailure({ ...at, field: 'body', reason: `run-start body must hold { format: '${TRACE_FORMAT}', origin, chainId }` })
      return
    }
    if (this.origin !== undefined) return
    this.origin = start.origin
    this.chainId = start.chainId
    const interval = start.checkpointInterval
    if (interval !== undefined) {
      if (typeof interval === 'number' && Number.isSafeInteger(interval) && interval >= 1) this.checkpointInterval = interval
      else this.#onFailure({ ...at, field: 'body.checkpointInterval', reason: 'checkpointInterval must be a positive integer' })
    }
    this.agent = line.agent
    this.agents.push(line.agent)
  }

  #keyRotation(line: TraceEntryLine, lineNumber: number, body: JsonValue | undefined, bodyKnown: boolean): void {
    const at = { what: 'entry' as const, line: lineNumber, seq: line.seq }
    const rotation = body as { previousAgent?: unknown; nextAgent?: unknown; nextAgentSignature?: unknown } | undefined
    if (
      !bodyKnown ||
      typeof rotation?.previousAgent !== 'string' ||
      typeof rotation.nextAgent !== 'string' ||
      !/^0x[0-9a-fA-F]{40}$/.test(rotation.nextAgent) ||
      typeof rotation.nextAgentSignature !== 'string' ||
      !/^0x[0-9a-f]{130}$/.test(rotation.nextAgentSignature)
    ) {
      this.#onFailure({
        ...at,
        field: 'body',
        reason: 'key-rotation body must hold previousAgent, nextAgent and nextAgentSignature',
      })
      return
    }
    if (rotation.previousAgent !== line.agent)
      this.#onFailure({ ...at, field: 'body.previousAgent', reason: 'previousAgent is not the key that signed the rotation' })
    const nextAgent = safeChecksum(rotation.nextAgent) ?? rotation.nextAgent
    if (this.#collectSignatures)
      this.signatureChecks.push({
        digest: keyRotationDigest(
          { agent: nextAgent, chainId: this.chainId ?? 0 },
          { previousAgent: line.agent, nextAgent, seq: line.seq, prevHash: line.prevHash },
        ),
        signature: fromHex(rotation.nextAgentSignature),
        expected: nextAgent,
        failure: { ...at, field: 'body.nextAgentSignature' },
      })
    this.agent = nextAgent
    this.agents.push(nextAgent)
  }
}

function safeChecksum(address: string): string | undefined {
  try {
    return checksumAddress(address)
  } catch {
    return undefined
  }
}
