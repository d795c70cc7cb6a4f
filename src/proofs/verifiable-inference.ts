import { z } from 'zod'
import { canonicalJson } from '../crypto/canonical-json.js'
import { digest } from '../crypto/digest.js'
import { parseInput } from '../validation.js'
import type { ModelPackage } from './model-package.js'
import type { OnnxRunner } from './onnx-runtime.js'
import { proofOutputs } from './prove.js'
import type { ProverBackend } from './prover-backend.js'
import type { ProverPool } from './prover-pool.js'
import { createReceipt, type Receipt } from './receipt.js'
import { runWitness } from './witness.js'

/** What a settled receipt carries: the final receipt and, unless proving failed, the proof. */
export type SettledReceipt = { receipt: Receipt; proof: Uint8Array | undefined }

export type RunVerifiableInferenceParameters = {
  package: ModelPackage
  /** One flattened float array per model input. */
  input: number[][]
  /** Proves in the background; without a pool or prover the receipt stays *pending* and `settled` is undefined. */
  pool?: ProverPool | undefined
  /** A prover backend (wasm, native or queue) instead of a pool; a signing backend's signature goes into the receipt. */
  prover?: ProverBackend | undefined
  crossCheck?: OnnxRunner | undefined
  /** Called with each new state of the receipt (`proven`, `verified` or `failed`). */
  onReceipt?: ((receipt: Receipt, proof: Uint8Array | undefined) => void) | undefined
  signal?: AbortSignal | undefined
}

export type RunVerifiableInferenceReturnType = {
  /** The proven output (from the witness). */
  output: number[][]
  quantisedInput: number[][]
  /** The receipt as of now: *pending*. */
  receipt: Receipt
  /** The salt of a private input's commitment (keep it to open the commitment; not in the receipt). */
  salt: string | undefined
  crossCheck?: { output: number[][]; maxAbsoluteDifference: number } | undefined
  /** Resolves (never rejects) when the receipt is *verified* or *failed*. */
  settled: Promise<SettledReceipt> | undefined
}

const schema = z.object({
  package: z.custom<ModelPackage>((value) => typeof value === 'object' && value !== null && 'manifest' in value),
  input: z.array(z.array(z.number().finite())),
  pool: z.custom<ProverPool>((value) => typeof value === 'object' && value !== null && 'submit' in value).optional(),
  prover: z
    .custom<ProverBackend>(
      (value) => typeof value === 'object' && value !== null && 'specificationVersion' in value && 'prove' in value,
    )
    .optional(),
  crossCheck: z.custom<OnnxRunner>((value) => typeof value === 'object' && value !== null && 'run' in value).optional(),
  onReceipt: z
    .custom<(receipt: Receipt, proof: Uint8Array | undefined) => void>((value) => typeof value === 'function')
    .optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
})

/**
 * Runs a model verifiably: computes the proven output with the witness, returns at once with a
 * *pending* receipt, and (with a pool) proves in the background; the receipt becomes *proven*, then
 * *verified* once the proof verifies and attests exactly the receipt's output.
 *
 * @example
 * ```ts
 * const run = await runVerifiableInference({ package: model, input: [[120, 23, 4, 9, 1, 0]], pool })
 * run.output // available now
 * const { receipt, proof } = await run.settled! // receipt.status === 'verified'
 * ```
 */
export async function runVerifiableInference(
  parameters: RunVerifiableInferenceParameters,
): Promise<RunVerifiableInferenceReturnType> {
  const options = parseInput(schema, parameters, { what: 'runVerifiableInference parameters' })
  const model = options.package
  const witness = await runWitness({ package: model, input: options.input, crossCheck: options.crossCheck })
  const { receipt, salt } = createReceipt({ package: model, input: options.input, output: witness.output })
  let settled: Promise<SettledReceipt> | undefined
  const pool = options.pool
  const prover = options.prover
  const proving = prover
    ? prover.prove({ package: model, witness: witness.witness, receiptId: receipt.id, signal: options.signal })
    : pool?.submit({ package: model, witness: witness.witness, signal: options.signal }).result
  if (proving) {
    proving.catch(() => {})
    const notify = (next: Receipt, proof: Uint8Array | undefined) => {
      try {
        options.onReceipt?.(next, proof)
      } catch {
        // a failing hook must not lose the receipt
      }
    }
    settled = proving.then(
      (result) => {
        const signature = 'prover' in result ? result.prover : undefined
        const proven: Receipt = {
          ...receipt,
          status: 'proven',
          proofDigest: digest(result.proof),
          provenAt: new Date().toISOString(),
          ...(signature ? { prover: signature } : {}),
        }
        notify(proven, result.proof)
        let attested = false
        try {
          attested = canonicalJson(proofOutputs({ proof: result.proof, package: model })) === canonicalJson(receipt.output)
        } catch {
          attested = false
        }
        const final: Receipt =
          result.verified === true && attested
            ? { ...proven, status: 'verified', verifiedAt: new Date().toISOString() }
            : {
                ...proven,
                status: 'failed',
                error: result.verified !== true ? 'the proof did not verify' : 'the proof attests another output',
              }
        notify(final, result.proof)
        return { receipt: final, proof: result.proof }
      },
      (error: Error) => {
        const failed: Receipt = { ...receipt, status: 'failed', error: error.message.split('\n')[0] ?? 'proving failed' }
        notify(failed, undefined)
        return { receipt: failed, proof: undefined }
      },
    )
  }
  return {
    output: witness.output,
    quantisedInput: witness.quantisedInput,
    receipt,
    salt,
    crossCheck: witness.crossCheck,
    settled,
  }
}
