import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import { passphraseGuard } from '../../../src/access/passphrase-guard.js'
import { createHashingEmbedder } from '../../../src/memory/embedders/hashing-embedder.js'
import { createVault, type Vault } from '../../../src/memory/vault.js'

/** A cheap passphrase guard (low scrypt cost) for the agent tests' vaults. */
export const AGENT_VAULT_GUARDS = [passphraseGuard({ passphrase: 'vault pass', cost: { logN: 10, r: 8, p: 1 } })]

/**
 * Gives each test of the calling suite a fresh temp `home` and a real vault in `home/vault` (the hashing
 * embedder, {@link AGENT_VAULT_GUARDS}); closes and removes them after it. Read `home` and `vault` inside tests.
 *
 * @example
 * ```ts
 * const fixture = useAgentVault('verity-tool-model-')
 * it('remembers', async () => {
 *   const agent = createVerityAgent({ model, memory: vaultMemoryStore({ vault: fixture.vault }) })
 * })
 * ```
 */
export function useAgentVault(prefix: string): { readonly home: string; readonly vault: Vault } {
  const state: { home?: string; vault?: Vault } = {}
  beforeEach(async () => {
    state.home = mkdtempSync(join(tmpdir(), prefix))
    state.vault = await createVault({
      path: join(state.home, 'vault'),
      guards: AGENT_VAULT_GUARDS,
      embedder: createHashingEmbedder(),
    })
  })
  afterEach(async () => {
    await state.vault?.close().catch(() => undefined)
    if (state.home) rmSync(state.home, { recursive: true, force: true })
  })
  return {
    get home() {
      return state.home as string
    },
    get vault() {
      return state.vault as Vault
    },
  }
}
