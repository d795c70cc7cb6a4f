import type { EmbeddingsInterface } from '@langchain/core/embeddings'
import type { EmbedderSpec } from './embedder-spec.js'

/**
 * What the vault embeds with: a LangChain `EmbeddingsInterface` (so any LangChain embeddings
 * class plugs in) plus a stable `id` and `dimension` the vault records in its header and
 * checks on open. A new model, new weights or a new feature scheme must get a new `id`.
 *
 * @example
 * ```ts
 * const embedder: Embedder = createHashingEmbedder()
 * embedder.id // 'verity/hashing-384@1'
 * const vector = await embedder.embedQuery('where is the invoice?')
 * ```
 */
export type Embedder = EmbeddingsInterface<number[]> & {
  readonly specificationVersion: 'v1'
  /** Stable identifier, `<namespace>/<name>@<version>`; changes whenever vectors would change. */
  readonly id: string
  /** Length of every vector. */
  readonly dimension: number
  /** How to make this embedder again (recorded in the vault header, so the CLI can reopen the vault); see `embedders.md`. */
  readonly spec?: EmbedderSpec | undefined
}
