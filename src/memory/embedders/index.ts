/**
 * Embedders for the vault: the offline default and a wrapper for any LangChain embeddings.
 *
 * @example
 * ```ts
 * import { createHashingEmbedder, fromLangChainEmbeddings } from 'verity/memory'
 * const embedder = createHashingEmbedder()
 * ```
 */
export type { Embedder } from './embedder.js'
export type { FromLangChainEmbeddingsParameters, FromLangChainEmbeddingsReturnType } from './from-langchain-embeddings.js'
export { fromLangChainEmbeddings } from './from-langchain-embeddings.js'
export type { CreateHashingEmbedderParameters, CreateHashingEmbedderReturnType } from './hashing-embedder.js'
export { createHashingEmbedder } from './hashing-embedder.js'
