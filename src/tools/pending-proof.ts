/**
 * The contract between a verifiable tool and the agent: a tool whose output is being proven
 * attaches a {@link PendingProof} to its `ToolMessage` artifact as `{ pendingProof }`; the agent's
 * proof policy finds it with {@link findPendingProof} and waits on it (or not).
 */

/** The outcome of a proof, as the agent needs it. */
export type ProofOutcome =
  | { status: 'verified'; receiptDigest: string; proofDigest?: string | undefined }
  | { status: 'failed'; receiptDigest: string; reason: string }

/**
 * A proof being made for a tool's output. Verifiable tools attach one to their `ToolMessage`
 * artifact as `{ pendingProof }` (see {@link findPendingProof}).
 *
 * @example
 * ```ts
 * const proof: PendingProof = {
 *   specificationVersion: 'v1',
 *   receiptDigest: receipt.digest,
 *   wait: async () => ({ status: 'verified', receiptDigest: receipt.digest }),
 * }
 * ```
 */
export interface PendingProof {
  readonly specificationVersion: 'v1'
  /** `sha256:` digest of the (pending) receipt. */
  readonly receiptDigest: string
  /** Resolves when the proof is verified or has failed; rejects only when `signal` aborts. */
  wait(options?: { signal?: AbortSignal | undefined }): Promise<ProofOutcome>
}

/**
 * Finds the pending proof a verifiable tool attached to its result (`artifact.pendingProof`).
 *
 * @example
 * ```ts
 * const proof = findPendingProof(toolMessage.artifact)
 * ```
 */
export function findPendingProof(artifact: unknown): PendingProof | undefined {
  if (typeof artifact !== 'object' || artifact === null) return undefined
  const candidate = (artifact as { pendingProof?: unknown }).pendingProof
  if (
    typeof candidate === 'object' &&
    candidate !== null &&
    (candidate as PendingProof).specificationVersion === 'v1' &&
    typeof (candidate as PendingProof).receiptDigest === 'string' &&
    typeof (candidate as PendingProof).wait === 'function'
  )
    return candidate as PendingProof
  return undefined
}
