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
export type { EmbedderSpec, ParseEmbedderOptionParameters, ParseEmbedderOptionReturnType } from './embedder-spec.js'
export { describeEmbedderSpec, embedderSpecIdentity, embedderSpecSchema, parseEmbedderOption } from './embedder-spec.js'
export type { FromLangChainEmbeddingsParameters, FromLangChainEmbeddingsReturnType } from './from-langchain-embeddings.js'
export { fromLangChainEmbeddings } from './from-langchain-embeddings.js'
export type { CreateHashingEmbedderParameters, CreateHashingEmbedderReturnType } from './hashing-embedder.js'
export { createHashingEmbedder } from './hashing-embedder.js'
export type { ImportFromProjectParameters, ImportFromProjectReturnType } from './import-from-project.js'
export { importFromProject } from './import-from-project.js'
export type { ResolveEmbedderParameters, ResolveEmbedderReturnType } from './resolve-embedder.js'
export { resolveEmbedder } from './resolve-embedder.js'
