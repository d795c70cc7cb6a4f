import type { JsonValue } from '../crypto/canonical-json.js'
import { canonicalDigest } from '../crypto/canonical-json.js'

/**
 * The agent runtime's view of the trace: one small, versioned interface that the Verity
 * middleware calls for every decision. The signed, hash-chained trace (`src/trace/`) plugs in
 * through an adapter; {@link createInMemoryDecisionRecorder} is an unsigned, hash-chained
 * recorder for tests, benchmarks and quick experiments.
 */

/** What happened. */
export type DecisionKind =
  | 'run-start'
  | 'model-turn'
  | 'tool-call'
  | 'tool-result'
  | 'tool-error'
  | 'memory-read'
  | 'memory-write'
  | 'memory-delete'
  | 'policy'
  | 'receipt-proven'
  | 'receipt-failed'
  | 'final-answer'
  | 'run-error'

/** A typed link by digest: `{ type: 'receipt' | 'proof' | 'memory', digest: 'sha256:…' }`. */
export type DecisionRef = { type: string; digest: string }

/** One decision to record. `refs` link the receipts, proofs or memories it rests on. */
export type Decision = {
  kind: DecisionKind
  body: Record<string, JsonValue>
  inputDigest?: string | undefined
  outputDigest?: string | undefined
  refs?: DecisionRef[] | undefined
}

/** Where a recorded decision landed: its sequence number and entry hash. */
export type RecordedDecision = { seq: number; hash: string }

/**
 * Receives every decision of a Verity agent. Implementations must keep the order of `record`
 * calls (the middleware awaits each call before the next decision of the same run).
 *
 * @example
 * ```ts
 * const recorder: DecisionRecorder = {
 *   specificationVersion: 'v1',
 *   async record(decision) { return trace.append(decision) },
 * }
 * ```
 */
export interface DecisionRecorder {
  readonly specificationVersion: 'v1'
  record(decision: Decision): Promise<RecordedDecision>
}

/** An entry of the in-memory recorder. */
export type InMemoryDecisionEntry = Decision & { seq: number; prevHash: string; time: number; hash: string }

export type CreateInMemoryDecisionRecorderParameters = {
  /** Clock, for deterministic tests (default `Date.now`). */
  now?: (() => number) | undefined
}
export type CreateInMemoryDecisionRecorderReturnType = DecisionRecorder & {
  /** Entries in order. */
  readonly entries: readonly InMemoryDecisionEntry[]
  /** Recomputes every hash and link; returns the first broken `seq`, or `undefined` when intact. */
  firstBrokenEntry(): number | undefined
}

const GENESIS = `sha256:${'0'.repeat(64)}`

/**
 * A hash-chained (unsigned) recorder that keeps entries in memory: for tests, benchmarks and
 * scripts that do not need a signed trace.
 *
 * @example
 * ```ts
 * const recorder = createInMemoryDecisionRecorder()
 * const agent = createVerityAgent({ model, recorder })
 * await agent.invoke({ messages: [{ role: 'user', content: 'hi' }] })
 * recorder.entries.map((entry) => entry.kind) // ['run-start', 'model-turn', 'final-answer']
 * ```
 */
export function createInMemoryDecisionRecorder(
  parameters: CreateInMemoryDecisionRecorderParameters = {},
): CreateInMemoryDecisionRecorderReturnType {
  const now = parameters.now ?? Date.now
  const entries: InMemoryDecisionEntry[] = []
  const hashOf = (entry: Omit<InMemoryDecisionEntry, 'hash'>) => canonicalDigest(entry)
  return {
    specificationVersion: 'v1',
    entries,
    async record(decision) {
      const previous = entries.at(-1)
      const unsigned: Omit<InMemoryDecisionEntry, 'hash'> = {
        seq: entries.length,
        prevHash: previous ? previous.hash : GENESIS,
        time: now(),
        kind: decision.kind,
        body: decision.body,
        ...(decision.inputDigest === undefined ? {} : { inputDigest: decision.inputDigest }),
        ...(decision.outputDigest === undefined ? {} : { outputDigest: decision.outputDigest }),
        refs: decision.refs ?? [],
      }
      const entry: InMemoryDecisionEntry = { ...unsigned, hash: hashOf(unsigned) }
      entries.push(entry)
      return { seq: entry.seq, hash: entry.hash }
    },
    firstBrokenEntry() {
      let previous = GENESIS
      for (const entry of entries) {
        const { hash, ...rest } = entry
        if (entry.prevHash !== previous || hashOf(rest) !== hash) return entry.seq
        previous = hash
      }
      return undefined
    },
  }
}
