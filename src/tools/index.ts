/**
 * `verity/tools`: LangChain tools for Verity agents: memory tools over a vault, and (from the proofs
 * room) verifiable inference.
 *
 * @example
 * ```ts
 * import { createMemoryTools } from 'verity/tools'
 * const [remember, recall, forget] = createMemoryTools({ store, namespace: 'agent:helper' })
 * ```
 */
export type { CreateMemoryToolsParameters, CreateMemoryToolsReturnType, NamespaceResolver } from './memory-tools.js'
export { createMemoryTools, resolveNamespace } from './memory-tools.js'
