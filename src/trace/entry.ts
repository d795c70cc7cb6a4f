import { z } from 'zod'
import { toHex } from '../crypto/bytes.js'
import { canonicalJson, type JsonValue } from '../crypto/canonical-json.js'
import { sha256 } from '../crypto/digest.js'

/**
 * Trace entries and the JSONL lines that hold them. An entry's identity is its **header**:
 * `{ v, seq, prevHash, agent, kind, time, inputDigest, outputDigest, refs, bodyDigest }`, hashed as
 * SHA-256 of its RFC 8785 canonical JSON. The body is committed to by `bodyDigest` only, so it can
 * sit inline, in a content-addressed blob beside the log, or be withheld, without changing the hash.
 */

/** Format version written in every entry header (`v`). */
export const TRACE_FORMAT_VERSION = 1
/** The `format` value in the `run-start` body. */
export const TRACE_FORMAT = 'verity-trace/1'
/** `prevHash` of the first entry: 32 zero bytes. */
export const ZERO_HASH = `0x${'0'.repeat(64)}`

/** Every kind of entry this format defines. */
export const TRACE_ENTRY_KINDS = [
  'run-start',
  'model-call',
  'tool-call',
  'tool-result',
  'memory-read',
  'memory-write',
  'receipt-proven',
  'answer',
  'key-rotation',
  'note',
  'run-end',
] as const
export type TraceEntryKind = (typeof TRACE_ENTRY_KINDS)[number]

export type { JsonValue }

/** A typed link to something outside the entry: a receipt, a proof, a memory record, an entry... */
export type TraceRef = {
  /** What the digest names, e.g. `receipt`, `proof`, `memory`, `model`. `receipt` refs are checked by `verifyReceipt`. */
  type: string
  /** Content address, `algorithm:hex`, e.g. `sha256:…`. */
  digest: string
}

/** The hashed part of an entry. */
export type TraceEntryHeader = {
  v: typeof TRACE_FORMAT_VERSION
  seq: number
  prevHash: string
  agent: string
  kind: TraceEntryKind
  /** ISO 8601 UTC time with milliseconds. */
  time: string
  inputDigest: string | null
  outputDigest: string | null
  refs: TraceRef[]
  /** `sha256:` digest of the body's canonical JSON. */
  bodyDigest: string
}

/** An entry as it appears on one JSONL line. */
export type TraceEntryLine = TraceEntryHeader & {
  type: 'entry'
  /** The body, when stored inline; otherwise in `blobs/sha256-<hex>` or withheld. */
  body?: JsonValue | undefined
  /** `0x` + SHA-256 of the canonical header. */
  hash: string
  /** `0x` + 65-byte EIP-712 signature of `TraceEntry(seq, prevHash, entryHash)` by `agent`. */
  signature: string
}

/** A signed checkpoint as it appears on one JSONL line (and in the `.checkpoint.json` sidecar). */
export type TraceCheckpointLine = {
  type: 'checkpoint'
  origin: string
  /** Number of entries covered (entries 0 … size-1). */
  size: number
  /** `0x` + RFC 9162 root over the entry hashes. */
  root: string
  agent: string
  /** `0x` + 65-byte EIP-712 signature of `Checkpoint(origin, size, root)` by `agent`. */
  signature: string
}

export type TraceLine = TraceEntryLine | TraceCheckpointLine

const digestString = z.string().regex(/^[a-z0-9-]{2,16}:[0-9a-f]{32,128}$/, 'a digest like sha256:<hex>')
const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/, '0x + 64 lower-case hex digits')
const signatureString = z.string().regex(/^0x[0-9a-f]{130}$/, '0x + 130 lower-case hex digits')
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an Ethereum address')
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

/** zod schema of a trace ref. */
export const traceRefSchema = z.strictObject({ type: z.string().min(1).max(64), digest: digestString })

/** zod schema of an entry line (strict: unknown fields are refused, so nothing unhashed can ride along). */
export const traceEntryLineSchema = z.strictObject({
  type: z.literal('entry'),
  v: z.literal(TRACE_FORMAT_VERSION),
  seq,
  prevHash: bytes32,
  agent: address,
  kind: z.enum(TRACE_ENTRY_KINDS),
  time: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601 UTC with milliseconds'),
  inputDigest: digestString.nullable(),
  outputDigest: digestString.nullable(),
  refs: z.array(traceRefSchema).max(1024),
  bodyDigest: digestString,
  body: z.json().optional(),
  hash: bytes32,
  signature: signatureString,
})

/** zod schema of a checkpoint line. */
export const traceCheckpointLineSchema = z.strictObject({
  type: z.literal('checkpoint'),
  origin: z.string().min(1).max(256),
  size: seq,
  root: bytes32,
  agent: address,
  signature: signatureString,
})

/**
 * The hashed header of an entry line (drops `type`, `body`, `hash`, `signature`).
 *
 * @example
 * ```ts
 * entryHash(traceEntryHeader(line)) === line.hash
 * ```
 */
export function traceEntryHeader(line: TraceEntryHeader): TraceEntryHeader {
  return {
    v: line.v,
    seq: line.seq,
    prevHash: line.prevHash,
    agent: line.agent,
    kind: line.kind,
    time: line.time,
    inputDigest: line.inputDigest,
    outputDigest: line.outputDigest,
    refs: line.refs.map((ref) => ({ type: ref.type, digest: ref.digest })),
    bodyDigest: line.bodyDigest,
  }
}

/**
 * `0x` + SHA-256 of the RFC 8785 canonical JSON of an entry header.
 *
 * @example
 * ```ts
 * const hash = entryHash(header) // '0x…' (32 bytes)
 * ```
 */
export function entryHash(header: TraceEntryHeader): string {
  return `0x${toHex(sha256(canonicalEntryHeader(header)))}`
}

/**
 * RFC 8785 canonical JSON of an entry header, written out directly (keys in code-unit order,
 * strings escaped as JSON.stringify does, which is RFC 8785's escaping; integers as decimal).
 * Tested equal to {@link canonicalJson} of the same header; falls back to it for unusual values.
 *
 * @example
 * ```ts
 * canonicalEntryHeader(header) === canonicalJson(traceEntryHeader(header)) // true
 * ```
 */
export function canonicalEntryHeader(header: TraceEntryHeader): string {
  if (!Number.isSafeInteger(header.seq) || header.seq < 0 || header.v !== TRACE_FORMAT_VERSION)
    return canonicalJson(traceEntryHeader(header))
  const string = JSON.stringify
  const digestOrNull = (value: string | null) => (value === null ? 'null' : string(value))
  const refs = header.refs.map((ref) => `{"digest":${string(ref.digest)},"type":${string(ref.type)}}`).join(',')
  return (
    `{"agent":${string(header.agent)},"bodyDigest":${string(header.bodyDigest)},"inputDigest":${digestOrNull(header.inputDigest)},` +
    `"kind":${string(header.kind)},"outputDigest":${digestOrNull(header.outputDigest)},"prevHash":${string(header.prevHash)},` +
    `"refs":[${refs}],"seq":${header.seq},"time":${string(header.time)},"v":${header.v}}`
  )
}
