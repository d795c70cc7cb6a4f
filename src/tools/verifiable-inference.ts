import { tool } from '@langchain/core/tools'
import { z } from 'zod'
import { InvalidInputError, NotFoundError } from '../errors.js'
import type { ModelPackage } from '../proofs/model-package.js'
import type { OnnxRunner } from '../proofs/onnx-runtime.js'
import type { ProverBackend } from '../proofs/prover-backend.js'
import type { ProverPool } from '../proofs/prover-pool.js'
import type { Receipt } from '../proofs/receipt.js'
import { runVerifiableInference, type SettledReceipt } from '../proofs/verifiable-inference.js'
import { parseInput } from '../validation.js'

export type VerifiableInferenceToolParameters = {
  package: ModelPackage
  /** Proves each call in the background (a worker pool)... */
  pool?: ProverPool | undefined
  /** ...or a prover backend (wasm, native, queue: see `createProver`). One of the two is required. */
  prover?: ProverBackend | undefined
  /** Tool name shown to the model (default: the package name, made identifier-safe). */
  name?: string | undefined
  description?: string | undefined
  /** Optional onnxruntime cross-check reported with each call. */
  crossCheck?: OnnxRunner | undefined
  /** Called with every receipt state after the call returned (`proven`, `verified`, `failed`): record it in the trace. */
  onReceipt?: ((receipt: Receipt, proof: Uint8Array | undefined) => void) | undefined
}

/** What the tool returns to the agent (as JSON text). */
export type VerifiableInferenceToolResult = {
  /** The proven output, one array per model output. */
  output: number[][]
  /** The output by label, when the package names its output elements. */
  labelled?: Record<string, number> | undefined
  /** The receipt as of the call: *pending*. */
  receipt: Receipt
}

const parametersSchema = z.object({
  package: z.custom<ModelPackage>((value) => typeof value === 'object' && value !== null && 'manifest' in value),
  pool: z.custom<ProverPool>((value) => typeof value === 'object' && value !== null && 'submit' in value).optional(),
  prover: z.custom<ProverBackend>((value) => typeof value === 'object' && value !== null && 'prove' in value).optional(),
  name: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/)
    .optional(),
  description: z.string().min(1).optional(),
  crossCheck: z.custom<OnnxRunner>((value) => typeof value === 'object' && value !== null && 'run' in value).optional(),
  onReceipt: z
    .custom<(receipt: Receipt, proof: Uint8Array | undefined) => void>((value) => typeof value === 'function')
    .optional(),
})

/**
 * The zod schema of a package's input as a tool argument: one number per label when the input's
 * elements are named, else one array of the right length per input tensor.
 *
 * @example
 * ```ts
 * inputSchemaOf(model).parse({ amount: 120, hour: 3 })
 * ```
 */
export function inputSchemaOf(model: ModelPackage): z.ZodObject<Record<string, z.ZodType>> {
  const shape: Record<string, z.ZodType> = {}
  for (const tensor of model.manifest.inputs) {
    const size = tensor.shape.reduce((a, b) => a * b, 1)
    if (tensor.labels) for (const label of tensor.labels) shape[label] = z.number().finite().describe(`${tensor.name}: ${label}`)
    else
      shape[tensor.name] = z
        .array(z.number().finite())
        .length(size)
        .describe(`${tensor.name}: ${size} numbers (shape ${tensor.shape.join('x')})`)
  }
  return z.object(shape)
}

function flatten(model: ModelPackage, args: Record<string, unknown>): number[][] {
  return model.manifest.inputs.map((tensor) =>
    tensor.labels ? tensor.labels.map((label) => args[label] as number) : (args[tensor.name] as number[]),
  )
}

/**
 * A LangChain tool that runs a model package verifiably: returns the proven output with a
 * *pending* receipt at once, proves in the pool, and lets callers await the receipt
 * (`awaitReceipt(id)`) or observe it (`onReceipt`).
 *
 * @example
 * ```ts
 * const riskTool = verifiableInferenceTool({ package: model, pool, onReceipt: (r) => trace.record(r) })
 * const text = await riskTool.invoke({ amount: 950, hour: 3, merchantRisk: 0.8, velocity: 6, foreign: 1, newDevice: 1 })
 * const { receipt } = await riskTool.awaitReceipt(JSON.parse(text).receipt.id) // 'verified'
 * ```
 */
export function verifiableInferenceTool(parameters: VerifiableInferenceToolParameters) {
  const options = parseInput(parametersSchema, parameters, { what: 'verifiableInferenceTool parameters' })
  if (!options.pool === !options.prover)
    throw new InvalidInputError('Pass exactly one of pool and prover', {
      hint: 'verifiableInferenceTool({ package, prover: await createProver() })',
    })
  const model = options.package
  const schema = inputSchemaOf(model)
  const settledById = new Map<string, Promise<SettledReceipt>>()
  const outputLabels = model.manifest.outputs.flatMap((tensor) => tensor.labels ?? [])
  const name = options.name ?? model.manifest.name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64)
  const description =
    options.description ??
    `${model.manifest.description ?? `Runs the model ${model.manifest.name}`}. The output is proven with a zero-knowledge proof (EZKL); the result carries a receipt.`

  const langchainTool = tool(
    async (args: Record<string, unknown>) => {
      const input = flatten(model, args)
      const run = await runVerifiableInference({
        package: model,
        input,
        pool: options.pool,
        prover: options.prover,
        crossCheck: options.crossCheck,
        onReceipt: options.onReceipt,
      })
      if (run.settled) settledById.set(run.receipt.id, run.settled)
      const result: VerifiableInferenceToolResult = { output: run.output, receipt: run.receipt }
      const flat = run.output.flat()
      if (outputLabels.length === flat.length)
        result.labelled = Object.fromEntries(outputLabels.map((label, index) => [label, flat[index] as number]))
      return JSON.stringify(result)
    },
    { name, description, schema },
  )
  return Object.assign(langchainTool, {
    /** Resolves when the receipt with this id is *verified* or *failed*. */
    awaitReceipt(id: string): Promise<SettledReceipt> {
      const settled = settledById.get(id)
      if (!settled) return Promise.reject(new NotFoundError('No receipt with this id from this tool', { details: id }))
      return settled
    },
    inputSchema: schema,
  })
}

/**
 * Validates tool arguments against the package's input schema (typed error) and flattens them.
 *
 * @example
 * ```ts
 * parseToolArguments(model, { a: 1, b: 2, c: 3 }) // [[1, 2, 3]]
 * ```
 */
export function parseToolArguments(model: ModelPackage, args: unknown): number[][] {
  const parsed = parseInput(inputSchemaOf(model), args, { what: `${model.manifest.name} input` })
  if (!parsed) throw new InvalidInputError('No input')
  return flatten(model, parsed as Record<string, unknown>)
}
