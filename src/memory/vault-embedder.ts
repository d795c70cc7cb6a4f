import type { EmbeddingsInterface } from '@langchain/core/embeddings'
import { EmbedderMismatchError, InvalidInputError } from '../errors.js'
import { describeEmbedderSpec, type EmbedderSpec, embedderSpecIdentity } from './embedders/embedder-spec.js'

/**
 * What a vault embeds with: any LangChain `EmbeddingsInterface` plus the `id` and `dimension`
 * the vault records in its header. An object with only `id` and `dimension` describes the
 * embedding space of a vault whose callers always pass vectors themselves.
 */
export type VaultEmbedder = EmbeddingsInterface & {
  readonly id: string
  readonly dimension: number
  readonly spec?: EmbedderSpec | undefined
}
/** What a vault header records about its embedder: id, dimension and, since the spec was added, how to make it again. */
export type RecordedEmbedder = { readonly id: string; readonly dimension: number; readonly spec?: EmbedderSpec | undefined }
/** The embedding space a vault records: an embedder, or just its id and dimension (and spec). */
export type EmbedderDescription = VaultEmbedder | RecordedEmbedder
/**
 * Makes the embedder of a vault from what its header records, called by `openVault` after the
 * header has been authenticated (so a forged spec never chooses what code is loaded).
 */
export type EmbedderResolver = (recorded: RecordedEmbedder) => Promise<EmbedderDescription>

/**
 * True when `value` can embed text (has `embedDocuments` and `embedQuery`).
 *
 * @example
 * ```ts
 * if (canEmbed(embedder)) vector = await embedder.embedQuery(text)
 * ```
 */
export function canEmbed(value: EmbedderDescription | undefined): value is VaultEmbedder {
  return (
    value !== undefined &&
    typeof (value as VaultEmbedder).embedDocuments === 'function' &&
    typeof (value as VaultEmbedder).embedQuery === 'function'
  )
}

/**
 * Throws {@link EmbedderMismatchError} when an embedder differs from the vault's recorded one.
 *
 * @example
 * ```ts
 * assertSameEmbedder({ recorded: header.embedder, offered: embedder, where: path })
 * ```
 */
export function assertSameEmbedder(parameters: { recorded: RecordedEmbedder; offered: RecordedEmbedder; where: string }): void {
  const { recorded, offered, where } = parameters
  // Both specs known: they must describe the same vectors. Either unknown (a vault made before
  // specs were recorded, or an embedder made in code without one): id and dimension decide.
  if (recorded.spec && offered.spec && embedderSpecIdentity(recorded.spec) !== embedderSpecIdentity(offered.spec))
    throw new EmbedderMismatchError('Embedder does not match the vault', {
      details: `${where}: the vault was written with '${recorded.id}' (${describeEmbedderSpec(recorded.spec)}, ${recorded.dimension} dimensions); offered '${offered.id}' (${describeEmbedderSpec(offered.spec)}, ${offered.dimension} dimensions)`,
      hint: 'Open the vault without --embedder (the CLI then uses the recorded spec) or with the embedder it records; or create a new vault and re-add the memories.',
      docsPath: 'embedders.md',
      meta: { recorded, offered },
    })
  if (recorded.id === offered.id && recorded.dimension === offered.dimension) return
  throw new EmbedderMismatchError('Embedder does not match the vault', {
    details: `${where}: the vault was written with '${recorded.id}' (${recorded.dimension} dimensions); offered '${offered.id}' (${offered.dimension} dimensions)`,
    hint: `Open the vault with the embedder '${recorded.id}' (CLI: --embedder, see embedders.md), or create a new vault and re-add the memories with the new embedder.`,
    docsPath: 'embedders.md',
    meta: { recorded, offered },
  })
}

/**
 * Checks and converts a vector to a `Float32Array` of the vault's dimension. With `target`
 * (a view of `dimension` floats, e.g. one slot of a batch-wide buffer) the copy is written there
 * instead of a fresh allocation.
 *
 * @example
 * ```ts
 * const embedding = toEmbedding(vector, header.embedder, 'add[0].embedding')
 * ```
 */
export function toEmbedding(
  vector: ArrayLike<number>,
  recorded: { id: string; dimension: number },
  what: string,
  target?: Float32Array,
): Float32Array {
  if (vector.length !== recorded.dimension)
    throw new EmbedderMismatchError('Embedding has the wrong dimension', {
      details: `${what} has ${vector.length} dimensions; the vault's embedder '${recorded.id}' has ${recorded.dimension}`,
      hint: `Embed with '${recorded.id}' (${recorded.dimension} dimensions), the embedder this vault was created with.`,
      docsPath: 'vault-format.md',
      meta: { expected: recorded.dimension, actual: vector.length, embedder: recorded.id },
    })
  let out: Float32Array
  if (target) {
    out = target
    if (vector instanceof Float32Array) out.set(vector)
    else for (let index = 0; index < out.length; index++) out[index] = vector[index] as number
  } else out = vector instanceof Float32Array ? new Float32Array(vector) : Float32Array.from(vector)
  let nonZero = false
  for (let index = 0; index < out.length; index++) {
    if (!Number.isFinite(out[index]))
      throw new InvalidInputError('Embedding contains a non-finite number', {
        details: `${what}[${index}] is ${vector[index]}`,
        hint: 'Check the embedder output; NaN or Infinity cannot be indexed.',
      })
    if (out[index] !== 0) nonZero = true
  }
  if (!nonZero)
    throw new InvalidInputError('Embedding is all zeros', {
      details: `${what} has no direction, so cosine similarity is undefined`,
      hint: 'Check the text (an embedder may return zeros for empty or unknown text) or the vector you pass.',
    })
  return out
}
