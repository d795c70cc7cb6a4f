import { hash, timingSafeEqual } from 'node:crypto'
import { existsSync, type FSWatcher, readFileSync, statSync, watch as watchFolder } from 'node:fs'
import { basename, dirname } from 'node:path'
import { z } from 'zod'
import { toHex } from '../crypto/bytes.js'
import { sha256 } from '../crypto/digest.js'
import { randomBytes } from '../crypto/random.js'
import { InvalidInputError, UnauthenticatedError } from '../errors.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { type Principal, type Scope, scopeSchema } from './scopes.js'

/** Prefix of every API token, so scanners and people recognise one. */
export const TOKEN_PREFIX = 'vty_'

const storedTokenSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  /** hex SHA-256 of the secret part; the secret itself is never stored. */
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  owner: z.string().min(1).max(200),
  scopes: z.array(scopeSchema).min(1),
  label: z.string().max(200).optional(),
  createdAt: z.string(),
  revoked: z.boolean().optional(),
})
export type StoredToken = z.infer<typeof storedTokenSchema>
const tokenFileSchema = z.object({
  format: z.literal('verity-daemon-tokens'),
  version: z.literal(1),
  tokens: z.array(storedTokenSchema),
})

/** What `create` answers: the token text appears here once and nowhere else. */
export type CreatedToken = { id: string; token: string; owner: string; scopes: Scope[]; label?: string | undefined }

export type CreateTokenParameters = { owner: string; scopes: Scope[]; label?: string | undefined }
const createSchema = z.object({
  owner: z.string().min(1).max(200),
  scopes: z.array(scopeSchema).min(1),
  label: z.string().max(200).optional(),
})

export type TokenStore = {
  create(parameters: CreateTokenParameters): CreatedToken
  /** The principal of a presented token; throws `UnauthenticatedError` for anything else. */
  authenticate(token: string): Principal
  revoke(id: string, owner?: string | undefined): boolean
  list(owner?: string | undefined): Omit<StoredToken, 'secretHash'>[]
  /** Stops watching the token file (a no-op without `watch`). */
  close(): void
}
export type OpenTokenStoreParameters = {
  path: string
  /**
   * Watch the token file's folder, so a change made by another process (`verity daemon token create|revoke`) is seen
   * without checking the file on every `authenticate` (what a long-running daemon wants). Default false: every
   * `authenticate` checks the file (one `stat`), as a short-lived process wants.
   */
  watch?: boolean | undefined
  /**
   * With `watch`: check the file at least this often anyway (milliseconds, default 1000), so a lost change
   * notification delays a revocation made by another process by this much at most.
   */
  recheckMs?: number | undefined
  now?: (() => number) | undefined
}
export type OpenTokenStoreReturnType = TokenStore

const TOKEN_PATTERN = /^vty_([0-9a-f]{16})_([0-9a-f]{64})$/

const refused = () =>
  new UnauthenticatedError('Invalid or revoked token', {
    hint: 'Send Authorization: Bearer <token> with a token from `verity daemon token create`.',
  })

/**
 * The daemon's API tokens: random 32-byte secrets shown once, stored as SHA-256 hashes in a file written
 * atomically (mode 0600), compared in constant time. Changes made through this store take effect at once; changes
 * made by another process are seen at the next call (one `stat` per call), or with `watch` at the first call after
 * the change notification arrives and within `recheckMs` at most.
 *
 * @example
 * ```ts
 * const tokens = openTokenStore({ path: join(home, 'tokens.json') })
 * const { token } = tokens.create({ owner: 'alice', scopes: ['write:vault'] })
 * tokens.authenticate(token).owner // 'alice'
 * const watched = openTokenStore({ path: join(home, 'tokens.json'), watch: true }) // a daemon's store
 * watched.close()
 * ```
 */
export function openTokenStore(parameters: OpenTokenStoreParameters): OpenTokenStoreReturnType {
  const { path, recheckMs = 1000, now = Date.now } = parameters
  const read = (): StoredToken[] => {
    if (!existsSync(path)) return []
    const parsed = parseInput(tokenFileSchema, JSON.parse(readFileSync(path, 'utf8')), { what: 'daemon token file' })
    return parsed.tokens
  }
  // The file is replaced by an atomic rename on every change (here or by `verity daemon token create|revoke` in
  // another process): a new inode, mtime or size means reload.
  const versionOf = () => {
    const stats = statSync(path, { throwIfNoEntry: false })
    return stats ? `${stats.ino}:${stats.size}:${stats.mtimeMs}` : 'none'
  }
  let tokens: StoredToken[] = []
  let version = ''
  /** In-memory index for `authenticate`: id -> the stored token and its hash as bytes. */
  let byId = new Map<string, { stored: StoredToken; secretHash: Buffer }>()
  const load = () => {
    version = versionOf()
    tokens = read()
    byId = new Map(tokens.map((stored) => [stored.id, { stored, secretHash: Buffer.from(stored.secretHash, 'hex') }]))
  }
  load()
  // Watching: the folder, not the file (a rename replaces the file, and a watch on the old inode would go quiet).
  // A notification marks the index stale; the next `authenticate` checks the file. Without a notification the
  // file is checked every `recheckMs` anyway; if watching fails, every call checks it again.
  let watcher: FSWatcher | undefined
  let stale = false
  let checkedAt = now()
  if (parameters.watch) {
    const name = basename(path)
    try {
      watcher = watchFolder(dirname(path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) stale = true
      })
      watcher.on('error', () => {
        watcher?.close()
        watcher = undefined
      })
    } catch {
      watcher = undefined
    }
  }
  const refresh = () => {
    if (watcher) {
      const time = now()
      if (!stale && time - checkedAt < recheckMs) return
      stale = false
      checkedAt = time
    }
    if (versionOf() !== version) load()
  }
  const save = () => {
    writeFileAtomic({
      path,
      data: `${JSON.stringify({ format: 'verity-daemon-tokens', version: 1, tokens }, null, 2)}\n`,
      mode: 0o600,
    })
    load()
  }
  const unknownHash = Buffer.alloc(32)
  return {
    create(input) {
      const options = parseInput(createSchema, input, {
        what: 'token parameters',
        hint: 'Pass { owner, scopes: ["read:vault", ...] }.',
      })
      load()
      const id = toHex(randomBytes(8))
      const secret = randomBytes(32)
      const stored: StoredToken = {
        id,
        secretHash: toHex(sha256(secret)),
        owner: options.owner,
        scopes: [...new Set(options.scopes)],
        ...(options.label ? { label: options.label } : {}),
        createdAt: new Date().toISOString(),
      }
      tokens.push(stored)
      save()
      return {
        id,
        token: `${TOKEN_PREFIX}${id}_${toHex(secret)}`,
        owner: stored.owner,
        scopes: stored.scopes,
        label: options.label,
      }
    },
    authenticate(token) {
      const match = TOKEN_PATTERN.exec(token)
      if (!match) throw refused()
      refresh()
      const entry = byId.get(match[1]!)
      // A SHA-256 of a 256-bit random secret needs no slow KDF (nothing to guess); hash even when the id is unknown,
      // so timing does not tell ids apart, and compare in constant time.
      const presented = hash('sha256', Buffer.from(match[2]!, 'hex'), 'buffer')
      const equal = timingSafeEqual(presented, entry ? entry.secretHash : unknownHash)
      if (!entry || !equal || entry.stored.revoked) throw refused()
      const { stored } = entry
      return { owner: stored.owner, credentialId: `token:${stored.id}`, kind: 'token', scopes: stored.scopes }
    },
    revoke(id, owner) {
      load()
      const stored = tokens.find((candidate) => candidate.id === id && (owner === undefined || candidate.owner === owner))
      if (!stored) return false
      stored.revoked = true
      save()
      return true
    },
    list(owner) {
      refresh()
      return tokens
        .filter((token) => owner === undefined || token.owner === owner)
        .map(({ secretHash: _secretHash, ...rest }) => rest)
    },
    close() {
      watcher?.close()
      watcher = undefined
    },
  }
}

/**
 * Parses `--scope` values (comma separated) into scopes, with a typed error for unknown ones.
 *
 * @example
 * ```ts
 * parseScopes('read:vault,write:agent')
 * ```
 */
export function parseScopes(text: string): Scope[] {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  const result = z.array(scopeSchema).min(1).safeParse(parts)
  if (!result.success)
    throw new InvalidInputError('Unknown scope', {
      details: text,
      hint: 'Scopes are read|write|admin : vault|agent, e.g. read:vault,write:agent.',
    })
  return result.data
}
