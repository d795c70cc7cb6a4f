import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { toHex } from '../crypto/bytes.js'
import { randomBytes } from '../crypto/random.js'
import { VaultRollbackError, VaultWriterChangedError } from '../errors.js'

/**
 * What this machine remembers about each vault it opened (outside the vault folder, so whoever
 * can write the vault's storage cannot rewrite it): the highest commit sequence and key epoch
 * seen, the format version, and the writer public key (pinned on first use). An older commit put
 * back is refused with {@link VaultRollbackError}; another writer key with
 * {@link VaultWriterChangedError}. Described in `docs/vault-format.md` ("Rollback state").
 */

/** zod schema of one vault's state file; the type below is inferred from it. */
export const vaultStateSchema = z
  .object({
    vaultId: z.string().regex(/^[0-9a-f]{32}$/),
    sequence: z.number().int().nonnegative(),
    keyEpoch: z.number().int().nonnegative(),
    formatVersion: z.number().int().min(1),
    writerPublicKey: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable(),
    updatedAt: z.number().int().nonnegative(),
  })
  .strict()
export type VaultState = z.infer<typeof vaultStateSchema>

/** What a verified commit says, compared with and recorded into the state. */
export type ObservedVaultState = Omit<VaultState, 'updatedAt'>

/**
 * The default state folder: `$VERITY_VAULT_STATE`, else `~/.verity/vault-state`.
 *
 * @example
 * ```ts
 * const folder = defaultVaultStateFolder()
 * ```
 */
export function defaultVaultStateFolder(): string {
  return process.env.VERITY_VAULT_STATE || join(homedir(), '.verity', 'vault-state')
}

function statePath(folder: string, vaultId: string): string {
  return join(folder, `${vaultId}.json`)
}

/**
 * Reads a vault's remembered state (undefined when this machine never opened it, or the file is unreadable).
 *
 * @example
 * ```ts
 * const seen = readVaultState(folder, vaultId)
 * ```
 */
export function readVaultState(folder: string, vaultId: string): VaultState | undefined {
  try {
    const parsed = vaultStateSchema.safeParse(JSON.parse(readFileSync(statePath(folder, vaultId), 'utf8')))
    return parsed.success && parsed.data.vaultId === vaultId ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/**
 * Refuses a verified commit older than what this machine saw: a lower sequence, key epoch or
 * format version is {@link VaultRollbackError}; another writer key at the same or a lower key epoch
 * is {@link VaultWriterChangedError} (a writer key only changes when a writer is revoked, which
 * raises the epoch; a writer key changed by a revocation is still refused on machines that pinned the old one,
 * with a hint, since a revoked writer could make the same change).
 *
 * @example
 * ```ts
 * checkVaultState({ folder, observed, where })
 * ```
 */
export function checkVaultState(parameters: { folder: string; observed: ObservedVaultState; where: string }): void {
  const { folder, observed, where } = parameters
  const seen = readVaultState(folder, observed.vaultId)
  if (!seen) return
  const file = statePath(folder, observed.vaultId)
  const meta = {
    seenSequence: seen.sequence,
    foundSequence: observed.sequence,
    seenKeyEpoch: seen.keyEpoch,
    foundKeyEpoch: observed.keyEpoch,
    stateFile: file,
  }
  if (observed.sequence < seen.sequence || observed.keyEpoch < seen.keyEpoch || observed.formatVersion < seen.formatVersion)
    throw new VaultRollbackError('The vault was rolled back', {
      details: `${where}: commit sequence ${observed.sequence} (key epoch ${observed.keyEpoch}, format ${observed.formatVersion}), but this machine already saw sequence ${seen.sequence} (key epoch ${seen.keyEpoch}, format ${seen.formatVersion})`,
      hint: `Someone put back an older vault.json (or restored an old backup). Restore the newest copy; if you restored a backup on purpose, delete ${file} and open again.`,
      docsPath: 'vault-format.md',
      meta,
    })
  if (seen.writerPublicKey !== null && observed.writerPublicKey !== seen.writerPublicKey)
    throw new VaultWriterChangedError('The vault has another writer key than this machine pinned', {
      details: `${where}: writer ${observed.writerPublicKey ?? 'none'} (key epoch ${observed.keyEpoch}), pinned ${seen.writerPublicKey} (key epoch ${seen.keyEpoch})`,
      hint: `Either a writer was revoked (ask the owner) or someone replaced the header. If the owner confirms the new writer key, delete ${file} and open again.`,
      docsPath: 'vault-format.md',
      meta: { ...meta, pinned: seen.writerPublicKey, found: observed.writerPublicKey },
    })
}

/**
 * Remembers a verified commit (never lowers what was seen). Written with temp file + rename; not
 * fsynced: losing the last update in a power cut only makes the check as weak as the one before.
 *
 * @example
 * ```ts
 * recordVaultState({ folder, observed })
 * ```
 */
export function recordVaultState(parameters: { folder: string; observed: ObservedVaultState; replaceWriter?: boolean }): void {
  const { folder, observed } = parameters
  const seen = readVaultState(folder, observed.vaultId)
  const next: VaultState = {
    vaultId: observed.vaultId,
    sequence: Math.max(seen?.sequence ?? 0, observed.sequence),
    keyEpoch: Math.max(seen?.keyEpoch ?? 0, observed.keyEpoch),
    formatVersion: Math.max(seen?.formatVersion ?? 1, observed.formatVersion),
    writerPublicKey: parameters.replaceWriter ? observed.writerPublicKey : (seen?.writerPublicKey ?? observed.writerPublicKey),
    updatedAt: Date.now(),
  }
  if (
    seen &&
    seen.sequence === next.sequence &&
    seen.keyEpoch === next.keyEpoch &&
    seen.formatVersion === next.formatVersion &&
    seen.writerPublicKey === next.writerPublicKey
  )
    return
  mkdirSync(folder, { recursive: true, mode: 0o700 })
  const path = statePath(folder, observed.vaultId)
  const temporary = `${path}.${toHex(randomBytes(6))}.tmp`
  writeFileSync(temporary, `${JSON.stringify(next)}\n`, { mode: 0o600 })
  renameSync(temporary, path)
}
