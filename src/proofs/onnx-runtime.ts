import { InferenceSession, Tensor } from 'onnxruntime-node'
import { ModelPackageError } from '../errors.js'

/** A model tensor as a package records it: name and concrete shape. */
export type TensorShape = { name: string; shape: number[] }

function concrete(name: string, shape: readonly (number | string)[] | undefined): TensorShape {
  // EZKL fixes symbolic dimensions (batch_size...) to 1, as its `variables` run arg says.
  return { name, shape: (shape ?? [1]).map((dimension) => (typeof dimension === 'number' && dimension > 0 ? dimension : 1)) }
}

async function openSession(model: string | Uint8Array): Promise<InferenceSession> {
  try {
    return typeof model === 'string' ? await InferenceSession.create(model) : await InferenceSession.create(model)
  } catch (cause) {
    throw new ModelPackageError('onnxruntime cannot load the ONNX model', {
      details: (cause as Error).message,
      hint: 'Check that the file is a valid ONNX model.',
      cause,
    })
  }
}

/**
 * The inputs and outputs of an ONNX model with concrete shapes (symbolic dimensions as 1).
 *
 * @example
 * ```ts
 * const { inputs } = await inspectOnnx('network.onnx') // [{ name: 'input', shape: [1, 3] }]
 * ```
 */
export async function inspectOnnx(model: string | Uint8Array): Promise<{ inputs: TensorShape[]; outputs: TensorShape[] }> {
  const session = await openSession(model)
  try {
    const tensors = (metadata: readonly InferenceSession.ValueMetadata[]) =>
      metadata.map((item) => concrete(item.name, item.isTensor ? item.shape : undefined))
    return { inputs: tensors(session.inputMetadata), outputs: tensors(session.outputMetadata) }
  } finally {
    await session.release()
  }
}

/** A cached onnxruntime session for fast, un-proven inference and cross-checks. */
export type OnnxRunner = {
  run(inputs: number[][]): Promise<number[][]>
  release(): Promise<void>
}

export type CreateOnnxRunnerParameters = { model: Uint8Array; inputs: TensorShape[] }

/**
 * Opens an onnxruntime session over model bytes; `run` takes flattened float inputs and returns
 * flattened float outputs in the model's output order.
 *
 * @example
 * ```ts
 * const runner = await createOnnxRunner({ model: pkg.onnx, inputs: pkg.manifest.inputs })
 * const [scores] = await runner.run([[120, 3, 5, 1, 0, 0]])
 * ```
 */
export async function createOnnxRunner(parameters: CreateOnnxRunnerParameters): Promise<OnnxRunner> {
  const session = await openSession(parameters.model)
  return {
    async run(inputs) {
      const feeds: Record<string, Tensor> = {}
      for (const [index, tensor] of parameters.inputs.entries())
        feeds[tensor.name] = new Tensor('float32', Float32Array.from(inputs[index] ?? []), tensor.shape)
      const results = await session.run(feeds)
      return session.outputNames.map((name) => Array.from(results[name]?.data as Float32Array, Number))
    },
    release: () => session.release(),
  }
}
