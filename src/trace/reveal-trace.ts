import { z } from 'zod'
import { InvalidInputError } from '../errors.js'
import { parseInput } from '../validation.js'
import { readTraceBlob, traceBlobDirectory } from './blob-store.js'
import type { JsonValue, TraceEntryKind } from './entry.js'
import { readTraceFile } from './read-trace.js'
import { isSealedTraceBody, openSealedTraceBody } from './sealed-body.js'

/**
 * Reveals the sealed bodies of a trace for whoever holds its body key (the owner, through the
 * vault, or an auditor the owner gave the key).
 */

export type RevealTraceParameters = {
  path: string
  /** The trace body key (32 bytes). */
  key: Uint8Array
  /** Only these entries (default: every entry). */
  seqs?: number[] | undefined
}
export type RevealedTraceEntry = {
  seq: number
  kind: TraceEntryKind
  /** Whether the stored body was sealed. */
  sealed: boolean
  /** The body with its private fields opened; `undefined` when withheld. */
  body: JsonValue | undefined
}
export type RevealTraceReturnType = { origin: string; entries: RevealedTraceEntry[] }

const revealSchema = z.object({
  path: z.string().min(1),
  key: z.instanceof(Uint8Array).refine((key) => key.length === 32, 'a 32-byte key'),
  seqs: z.array(z.number().int().nonnegative()).optional(),
})

/**
 * The origin of a trace (from its `run-start` entry).
 *
 * @example
 * ```ts
 * traceOrigin('run.trace.jsonl') // 'verity-trace/0x…/…'
 * ```
 */
export function traceOrigin(path: string): string {
  const first = readTraceFile(path).lines[0]
  const origin =
    first?.ok && first.line.type === 'entry' && first.line.kind === 'run-start'
      ? (first.line.body as { origin?: unknown } | undefined)?.origin
      : undefined
  if (typeof origin !== 'string')
    throw new InvalidInputError('Trace has no readable run-start entry', {
      details: path,
      hint: 'Run `verity trace verify` on it.',
    })
  return origin
}

/**
 * Opens the sealed bodies of a trace (inline or in blobs). A sealed part that was altered or moved
 * to another entry throws `IntegrityError`.
 *
 * @example
 * ```ts
 * const { entries } = revealTrace({ path: 'run.trace.jsonl', key, seqs: [3, 4] })
 * ```
 */
export function revealTrace(parameters: RevealTraceParameters): RevealTraceReturnType {
  const input = parseInput(revealSchema, parameters, { what: 'revealTrace parameters' })
  const origin = traceOrigin(input.path)
  const wanted = input.seqs ? new Set(input.seqs) : undefined
  const blobs = traceBlobDirectory(input.path)
  const entries: RevealedTraceEntry[] = []
  for (const item of readTraceFile(input.path).lines) {
    if (!item.ok || item.line.type !== 'entry') continue
    const entry = item.line
    if (wanted && !wanted.has(entry.seq)) continue
    let body = entry.body as JsonValue | undefined
    if (body === undefined && /^sha256:[0-9a-f]{64}$/.test(entry.bodyDigest)) {
      const blob = readTraceBlob(blobs, entry.bodyDigest)
      if (blob) body = JSON.parse(Buffer.from(blob).toString('utf8')) as JsonValue
    }
    const sealed = isSealedTraceBody(body)
    entries.push({
      seq: entry.seq,
      kind: entry.kind,
      sealed,
      body:
        body === undefined
          ? undefined
          : openSealedTraceBody({ key: input.key, origin, agent: entry.agent, seq: entry.seq, kind: entry.kind, body }),
    })
  }
  if (wanted)
    for (const seq of wanted)
      if (!entries.some((entry) => entry.seq === seq))
        throw new InvalidInputError('No such entry in the trace', { details: `seq ${seq}`, hint: 'See `verity trace show`.' })
  return { origin, entries }
}
