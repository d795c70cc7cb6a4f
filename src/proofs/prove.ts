import { ProofError } from '../errors.js'
import { callEngine, getEngine, toClamped } from './ezkl-engine.js'
import { feltToFloat, parseFelt } from './field.js'
import type { ModelPackage } from './model-package.js'
import { normalizeProof } from './proof-file.js'

export type ProveParameters = { package: ModelPackage; witness: Uint8Array }

/**
 * Proves a witness with the package's proving key on this thread (seconds; blocks the event loop)
 * and returns the proof file in {@link normalizeProof normal form}.
 * Agents use the {@link createProverPool prover pool} instead.
 *
 * @example
 * ```ts
 * const proof = prove({ package: model, witness })
 * ```
 */
export function prove(parameters: ProveParameters): Uint8Array {
  const model = parameters.package
  const engine = getEngine()
  try {
    return normalizeProof(
      new Uint8Array(
        callEngine('prove', () =>
          engine.prove(
            toClamped(parameters.witness),
            toClamped(model.provingKey()),
            toClamped(model.compiled),
            toClamped(model.srs),
          ),
        ),
      ),
    )
  } catch (cause) {
    throw new ProofError('Proving failed', { details: (cause as Error).message, cause, docsPath: 'proofs.md' })
  }
}

export type VerifyProofParameters = { proof: Uint8Array; vk: Uint8Array; settings: Uint8Array; srs: Uint8Array }

/**
 * Verifies a proof against a verifying key, settings and SRS. Returns false for a proof that
 * does not verify or cannot be parsed (never throws for a bad proof).
 *
 * @example
 * ```ts
 * verifyProof({ proof, vk: model.vk, settings: model.settings, srs: model.srs }) // true
 * ```
 */
export function verifyProof(parameters: VerifyProofParameters): boolean {
  const engine = getEngine()
  try {
    return (
      engine.verify(
        toClamped(parameters.proof),
        toClamped(parameters.vk),
        toClamped(parameters.settings),
        toClamped(parameters.srs),
      ) === true
    )
  } catch {
    return false
  }
}

/**
 * The public outputs a proof attests, rescaled to floats: the last elements of its instances,
 * one array per model output (outputs are public in every Verity package).
 *
 * @example
 * ```ts
 * proofOutputs({ proof, package: model }) // [[0.5, 0.796875, 0.5]]
 * ```
 */
export function proofOutputs(parameters: { proof: Uint8Array; package: ModelPackage }): number[][] {
  let instances: string[][]
  try {
    const parsed = JSON.parse(new TextDecoder().decode(parameters.proof)) as { instances?: unknown }
    if (!Array.isArray(parsed.instances)) throw new Error('no instances')
    instances = parsed.instances as string[][]
  } catch (cause) {
    throw new ProofError('The proof is not an EZKL proof file', { details: (cause as Error).message, cause })
  }
  const flat = instances.flat()
  const { outputs, ezkl } = parameters.package.manifest
  const sizes = outputs.map((tensor) => tensor.shape.reduce((a, b) => a * b, 1))
  const total = sizes.reduce((a, b) => a + b, 0)
  if (flat.length < total) throw new ProofError('The proof has fewer public values than the model has outputs')
  let offset = flat.length - total
  return sizes.map((size, index) => {
    const values = flat.slice(offset, offset + size).map((felt) => feltToFloat(parseFelt(felt), ezkl.outputScales[index] ?? 0))
    offset += size
    return values
  })
}
