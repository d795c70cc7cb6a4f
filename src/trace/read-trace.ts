import { readFileSync } from 'node:fs'
import { NotFoundError } from '../errors.js'
import {
  type TraceCheckpointLine,
  type TraceEntryLine,
  type TraceLine,
  traceCheckpointLineSchema,
  traceEntryLineSchema,
} from './entry.js'

/** One line of a trace file, parsed or not. */
export type TraceFileLine =
  | { lineNumber: number; offset: number; ok: true; line: TraceLine }
  | { lineNumber: number; offset: number; ok: false; reason: string; text: string }

/** The unfinished last line a crash can leave (never acknowledged to a writer). */
export type TornTail = {
  /** 1-based line number. */
  lineNumber: number
  /** Byte offset where it starts: the file's valid length. */
  offset: number
  /** Its length in bytes. */
  bytes: number
  reason: string
}

export type ReadTraceFileReturnType = {
  lines: TraceFileLine[]
  /** Set when the last line is incomplete (no newline) or unparseable: a torn append. */
  tornTail: TornTail | undefined
  /** Bytes in the file. */
  size: number
}

/**
 * Reads a JSONL trace file. Every complete line is parsed and schema-checked; the last line is
 * reported as a torn tail when it has no newline or does not parse (a crash mid-append), instead
 * of being silently dropped or misread. Unparseable lines elsewhere are returned as failures.
 *
 * @example
 * ```ts
 * const { lines, tornTail } = readTraceFile('run.trace.jsonl')
 * ```
 */
export function readTraceFile(path: string): ReadTraceFileReturnType {
  let data: Buffer
  try {
    data = readFileSync(path)
  } catch (cause) {
    throw new NotFoundError('Trace file not found', { details: path, hint: 'Check the path of the .jsonl trace.', cause })
  }
  const lines: TraceFileLine[] = []
  let tornTail: TornTail | undefined
  let offset = 0
  let lineNumber = 0
  while (offset < data.length) {
    lineNumber++
    const newline = data.indexOf(0x0a, offset)
    const end = newline < 0 ? data.length : newline
    const raw = data.subarray(offset, end)
    const parsed = parseTraceLine(raw)
    const isLast = newline < 0 || newline === data.length - 1
    if (newline < 0) {
      tornTail = { lineNumber, offset, bytes: raw.length, reason: 'last line has no newline: an append was cut short' }
      break
    }
    if (!parsed.ok && isLast) {
      tornTail = { lineNumber, offset, bytes: raw.length + 1, reason: `last line is unreadable: ${parsed.reason}` }
      break
    }
    lines.push(parsed.ok ? { lineNumber, offset, ok: true, line: parsed.line } : { lineNumber, offset, ...parsed })
    offset = end + 1
  }
  return { lines, tornTail, size: data.length }
}

/**
 * Parses one JSONL line into an entry or a checkpoint.
 *
 * @example
 * ```ts
 * const parsed = parseTraceLine(Buffer.from(text))
 * ```
 */
export function parseTraceLine(raw: Uint8Array): { ok: true; line: TraceLine } | { ok: false; reason: string; text: string } {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})`, text: text.slice(0, 200) }
  }
  const type = (value as { type?: unknown } | null)?.type
  const schema = type === 'checkpoint' ? traceCheckpointLineSchema : traceEntryLineSchema
  const result = schema.safeParse(value)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')
    return {
      ok: false,
      reason: `not a valid trace ${type === 'checkpoint' ? 'checkpoint' : 'entry'}: ${problems}`,
      text: text.slice(0, 200),
    }
  }
  return { ok: true, line: result.data as TraceEntryLine | TraceCheckpointLine }
}
