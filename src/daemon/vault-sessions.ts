import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { passphraseGuard } from '../access/index.js'
import { toHex } from '../crypto/bytes.js'
import { sha256 } from '../crypto/digest.js'
import { InvalidInputError, InvalidStateError, NotFoundError } from '../errors.js'
import {
  createHashingEmbedder,
  createVault,
  openVault,
  type RecordedEmbedder,
  resolveEmbedder,
  type Vault,
} from '../memory/index.js'

/** zod schema of a vault name in the daemon (one folder per owner and name). */
export const vaultNameSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, underscore, dash (1-64)')

/** How a client unlocks a vault: the guard the daemon uses to unwrap the data key (which stays in the daemon). */
export const vaultGuardSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('passphrase'), passphrase: z.string().min(1).max(1024) }),
])
export type VaultGuardInput = z.infer<typeof vaultGuardSchema>

export type VaultSessionInfo = { name: string; open: boolean; expiresAt?: string | undefined; records?: number | undefined }

export type VaultSessions = {
  create(parameters: { owner: string; name: string; guard: VaultGuardInput; ttlSeconds: number }): Promise<VaultSessionInfo>
  open(parameters: { owner: string; name: string; guard: VaultGuardInput; ttlSeconds: number }): Promise<VaultSessionInfo>
  close(owner: string, name: string): Promise<boolean>
  /** Runs `work` on the owner's open vault (refreshing its idle expiry); `NotFoundError` if not open or not theirs. */
  use<T>(owner: string, name: string, work: (vault: Vault) => Promise<T> | T): Promise<T>
  /** The first open vault of the owner (what MCP tools use when no vault is named). */
  defaultName(owner: string): string | undefined
  list(owner: string): VaultSessionInfo[]
  pathOf(owner: string, name: string): string
  closeAll(): Promise<void>
}
export type CreateVaultSessionsParameters = {
  /** Folder holding `<owner digest>/<vault name>/`. */
  directory: string
  /** Longest idle time a session may ask for. */
  maxTtlSeconds?: number | undefined
  now?: (() => number) | undefined
}
export type CreateVaultSessionsReturnType = VaultSessions

type Session = { vault: Vault; ttlMs: number; expiresAt: number; busy: number }

/**
 * Vaults unlocked inside the daemon for as long as a client uses them: opening runs the guard here, so the
 * data key never leaves the process; a session closes itself after its idle time-to-live.
 *
 * @example
 * ```ts
 * const vaults = createVaultSessions({ directory: join(home, 'vaults') })
 * await vaults.open({ owner: 'alice', name: 'notes', guard: { kind: 'passphrase', passphrase }, ttlSeconds: 600 })
 * await vaults.use('alice', 'notes', (vault) => vault.search({ query: 'billing' }))
 * ```
 */
export function createVaultSessions(parameters: CreateVaultSessionsParameters): CreateVaultSessionsReturnType {
  const { directory, maxTtlSeconds = 24 * 3600, now = Date.now } = parameters
  const sessions = new Map<string, Session>()
  const opening = new Map<string, Promise<Session>>()
  const key = (owner: string, name: string) => `${owner}\u0000${name}`
  const ownerFolder = (owner: string) => join(directory, toHex(sha256(owner)).slice(0, 32))
  const pathOf = (owner: string, name: string) => join(ownerFolder(owner), vaultNameSchema.parse(name))
  const guardOf = (guard: VaultGuardInput) => passphraseGuard({ passphrase: guard.passphrase })
  const ttlOf = (ttlSeconds: number) => {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxTtlSeconds)
      throw new InvalidInputError('Bad session time-to-live', { details: `1..${maxTtlSeconds} seconds` })
    return ttlSeconds * 1000
  }
  const info = (owner: string, name: string): VaultSessionInfo => {
    const session = sessions.get(key(owner, name))
    return session
      ? { name, open: true, expiresAt: new Date(session.expiresAt).toISOString(), records: session.vault.info().records }
      : { name, open: false }
  }
  const sweep = setInterval(() => {
    const time = now()
    for (const [id, session] of sessions)
      if (session.expiresAt <= time && session.busy === 0) {
        sessions.delete(id)
        void session.vault.close().catch(() => undefined)
      }
  }, 1000)
  sweep.unref()
  const start = async (owner: string, name: string, ttlMs: number, make: () => Promise<Vault>) => {
    const id = key(owner, name)
    const existing = sessions.get(id)
    if (existing) {
      existing.ttlMs = ttlMs
      existing.expiresAt = now() + ttlMs
      return info(owner, name)
    }
    let pending = opening.get(id)
    if (!pending) {
      pending = make().then((vault) => ({ vault, ttlMs, expiresAt: now() + ttlMs, busy: 0 }))
      opening.set(id, pending)
    }
    try {
      sessions.set(id, await pending)
    } finally {
      opening.delete(id)
    }
    return info(owner, name)
  }
  return {
    async create({ owner, name, guard, ttlSeconds }) {
      const path = pathOf(owner, name)
      const ttlMs = ttlOf(ttlSeconds)
      if (existsSync(path))
        throw new InvalidStateError('A vault with this name exists', { details: name, hint: 'Open it instead.' })
      mkdirSync(ownerFolder(owner), { recursive: true, mode: 0o700 })
      return start(owner, name, ttlMs, () => createVault({ path, guards: [guardOf(guard)], embedder: createHashingEmbedder() }))
    },
    async open({ owner, name, guard, ttlSeconds }) {
      const path = pathOf(owner, name)
      const ttlMs = ttlOf(ttlSeconds)
      if (!existsSync(path)) throw new NotFoundError('No such vault', { details: name, hint: 'Create it with POST /v1/vaults.' })
      // The embedder the vault records (a package from the daemon's project, loaded at the first embedding; never a path).
      const embedderResolver = (recorded: RecordedEmbedder) => resolveEmbedder({ recorded, lazy: true })
      return start(owner, name, ttlMs, () => openVault({ path, guards: [guardOf(guard)], embedderResolver }))
    },
    async close(owner, name) {
      const session = sessions.get(key(owner, name))
      if (!session) return false
      sessions.delete(key(owner, name))
      await session.vault.close()
      return true
    },
    async use(owner, name, work) {
      const session = sessions.get(key(owner, name))
      if (!session || session.expiresAt <= now())
        throw new NotFoundError('Vault not open', {
          details: name,
          hint: 'Open it first with POST /v1/vaults/{vault}/open (sessions expire when idle).',
        })
      session.busy += 1
      session.expiresAt = now() + session.ttlMs
      try {
        return await work(session.vault)
      } finally {
        session.busy -= 1
      }
    },
    defaultName(owner) {
      for (const id of sessions.keys()) if (id.startsWith(`${owner}\u0000`)) return id.slice(owner.length + 1)
      return undefined
    },
    list(owner) {
      const folder = ownerFolder(owner)
      if (!existsSync(folder)) return []
      return readdirSync(folder)
        .filter((name) => vaultNameSchema.safeParse(name).success)
        .map((name) => info(owner, name))
    },
    pathOf,
    async closeAll() {
      clearInterval(sweep)
      const open = [...sessions.values()]
      sessions.clear()
      await Promise.all(open.map((session) => session.vault.close().catch(() => undefined)))
    },
  }
}
