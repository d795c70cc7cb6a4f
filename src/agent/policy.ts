import { z } from 'zod'
import { AbortedError, PolicyError } from '../errors.js'
import type { PendingProof, ProofOutcome } from '../tools/pending-proof.js'
import type { DecisionRecorder } from '../trace/decision-recorder.js'
import { parseInput } from '../validation.js'

/**
 * What the agent may do with a verifiable tool's output while its proof is still being made.
 *
 * - `require-verified`: the middleware holds the tool result until the receipt is verified (or
 *   fails, or `timeoutMs` passes: then the run stops with {@link PolicyError}); the model only
 *   ever sees verified outputs.
 * - `allow-pending`: the model sees the output at once; the trace records that it acted on a
 *   pending proof, and a `receipt-proven` (or `receipt-failed`) entry follows when the proof lands.
 */

/** A proof policy (see the module documentation). */
export type ProofPolicy =
  | { specificationVersion: 'v1'; proofs: 'require-verified'; timeoutMs: number }
  | { specificationVersion: 'v1'; proofs: 'allow-pending' }

export type CreateProofPolicyParameters = {
  proofs: 'require-verified' | 'allow-pending'
  /** With `require-verified`: how long to wait for a proof (default 120000 ms). */
  timeoutMs?: number | undefined
}
export type CreateProofPolicyReturnType = ProofPolicy

const createProofPolicySchema = z
  .object({
    proofs: z.enum(['require-verified', 'allow-pending']),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .max(24 * 3600 * 1000)
      .optional(),
  })
  .strict()

/**
 * Builds a proof policy.
 *
 * @example
 * ```ts
 * const policy = createProofPolicy({ proofs: 'require-verified', timeoutMs: 60_000 })
 * const agent = createVerityAgent({ model, tools, recorder, policy })
 * ```
 */
export function createProofPolicy(parameters: CreateProofPolicyParameters): CreateProofPolicyReturnType {
  const parsed = parseInput(createProofPolicySchema, parameters, {
    what: 'createProofPolicy parameters',
    hint: "Use { proofs: 'require-verified', timeoutMs } or { proofs: 'allow-pending' }.",
    docsPath: 'agent.md',
  })
  if (parsed.proofs === 'allow-pending') return { specificationVersion: 'v1', proofs: 'allow-pending' }
  return { specificationVersion: 'v1', proofs: 'require-verified', timeoutMs: parsed.timeoutMs ?? 120_000 }
}

/** The default policy: act only on verified outputs, waiting up to two minutes. */
export const DEFAULT_PROOF_POLICY: ProofPolicy = { specificationVersion: 'v1', proofs: 'require-verified', timeoutMs: 120_000 }

export type ApplyProofPolicyParameters = {
  policy: ProofPolicy
  proof: PendingProof
  recorder: DecisionRecorder
  toolName: string
  toolCallId: string
  /** Seq of the `tool-result` entry that linked the receipt (the `receipt-proven` entry points back to it). */
  forSeq?: number | undefined
  signal?: AbortSignal | undefined
  /** Collects background work (allow-pending) so the caller can await it later. */
  background: Set<Promise<unknown>>
}
export type ApplyProofPolicyReturnType = Promise<{ acted: 'verified' | 'pending' }>

/**
 * Applies a proof policy to one tool result, recording the outcome in the trace.
 * Throws {@link PolicyError} when a required proof fails or does not arrive in time.
 *
 * @example
 * ```ts
 * await applyProofPolicy({ policy, proof, recorder, toolName: 'classify', toolCallId, background })
 * ```
 */
export async function applyProofPolicy(parameters: ApplyProofPolicyParameters): ApplyProofPolicyReturnType {
  const { policy, proof, recorder, toolName, toolCallId } = parameters
  const base: Record<string, string | number> = {
    tool: toolName,
    toolCallId,
    receipt: proof.receiptDigest,
    ...(parameters.forSeq === undefined ? {} : { forSeq: parameters.forSeq }),
  }
  if (policy.proofs === 'allow-pending') {
    await recorder.record({
      kind: 'policy',
      body: { ...base, policy: 'allow-pending', outcome: 'acted-on-pending-proof' },
      refs: [receiptRef(proof.receiptDigest)],
    })
    const settle = proof
      .wait()
      .then((outcome) => recordOutcome(recorder, base, outcome))
      .catch((error: unknown) =>
        recorder.record({
          kind: 'receipt-failed',
          body: { ...base, reason: errorText(error) },
          refs: [receiptRef(proof.receiptDigest)],
        }),
      )
    parameters.background.add(settle)
    void settle.finally(() => parameters.background.delete(settle))
    return { acted: 'pending' }
  }

  await recorder.record({
    kind: 'policy',
    body: { ...base, policy: 'require-verified', outcome: 'waiting-for-proof', timeoutMs: policy.timeoutMs },
    refs: [receiptRef(proof.receiptDigest)],
  })
  const controller = new AbortController()
  const onAbort = () => controller.abort(parameters.signal?.reason)
  parameters.signal?.addEventListener('abort', onAbort, { once: true })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), policy.timeoutMs)
  })
  try {
    const outcome = await Promise.race([proof.wait({ signal: controller.signal }), timeout])
    if (outcome === 'timeout') {
      controller.abort(new Error('proof timeout'))
      await recorder.record({
        kind: 'policy',
        body: { ...base, policy: 'require-verified', outcome: 'refused-proof-timeout', timeoutMs: policy.timeoutMs },
        refs: [receiptRef(proof.receiptDigest)],
      })
      throw new PolicyError(`The proof for ${toolName} did not arrive within ${policy.timeoutMs} ms`, {
        details: `receipt ${proof.receiptDigest}; the policy requires a verified receipt before the agent may act on the output.`,
        hint: "Raise the policy's timeoutMs, add provers, or use createProofPolicy({ proofs: 'allow-pending' }).",
        docsPath: 'agent.md',
        meta: { tool: toolName, receipt: proof.receiptDigest, timeoutMs: policy.timeoutMs },
      })
    }
    await recordOutcome(recorder, base, outcome)
    if (outcome.status === 'failed')
      throw new PolicyError(`The proof for ${toolName} failed; the agent may not act on its output`, {
        details: `receipt ${proof.receiptDigest}: ${outcome.reason}`,
        hint: 'Check the model package and the prover logs; the output was not shown to the model.',
        docsPath: 'agent.md',
        meta: { tool: toolName, receipt: proof.receiptDigest },
      })
    return { acted: 'verified' }
  } catch (error) {
    if (parameters.signal?.aborted && !(error instanceof PolicyError))
      throw new AbortedError('The run was aborted while waiting for a proof', { cause: error, meta: { tool: toolName } })
    throw error
  } finally {
    clearTimeout(timer)
    parameters.signal?.removeEventListener('abort', onAbort)
  }
}

function recordOutcome(recorder: DecisionRecorder, base: Record<string, string | number>, outcome: ProofOutcome) {
  if (outcome.status === 'verified')
    return recorder.record({
      kind: 'receipt-proven',
      body: { ...base, status: 'verified', ...(outcome.proofDigest ? { proof: outcome.proofDigest } : {}) },
      refs: [receiptRef(outcome.receiptDigest), ...(outcome.proofDigest ? [{ type: 'proof', digest: outcome.proofDigest }] : [])],
    })
  return recorder.record({
    kind: 'receipt-failed',
    body: { ...base, reason: outcome.reason },
    refs: [receiptRef(outcome.receiptDigest)],
  })
}

function receiptRef(digest: string) {
  return { type: 'receipt', digest }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
