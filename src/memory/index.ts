/**
 * `verity/memory`: the encrypted vector-memory vault.
 *
 * @example
 * ```ts
 * import { createVault, openVault, exportVault, importVault } from 'verity/memory'
 * import { passphraseGuard } from 'verity/access'
 *
 * const vault = await createVault({ path: './memory', guards: [passphraseGuard({ passphrase })], embedder })
 * await vault.add({ text: 'The user prefers tea' })
 * const hits = await vault.search({ query: 'drinks', k: 3 })
 * await vault.close()
 * ```
 */

export { lanceDbIndexFactory } from './default-index.js'
export * from './embedders/index.js'
export type { VectorIndexFactory } from './exact-index.js'
export { exactIndexFactory } from './exact-index.js'
export type { MemoryOperation, MemoryRecord, Provenance } from './record.js'
export type {
  AddMemory,
  CreateVaultParameters,
  CreateVaultReturnType,
  Grant,
  GrantOptions,
  ListParameters,
  ListReturnType,
  OpenVaultParameters,
  OpenVaultReturnType,
  SearchParameters,
  SearchResult,
  UpdateMemory,
  Vault,
  VaultInfo,
  VaultProgress,
} from './vault.js'
export { createVault, openVault } from './vault.js'
export type {
  ExportVaultParameters,
  ExportVaultReturnType,
  ImportVaultParameters,
  ImportVaultReturnType,
} from './vault-archive.js'
export { exportVault, importVault } from './vault-archive.js'
export type { EmbedderDescription, EmbedderResolver, RecordedEmbedder, VaultEmbedder } from './vault-embedder.js'
export { VAULT_FORMAT, VAULT_FORMAT_VERSION } from './vault-format.js'
export type {
  IndexHit,
  IndexSearchParameters,
  IndexSnapshot,
  IndexSnapshotReader,
  SearchFilter,
  SearchMode,
  VectorIndex,
} from './vector-index.js'
