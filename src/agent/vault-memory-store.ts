import { NotFoundError } from '../errors.js'
import type { Vault } from '../memory/vault.js'
import type { MemoryStore } from '../tools/memory-store.js'
import { memoryDigest } from '../tools/memory-store.js'

export type VaultMemoryStoreParameters = {
  vault: Pick<Vault, 'add' | 'search' | 'get' | 'delete'>
  /** Search mode (default: the vault's default, vector search with its embedder). */
  mode?: 'vector' | 'text' | 'hybrid' | undefined
}
/** A {@link MemoryStore} that also names its vault (so `createVerityAgent` keeps threads there too). */
export type VaultMemoryStoreReturnType = MemoryStore & { readonly vault: VaultMemoryStoreParameters['vault'] }

/**
 * Adapter from the agent's {@link MemoryStore} to an open encrypted vault (`openVault` /
 * `createVault` in `src/memory/`).
 *
 * @example
 * ```ts
 * const vault = await openVault({ path, guards: [passphraseGuard({ passphrase })], embedder })
 * const agent = createVerityAgent({ memory: vaultMemoryStore({ vault }), recorder })
 * ```
 */
export function vaultMemoryStore(parameters: VaultMemoryStoreParameters): VaultMemoryStoreReturnType {
  const { vault } = parameters
  return {
    specificationVersion: 'v1',
    vault,
    async add(input) {
      const record = await vault.add({
        text: input.text,
        namespace: input.namespace,
        metadata: input.metadata ?? {},
        provenance: input.provenance,
      })
      return { id: record.id, digest: memoryDigest(record) }
    },
    async search(input) {
      const results = await vault.search({
        query: input.query,
        k: input.k,
        namespace: input.namespace,
        ...(parameters.mode ? { mode: parameters.mode } : {}),
      })
      return results.map(({ record, score }) => ({
        id: record.id,
        text: record.text,
        namespace: record.namespace,
        metadata: record.metadata,
        score,
        digest: memoryDigest(record),
        provenance: record.provenance,
      }))
    },
    async delete(input) {
      const record = vault.get(input.id)
      if (!record || record.namespace !== input.namespace) return { deleted: false }
      try {
        await vault.delete(input.id)
        return { deleted: true }
      } catch (error) {
        if (error instanceof NotFoundError) return { deleted: false }
        throw error
      }
    },
  }
}
