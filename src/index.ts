/**
 * `verity`: the package root. The few entry points a first agent needs, plus every error class.
 * Each domain has its own subpath with its full surface (`verity/memory`, `verity/access`,
 * `verity/agent`, `verity/langchain`, `verity/trace`, ...); import from those to load less.
 *
 * @example
 * ```ts
 * import { createVault, createVerityAgent, passphraseGuard, VerityCheckpointSaver } from 'verity'
 *
 * const vault = await createVault({ path: './memory', guards: [passphraseGuard({ passphrase })], embedder })
 * const agent = createVerityAgent({ model: 'openai:gpt-4o-mini', vault })
 * const { answer } = await agent.invoke('Remember that I prefer tea', { configurable: { thread_id: 'chat-1' } })
 * ```
 */

export type { PassphraseGuardParameters } from './access/passphrase-guard.js'
export { passphraseGuard } from './access/passphrase-guard.js'
export type { CreateVerityAgentParameters, CreateVerityAgentReturnType } from './agent/create-verity-agent.js'
export { createVerityAgent } from './agent/create-verity-agent.js'
export { createProofPolicy } from './agent/policy.js'
export { traceRecorder } from './agent/trace-recorder.js'
export { vaultMemoryStore } from './agent/vault-memory-store.js'
export * from './errors.js'
export { VerityCheckpointSaver } from './langchain/verity-checkpoint-saver.js'
export { VerityStore } from './langchain/verity-store.js'
export { VerityVectorStore } from './langchain/verity-vector-store.js'
export type { CreateVaultParameters, OpenVaultParameters, Vault } from './memory/vault.js'
export { createVault, openVault } from './memory/vault.js'
export { exportVault, importVault } from './memory/vault-archive.js'
export { openTrace } from './trace/open-trace.js'
export { verifyTrace } from './trace/verify-trace.js'
