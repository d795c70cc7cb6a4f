import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Guard } from '../access/guard.js'
import { passphraseGuard } from '../access/passphrase-guard.js'
import { randomId } from '../crypto/random.js'
import { AGENT_KEYSTORE_FILE, type AgentIdentity, createAgentIdentity, loadAgentIdentity } from '../identity/agent-identity.js'
import { createVault, openVault, type Vault } from '../memory/vault.js'
import type { EmbedderDescription } from '../memory/vault-embedder.js'
import { type EmbedderOptionValues, embedderForCreate, embedderResolverOf } from './embedder-option.js'
import { resolvePassphrase } from './resolve-secrets.js'

/**
 * An agent home as `verity demo` and `verity agent run` both lay it out, set up in one place:
 * the folder (mode 0700), the passphrase ({@link resolvePassphrase} with the home fallback), the agent identity's encrypted
 * keystore, passphrase vaults (built-in embedder unless `--embedder`, then the recorded spec), and run ids for `runs/<run-id>/`.
 */

/**
 * Resolves a home folder and creates it (mode 0700) if needed.
 *
 * @example
 * ```ts
 * const home = prepareHome('.verity-demo')
 * ```
 */
export function prepareHome(home: string): string {
  const path = resolve(home)
  mkdirSync(path, { recursive: true, mode: 0o700 })
  return path
}

/**
 * A new run id: UTC time to the second, then 8 random hex digits (`20261128T070102Z-1a2b3c4d`).
 *
 * @example
 * ```ts
 * const runDir = join(home, 'runs', newRunId())
 * ```
 */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomId().slice(0, 8)}`
}

export type OpenHomeIdentityReturnType = Promise<{ identity: AgentIdentity; created: boolean }>

/**
 * Unlocks the home's agent identity with the home passphrase, creating it on first use.
 *
 * @example
 * ```ts
 * const { identity, created } = await openHomeIdentity(home)
 * ```
 */
export async function openHomeIdentity(home: string): OpenHomeIdentityReturnType {
  const { passphrase } = await resolvePassphrase({ fallback: { from: 'home', home } })
  const created = !existsSync(join(home, AGENT_KEYSTORE_FILE))
  const identity = created ? await createAgentIdentity({ home, passphrase }) : await loadAgentIdentity({ home, passphrase })
  return { identity, created }
}

export type OpenHomeVaultParameters = {
  home: string
  name?: string | undefined
  /** `--embedder` / `--embedder-options`: the embedder of a new vault, or an override of the recorded spec. */
  embedder?: EmbedderOptionValues | undefined
}
export type OpenHomeVaultReturnType = Promise<{
  vault: Vault
  created: boolean
  path: string
  /** What opened it, to reopen it later (read-only, for instance). */
  guards: Guard[]
  embedder: EmbedderDescription
}>

/**
 * Opens the vault `<home>/<name>` (default `vault`) under the home passphrase, creating it on first use.
 *
 * @example
 * ```ts
 * const { vault, created } = await openHomeVault({ home })
 * ```
 */
export async function openHomeVault(parameters: OpenHomeVaultParameters): OpenHomeVaultReturnType {
  const path = join(parameters.home, parameters.name ?? 'vault')
  const options = parameters.embedder ?? {}
  const { passphrase } = await resolvePassphrase({ fallback: { from: 'home', home: parameters.home } })
  const guards: Guard[] = [passphraseGuard({ passphrase })]
  const created = !existsSync(path)
  if (created) {
    const embedder = await embedderForCreate(options)
    return { vault: await createVault({ path, guards, embedder }), created, path, guards, embedder }
  }
  const resolver = embedderResolverOf(options)
  let embedder: EmbedderDescription | undefined
  const vault = await openVault({ path, guards, embedderResolver: async (recorded) => (embedder = await resolver(recorded)) })
  return { vault, created, path, guards, embedder: embedder ?? vault.info().embedder }
}
