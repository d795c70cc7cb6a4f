import { InvalidInputError } from '../errors.js'
import type { JsonValue } from '../memory/record.js'
import type { Decision, DecisionKind, DecisionRecorder } from '../trace/decision-recorder.js'
import type { AppendTraceEntryParameters, TraceWriter } from '../trace/open-trace.js'
import { type TraceBodyKeyParameters, traceBodyKey } from './trace-body-key.js'

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
  trace: Pick<TraceWriter, 'append'> & Partial<Pick<TraceWriter, 'recordReceiptProven' | 'origin'>>
  /** Store bodies only as blobs, so the trace can be shared without them (default false). */
  privateBodies?: boolean | undefined
  /**
   * The owner's open vault: the personal fields of every body (texts, recalled memories, tool
   * arguments and results) are sealed under the trace's body key, kept in this vault
   * ({@link traceBodyKey}). `createVerityAgent` given a vault sets it when you did not.
   */
  vault?: TraceBodyKeyParameters['vault'] | undefined
  /** `false` writes bodies in plaintext even with a vault (explicit opt-out; default: seal when there is a vault). */
  seal?: boolean | undefined
}
export type TraceRecorderReturnType = DecisionRecorder & {
  /** Seals bodies from now on under the trace's body key kept in `vault` (no-op after `seal: false` or when already sealing). */
  sealWith(vault: TraceBodyKeyParameters['vault']): void
  /** Whether bodies are being sealed. */
  readonly sealing: boolean
}

/**
 * Records an agent's decisions in a signed trace.
 *
 * @example
 * ```ts
 * const trace = await openTrace({ path: 'run.trace.jsonl', signer: identity.signer })
 * const agent = createVerityAgent({ model, tools, vault, recorder: traceRecorder({ trace }) }) // bodies sealed under a key kept in the vault
 * await agent.invoke('...')
 * await trace.end()
 * ```
 */
export function traceRecorder(parameters: TraceRecorderParameters): TraceRecorderReturnType {
  const { trace } = parameters
  let vault = parameters.seal === false ? undefined : parameters.vault
  let key: Promise<Uint8Array> | undefined
  const sealKey = async (): Promise<{ seal?: Uint8Array }> => {
    if (!vault) return {}
    if (!trace.origin)
      throw new InvalidInputError('Sealed trace bodies need the trace origin', {
        details: 'the trace given to traceRecorder has no origin',
        hint: 'Pass the writer returned by openTrace, or seal: false.',
      })
    key ??= traceBodyKey({ vault, origin: trace.origin, create: true })
    return { seal: await key }
  }
  return {
    specificationVersion: 'v1',
    sealWith(next) {
      if (parameters.seal === false || vault) return
      vault = next
    },
    get sealing() {
      return vault !== undefined
    },
    async record(decision: Decision) {
      const sealing = await sealKey()
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
          ...sealing,
        })
      }
      return trace.append({
        kind: KIND_MAP[decision.kind],
        inputDigest: decision.inputDigest ?? null,
        outputDigest: decision.outputDigest ?? null,
        refs: decision.refs ?? [],
        body,
        ...(parameters.privateBodies ? { private: true } : {}),
        ...sealing,
      })
    },
  }
}
