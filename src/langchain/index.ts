/**
 * `verity/langchain`: the vault behind LangChain's and LangGraph's own memory interfaces.
 * A `VectorStore` (and retriever), a LangGraph `BaseStore` for long-term memory, and a
 * checkpoint saver that keeps threads encrypted in the vault and carried by `vault export`.
 *
 * @example
 * ```ts
 * import { VerityCheckpointSaver, VerityStore, VerityVectorStore } from 'verity/langchain'
 *
 * const retriever = new VerityVectorStore(embedder, { vault }).asRetriever({ k: 4 })
 * const agent = createAgent({
 *   model, tools,
 *   store: new VerityStore({ vault }),
 *   checkpointer: new VerityCheckpointSaver({ vault }),
 * })
 * ```
 */

export type { AdapterVault } from './vault-records.js'
export type { VerityCheckpointSaverParameters } from './verity-checkpoint-saver.js'
export { CHECKPOINT_NAMESPACE, VerityCheckpointSaver } from './verity-checkpoint-saver.js'
export type { VerityStoreParameters } from './verity-store.js'
export { STORE_NAMESPACE, VerityStore } from './verity-store.js'
export type { VerityVectorStoreFilter, VerityVectorStoreParameters } from './verity-vector-store.js'
export { VerityVectorStore } from './verity-vector-store.js'
