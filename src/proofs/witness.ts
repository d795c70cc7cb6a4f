import { z } from 'zod'
import { InvalidInputError, ProofError } from '../errors.js'
import { parseInput } from '../validation.js'
import { callEngine, getEngine, toClamped } from './ezkl-engine.js'
import { feltToFloat, parseFelt } from './field.js'
import type { ModelPackage } from './model-package.js'
import type { OnnxRunner } from './onnx-runtime.js'

export type RunWitnessParameters = {
  package: ModelPackage
  /** One flattened float array per model input, in the manifest's order. */
  input: number[][]
  /** When given, also runs the float model and reports the largest difference. */
  crossCheck?: OnnxRunner | undefined
}

export type RunWitnessReturnType = {
  /** The proven output: the circuit's fixed-point output rescaled to floats, one array per output. */
  output: number[][]
  /** The input as the circuit saw it (quantised to the input scale). */
  quantisedInput: number[][]
  /** The witness file bytes (JSON), for the prover. */
  witness: Uint8Array
  /** onnxruntime's float output and the largest absolute difference, with `crossCheck`. */
  crossCheck?: { output: number[][]; maxAbsoluteDifference: number } | undefined
}

const schema = z.object({
  package: z.custom<ModelPackage>((value) => typeof value === 'object' && value !== null && 'manifest' in value),
  input: z.array(z.array(z.number().finite())),
  crossCheck: z.custom<OnnxRunner>((value) => typeof value === 'object' && value !== null && 'run' in value).optional(),
})

/**
 * Checks a flattened input against the package's input shapes.
 *
 * @example
 * ```ts
 * assertInputShape(model, [[1, 2, 3]])
 * ```
 */
export function assertInputShape(model: ModelPackage, input: number[][]): void {
  const inputs = model.manifest.inputs
  if (input.length !== inputs.length)
    throw new InvalidInputError('Wrong number of model inputs', {
      details: `${model.manifest.name} takes ${inputs.length} input(s), got ${input.length}`,
      hint: `Inputs: ${inputs.map((tensor) => `${tensor.name}[${tensor.shape.join('x')}]`).join(', ')}`,
    })
  for (const [index, tensor] of inputs.entries()) {
    const size = tensor.shape.reduce((a, b) => a * b, 1)
    const got = input[index]?.length ?? 0
    if (got !== size)
      throw new InvalidInputError(`Input ${tensor.name} has the wrong size`, {
        details: `expected ${size} numbers (shape ${tensor.shape.join('x')}), got ${got}`,
        hint: tensor.labels ? `Elements: ${tensor.labels.join(', ')}` : undefined,
      })
  }
}

type WitnessJson = {
  outputs: string[][]
  inputs: string[][]
}

/**
 * Runs the circuit on an input with `genWitness`: the result is the **proven output** (what a
 * proof will attest), rescaled from fixed point to floats. Optionally cross-checks with onnxruntime.
 *
 * @example
 * ```ts
 * const { output, witness } = await runWitness({ package: model, input: [[0.5, 1.2, -3]] })
 * ```
 */
export async function runWitness(parameters: RunWitnessParameters): Promise<RunWitnessReturnType> {
  const options = parseInput(schema, parameters, { what: 'runWitness parameters' })
  const model = options.package
  assertInputShape(model, options.input)
  const engine = getEngine()
  const inputJson = new TextEncoder().encode(JSON.stringify({ input_data: options.input }))
  let witness: Uint8Array
  try {
    witness = new Uint8Array(callEngine('genWitness', () => engine.genWitness(toClamped(model.compiled), toClamped(inputJson))))
  } catch (cause) {
    throw new ProofError('The circuit could not compute a witness for this input', {
      details: (cause as Error).message,
      hint: "Inputs far outside the calibration range overflow the circuit's lookup tables; rebuild the package with a wider sample.",
      cause,
    })
  }
  const parsed = JSON.parse(new TextDecoder().decode(witness)) as WitnessJson
  const { inputScales, outputScales } = model.manifest.ezkl
  const output = parsed.outputs.map((values, index) =>
    values.map((felt) => feltToFloat(parseFelt(felt), outputScales[index] ?? 0)),
  )
  const quantisedInput = parsed.inputs.map((values, index) =>
    values.map((felt) => feltToFloat(parseFelt(felt), inputScales[index] ?? 0)),
  )
  const result: RunWitnessReturnType = { output, quantisedInput, witness }
  if (options.crossCheck) {
    const floats = await options.crossCheck.run(options.input)
    let maxAbsoluteDifference = 0
    for (const [index, values] of output.entries())
      for (const [position, value] of values.entries())
        maxAbsoluteDifference = Math.max(maxAbsoluteDifference, Math.abs(value - (floats[index]?.[position] ?? Number.NaN)))
    result.crossCheck = { output: floats, maxAbsoluteDifference }
  }
  return result
}
