import type { EmbeddingsInterface } from '@langchain/core/embeddings'
import { z } from 'zod'
import { EmbedderMismatchError, InvalidInputError } from '../../errors.js'
import { parseInput } from '../../validation.js'
import type { Embedder } from './embedder.js'
import { type EmbedderSpec, embedderSpecSchema } from './embedder-spec.js'

export type FromLangChainEmbeddingsParameters = {
  /** Stable id naming the model and its version, e.g. `hf/all-MiniLM-L6-v2@1`. */
  id: string
  /** The model's output dimension; every vector is checked against it. */
  dimension: number
  /**
   * How to make these embeddings again (e.g. `{ kind: 'langchain', module: '@langchain/openai', export: 'OpenAIEmbeddings',
   * options: { model: 'text-embedding-3-small' } }`): recorded in the vault header so the CLI can reopen the vault.
   */
  spec?: EmbedderSpec | undefined
}
export type FromLangChainEmbeddingsReturnType = Embedder

const schema = z.object({
  id: z
    .string()
    .min(3)
    .max(200)
    .regex(/^[\w.-]+\/[\w.:-]+@[\w.-]+$/, 'must look like `namespace/name@version`'),
  dimension: z.number().int().min(1).max(65536),
  spec: embedderSpecSchema.optional(),
})

function check(vector: unknown, parameters: FromLangChainEmbeddingsParameters, what: string): number[] {
  if (!Array.isArray(vector) && !(vector instanceof Float32Array) && !(vector instanceof Float64Array))
    throw new InvalidInputError('Embeddings returned something that is not a vector', {
      details: `${what} from '${parameters.id}' is ${typeof vector}`,
      hint: 'The wrapped object must implement LangChain’s EmbeddingsInterface (number[] vectors).',
    })
  if (vector.length !== parameters.dimension)
    throw new EmbedderMismatchError('Embedding has the wrong dimension', {
      details: `${what} from '${parameters.id}' has ${vector.length} dimensions; ${parameters.dimension} declared`,
      hint: 'Declare the model’s real output dimension in fromLangChainEmbeddings, and give a new id if the model changed.',
      meta: { expected: parameters.dimension, actual: vector.length, embedder: parameters.id },
    })
  const out = Array.from(vector as ArrayLike<number>)
  if (out.some((value) => !Number.isFinite(value)))
    throw new InvalidInputError('Embedding contains a non-finite number', { details: `${what} from '${parameters.id}'` })
  return out
}

/**
 * Wraps any LangChain embeddings (OpenAI, Ollama, HuggingFace Transformers, ...) as a Verity
 * {@link Embedder}: adds the `id` and `dimension` the vault records, and checks every vector.
 *
 * @example
 * ```ts
 * import { HuggingFaceTransformersEmbeddings } from '@langchain/community/embeddings/huggingface_transformers'
 * const embedder = fromLangChainEmbeddings(new HuggingFaceTransformersEmbeddings({ model: 'Xenova/all-MiniLM-L6-v2' }), {
 *   id: 'hf/all-MiniLM-L6-v2@1',
 *   dimension: 384,
 * })
 * ```
 */
export function fromLangChainEmbeddings(
  embeddings: EmbeddingsInterface,
  parameters: FromLangChainEmbeddingsParameters,
): FromLangChainEmbeddingsReturnType {
  const input = parseInput(schema, parameters, {
    what: 'fromLangChainEmbeddings parameters',
    hint: "Pass { id: 'namespace/name@version', dimension }.",
    docsPath: 'embedders.md',
  })
  if (typeof embeddings?.embedDocuments !== 'function' || typeof embeddings?.embedQuery !== 'function')
    throw new InvalidInputError('Not a LangChain embeddings object', {
      details: 'embedDocuments and embedQuery must be functions',
      hint: 'Pass an instance of a LangChain Embeddings class (from @langchain/core/embeddings or an integration package).',
    })
  return {
    specificationVersion: 'v1',
    id: input.id,
    dimension: input.dimension,
    ...(input.spec ? { spec: input.spec } : {}),
    async embedDocuments(documents: string[]) {
      const vectors = await embeddings.embedDocuments(documents)
      if (!Array.isArray(vectors) || vectors.length !== documents.length)
        throw new InvalidInputError('Embeddings returned the wrong number of vectors', {
          details: `'${input.id}' returned ${Array.isArray(vectors) ? vectors.length : typeof vectors} vectors for ${documents.length} documents`,
        })
      return vectors.map((vector, index) => check(vector, input, `vector ${index}`))
    },
    async embedQuery(document: string) {
      return check(await embeddings.embedQuery(document), input, 'query vector')
    },
  }
}
