import type { JsonValue } from '../memory/record.js'
import type { AppendTraceEntryParameters, TraceWriter } from '../trace/open-trace.js'
import type { Decision, DecisionKind, DecisionRecorder } from './decision-recorder.js'

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
  trace: Pick<TraceWriter, 'append'>
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
