import type { JsonValue } from '../memory/record.js'
import type { Decision, DecisionKind, DecisionRecorder } from '../trace/decision-recorder.js'
import type { AppendTraceEntryParameters, TraceWriter } from '../trace/open-trace.js'

/**
 * Adapter from the agent's {@link DecisionRecorder} to the signed trace (`openTrace` in
 * `src/trace/`): each decision becomes an EIP-712-signed, hash-chained trace entry. Agent decision
 * kinds map onto the trace format's kinds; the original kind is kept in `body.decision`.
 */

const KIND_MAP: Record<DecisionKind, AppendTraceEntryParameters['kind']> = {
  'run-start': 'note',
  'model-turn': 'model-call',
  'tool-call': 'tool-call',
  'tool-result': 'tool-result',
  'tool-error': 'tool-result',
  'memory-read': 'memory-read',
  'memory-write': 'memory-write',
  'memory-delete': 'memory-write',
  policy: 'note',
  'receipt-proven': 'receipt-proven',
  'receipt-failed': 'note',
  'final-answer': 'answer',
  'run-error': 'note',
}

export type TraceRecorderParameters = {
  /** The open trace (`openTrace`); `recordReceiptProven` is used for proof outcomes when present. */
  trace: Pick<TraceWriter, 'append'> & Partial<Pick<TraceWriter, 'recordReceiptProven'>>
  /** Store bodies only as blobs, so the trace can be shared without them (default false). */
  privateBodies?: boolean | undefined
}
export type TraceRecorderReturnType = DecisionRecorder

/**
 * Records an agent's decisions in a signed trace.
 *
 * @example
 * ```ts
 * const trace = await openTrace({ path: 'run.trace.jsonl', signer: identity.signer })
 * const agent = createVerityAgent({ model, tools, recorder: traceRecorder({ trace }) })
 * await agent.invoke('...')
 * await trace.end()
 * ```
 */
export function traceRecorder(parameters: TraceRecorderParameters): TraceRecorderReturnType {
  const { trace } = parameters
  return {
    specificationVersion: 'v1',
    async record(decision: Decision) {
      const body: Record<string, JsonValue> = { decision: decision.kind, ...decision.body }
      // A proven receipt is the trace's own `receipt-proven` entry, pointing back (forSeq) to the
      // entry that linked the pending receipt; without that link it can only be a note.
      if (decision.kind === 'receipt-proven') {
        const forSeq = decision.body.forSeq
        const receipt = decision.refs?.find((ref) => ref.type === 'receipt')
        const proof = decision.refs?.find((ref) => ref.type === 'proof')
        if (typeof forSeq === 'number' && receipt && trace.recordReceiptProven)
          return trace.recordReceiptProven({
            forSeq,
            receiptDigest: receipt.digest,
            ...(proof ? { proofDigest: proof.digest } : {}),
            details: body,
          })
        return trace.append({
          kind: 'note',
          inputDigest: decision.inputDigest ?? null,
          outputDigest: decision.outputDigest ?? null,
          refs: decision.refs ?? [],
          body,
          ...(parameters.privateBodies ? { private: true } : {}),
        })
      }
      return trace.append({
        kind: KIND_MAP[decision.kind],
        inputDigest: decision.inputDigest ?? null,
        outputDigest: decision.outputDigest ?? null,
        refs: decision.refs ?? [],
        body,
        ...(parameters.privateBodies ? { private: true } : {}),
      })
    },
  }
}
