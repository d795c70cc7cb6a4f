import { tool } from '@langchain/core/tools'
import { z } from 'zod'
import { AbortedError } from '../errors.js'
import type { Receipt } from '../proofs/receipt.js'
import type { SettledReceipt } from '../proofs/verifiable-inference.js'
import { parseInput } from '../validation.js'
import type { PendingProof, ProofOutcome } from './pending-proof.js'
import type { ReceiptDirectoryFiles, ReceiptDirectoryReturnType } from './receipt-directory.js'
import type { VerifiableInferenceToolResult, verifiableInferenceTool } from './verifiable-inference.js'

/**
 * The proof adapter between the proofs room and the agent: wraps a `verifiableInferenceTool` so
 * its result carries, as the `ToolMessage` artifact, a {@link PendingProof} built from the tool's
 * pending receipt (`awaitReceipt`). The Verity middleware finds it (`artifact.pendingProof`) and
 * applies the proof policy: `require-verified` holds the output until the real EZKL proof has
 * verified, `allow-pending` lets the agent act and records `receipt-proven` when the proof lands.
 *
 * The trace links receipts by their **id** (the digest of the claim: model, input commitment,
 * output, time), which does not change from *pending* to *verified*. With `receipts`, every settled
 * receipt and its proof are written to that folder before the outcome is reported, so anyone holding
 * the trace can verify them (`verity trace verify`, `verity proof verify`).
 */

/** A verifiable inference tool (from `verifiableInferenceTool`). */
export type VerifiableTool = ReturnType<typeof verifiableInferenceTool>

/** What the model sees: the proven output and the receipt's id and status at call time. */
export type ProvenToolContent = {
  output: number[][]
  labelled?: Record<string, number> | undefined
  receipt: { id: string; status: Receipt['status']; model: string }
}

/** The artifact of each call: the pending proof, the pending receipt and, once settled, its files. */
export type ProvenToolArtifact = {
  pendingProof: PendingProof
  receipt: Receipt
  /** Resolves with the settled receipt (and its files when a receipt folder is configured). */
  settled: Promise<SettledReceipt & { files: ReceiptDirectoryFiles | undefined }>
}

export type ProvenToolParameters = {
  /** The verifiable tool to adapt. */
  tool: VerifiableTool
  /** Where settled receipts and proofs are written (`receiptDirectory({ dir })`). */
  receipts?: ReceiptDirectoryReturnType | undefined
  /** Called once per call when its receipt settles (after the files are written). */
  onSettled?: ((settled: SettledReceipt & { files: ReceiptDirectoryFiles | undefined }) => void) | undefined
}
export type ProvenToolReturnType = ReturnType<typeof buildTool>

const parametersSchema = z.object({
  tool: z.custom<VerifiableTool>(
    (value) => typeof value === 'object' && value !== null && 'awaitReceipt' in value && 'invoke' in value,
    'a tool from verifiableInferenceTool()',
  ),
  receipts: z
    .custom<ReceiptDirectoryReturnType>((value) => typeof value === 'object' && value !== null && 'save' in value)
    .optional(),
  onSettled: z.custom<(settled: unknown) => void>((value) => typeof value === 'function').optional(),
})

/**
 * Adapts a verifiable inference tool for Verity agents (see the module documentation).
 *
 * @example
 * ```ts
 * const model = loadModelPackage({ dir: 'models/transaction-risk' })
 * const risk = provenTool({
 *   tool: verifiableInferenceTool({ package: model, pool: createProverPool({ workers: 1 }) }),
 *   receipts: receiptDirectory({ dir: 'receipts' }),
 * })
 * const agent = createVerityAgent({ tools: [risk], recorder, policy: createProofPolicy({ proofs: 'require-verified' }) })
 * ```
 */
export function provenTool(parameters: ProvenToolParameters) {
  parseInput(parametersSchema, parameters, { what: 'provenTool parameters', docsPath: 'agent.md' })
  return buildTool(parameters)
}

function buildTool(parameters: ProvenToolParameters) {
  const inner = parameters.tool
  return tool(
    async (args: Record<string, unknown>): Promise<[string, ProvenToolArtifact]> => {
      const text = (await inner.invoke(args)) as string
      const result = JSON.parse(text) as VerifiableInferenceToolResult
      const receipt = result.receipt
      const settled = inner.awaitReceipt(receipt.id).then((outcome) => {
        const files = parameters.receipts ? parameters.receipts.save(outcome.receipt, outcome.proof) : undefined
        const full = { ...outcome, files }
        try {
          parameters.onSettled?.(full)
        } catch {
          // an observer must not lose the outcome
        }
        return full
      })
      // Settlement is awaited by the policy; keep an unobserved failure (a disk error) from crashing the process.
      settled.catch(() => undefined)
      const pendingProof: PendingProof = {
        specificationVersion: 'v1',
        receiptDigest: receipt.id,
        wait: (options = {}) => waitFor(receipt.id, settled, options.signal),
      }
      const content: ProvenToolContent = {
        output: result.output,
        ...(result.labelled ? { labelled: result.labelled } : {}),
        receipt: { id: receipt.id, status: receipt.status, model: `${receipt.model.name}@${receipt.model.version}` },
      }
      return [JSON.stringify(content), { pendingProof, receipt, settled }]
    },
    { name: inner.name, description: inner.description, schema: inner.inputSchema, responseFormat: 'content_and_artifact' },
  )
}

async function waitFor(
  receiptId: string,
  settled: Promise<SettledReceipt & { files: ReceiptDirectoryFiles | undefined }>,
  signal: AbortSignal | undefined,
): Promise<ProofOutcome> {
  const outcome = async (): Promise<ProofOutcome> => {
    try {
      const { receipt } = await settled
      if (receipt.status === 'verified')
        return { status: 'verified', receiptDigest: receipt.id, proofDigest: receipt.proofDigest ?? undefined }
      return { status: 'failed', receiptDigest: receipt.id, reason: receipt.error ?? `receipt is ${receipt.status}` }
    } catch (error) {
      return { status: 'failed', receiptDigest: receiptId, reason: (error as Error).message }
    }
  }
  if (!signal) return outcome()
  if (signal.aborted) throw new AbortedError('Stopped waiting for the proof', { cause: signal.reason })
  return new Promise<ProofOutcome>((resolvePromise, reject) => {
    const onAbort = () => reject(new AbortedError('Stopped waiting for the proof', { cause: signal.reason }))
    signal.addEventListener('abort', onAbort, { once: true })
    outcome().then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolvePromise(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
