/**
 * Embedders for the vault: the offline default, a wrapper for any LangChain embeddings, and specs
 * (how to make an embedder again, recorded in the vault) with their resolver.
 *
 * @example
 * ```ts
 * import { createHashingEmbedder, fromLangChainEmbeddings } from 'verity/memory'
 * const embedder = createHashingEmbedder()
 * ```
 */
export type { Embedder } from './embedder.js'
export type { EmbedderSpec, ParseEmbedderOptionParameters, ParseEmbedderOptionReturnType } from './embedder-spec.js'
export { describeEmbedderSpec, embedderSpecSchema, parseEmbedderOption } from './embedder-spec.js'
export type { FromLangChainEmbeddingsParameters, FromLangChainEmbeddingsReturnType } from './from-langchain-embeddings.js'
export { fromLangChainEmbeddings } from './from-langchain-embeddings.js'
export type { CreateHashingEmbedderParameters, CreateHashingEmbedderReturnType } from './hashing-embedder.js'
export { createHashingEmbedder } from './hashing-embedder.js'
export type { ResolveEmbedderParameters, ResolveEmbedderReturnType } from './resolve-embedder.js'
export { resolveEmbedder } from './resolve-embedder.js'
