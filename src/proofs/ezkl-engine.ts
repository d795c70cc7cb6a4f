import { createRequire } from 'node:module'
import { ToolchainError } from '../errors.js'

/**
 * The `@ezkljs/engine` 21.0.0 Node build (wasm, single-threaded), loaded once per thread.
 * Its functions take `Uint8ClampedArray`s; {@link toClamped} converts without copying.
 */
export type EzklEngine = {
  genWitness(compiledCircuit: Uint8ClampedArray, input: Uint8ClampedArray): Uint8Array
  genVk(compiledCircuit: Uint8ClampedArray, srs: Uint8ClampedArray, compressSelectors: boolean): Uint8Array
  genPk(vk: Uint8ClampedArray, compiledCircuit: Uint8ClampedArray, srs: Uint8ClampedArray): Uint8Array
  prove(witness: Uint8ClampedArray, pk: Uint8ClampedArray, compiledCircuit: Uint8ClampedArray, srs: Uint8ClampedArray): Uint8Array
  verify(proof: Uint8ClampedArray, vk: Uint8ClampedArray, settings: Uint8ClampedArray, srs: Uint8ClampedArray): boolean
  compiledCircuitValidation(compiledCircuit: Uint8ClampedArray): boolean
  settingsValidation(settings: Uint8ClampedArray): boolean
  vkValidation(vk: Uint8ClampedArray, settings: Uint8ClampedArray): boolean
  pkValidation(pk: Uint8ClampedArray, settings: Uint8ClampedArray): boolean
  srsValidation(srs: Uint8ClampedArray): boolean
  proofValidation(proof: Uint8ClampedArray): boolean
  witnessValidation(witness: Uint8ClampedArray): boolean
}

/** The EZKL version whose formats this build reads and writes (bincode is version-locked). */
export const EZKL_VERSION = '21.0.0'

const require = createRequire(import.meta.url)
let engine: EzklEngine | undefined

/**
 * The engine's module path, for worker threads that load their own instance.
 *
 * @example
 * ```ts
 * new Worker(code, { eval: true, workerData: { enginePath: engineModulePath() } })
 * ```
 */
export function engineModulePath(): string {
  return require.resolve('@ezkljs/engine/nodejs')
}

/**
 * Loads (once) and returns the EZKL engine of this thread.
 *
 * @example
 * ```ts
 * const ok = getEngine().verify(proof, vk, settings, srs)
 * ```
 */
export function getEngine(): EzklEngine {
  if (engine) return engine
  try {
    engine = require(engineModulePath()) as EzklEngine
  } catch (cause) {
    throw new ToolchainError('Could not load @ezkljs/engine', {
      details: (cause as Error).message,
      hint: `Run npm install; Verity needs @ezkljs/engine ${EZKL_VERSION}.`,
      docsPath: 'proofs.md',
      cause,
    })
  }
  return engine
}

/**
 * A `Uint8ClampedArray` view of bytes (no copy), as the engine wants.
 *
 * @example
 * ```ts
 * getEngine().srsValidation(toClamped(readFileSync('kzg.srs')))
 * ```
 */
export function toClamped(bytes: Uint8Array): Uint8ClampedArray {
  return new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * Runs an engine call, turning the wasm's thrown strings into `Error`s with a label.
 *
 * @example
 * ```ts
 * const witness = callEngine('genWitness', () => getEngine().genWitness(compiled, input))
 * ```
 */
export function callEngine<T>(label: string, run: () => T): T {
  try {
    return run()
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    const error = new Error(`${label}: ${message}`)
    ;(error as Error & { cause?: unknown }).cause = cause
    throw error
  }
}
