import { closeSync, fsyncSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { randomId } from '../crypto/random.js'
import { StorageError, VaultLockedError } from '../errors.js'

/**
 * The single-writer lock of a vault folder: a file `.lock` created with O_EXCL holding the
 * owner's host and pid. A lock whose owner process is gone (same host, pid not alive, e.g.
 * after `kill -9`) is stale and is taken over at once, so a crashed writer never blocks the
 * next open. (proper-lockfile's mtime-based staleness would need >= 5 s after a crash.)
 * Takeovers are serialised by a second O_EXCL file (`.lock.takeover`), so two processes that
 * both find the same stale lock can never remove a lock a third process has just taken.
 */

/** Name of the lock file inside a vault folder. */
export const LOCK_FILE = '.lock'

type LockOwner = { pid: number; host: string; token: string; since: number }

export type VaultLock = { release(): void }

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function isStale(owner: LockOwner | undefined): boolean {
  return owner !== undefined && owner.host === hostname() && owner.pid !== process.pid && !isAlive(owner.pid)
}

function tryCreate(path: string, owner: LockOwner): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new StorageError('Could not create the vault lock', { details: `${path}: ${(error as Error).message}`, cause: error })
  }
  try {
    writeSync(fd, JSON.stringify(owner))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return true
}

/** Suffix of the short-lived file that serialises stale-lock takeovers. */
const TAKEOVER_SUFFIX = '.takeover'

/**
 * Removes the lock at `path` if it is still the stale one described by `stale`. Only the holder
 * of `path + '.takeover'` (created with O_EXCL) removes a stale lock, and it re-reads the lock
 * under that guard, so a live owner's lock is never removed: a new lock can only appear after
 * the stale one is gone, and only the takeover holder makes it go.
 */
function removeStaleLock(path: string, stale: LockOwner): void {
  const takeover = `${path}${TAKEOVER_SUFFIX}`
  const guard: LockOwner = { pid: process.pid, host: hostname(), token: randomId(), since: Date.now() }
  if (!tryCreate(takeover, guard)) {
    // Another process is taking over right now; if it died in the middle, clear its guard.
    const holder = readOwner(takeover)
    if (isStale(holder) || (holder === undefined && ageMs(takeover) > 10_000)) rmSync(takeover, { force: true })
    return
  }
  try {
    const current = readOwner(path)
    if (current?.token === stale.token) rmSync(path, { force: true })
  } finally {
    rmSync(takeover, { force: true })
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/**
 * Takes the writer lock of the vault at `folder`, or throws {@link VaultLockedError}.
 *
 * @example
 * ```ts
 * const lock = acquireVaultLock(folder)
 * try { ... } finally { lock.release() }
 * ```
 */
export function acquireVaultLock(folder: string): VaultLock {
  const path = join(folder, LOCK_FILE)
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomId(), since: Date.now() }
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, owner)) return lockHandle(path, owner.token)
    const current = readOwner(path)
    if (current === undefined) {
      if (attempt < 4) continue // being written right now (or just removed); look again
    } else if (isStale(current)) {
      removeStaleLock(path, current)
      continue
    }
    throw new VaultLockedError('The vault is open for writing by another process', {
      details: `${folder}: locked by pid ${current?.pid ?? 'unknown'} on ${current?.host ?? 'unknown host'} since ${
        current ? new Date(current.since).toISOString() : 'unknown'
      }`,
      hint: 'Close the other process (or wait for it to finish) and retry. If no Verity process is using the vault, delete its .lock file.',
      docsPath: 'vault-format.md',
      meta: { folder, pid: current?.pid, host: current?.host },
    })
  }
  throw new VaultLockedError('Could not take the vault lock', {
    details: `${folder}: the lock changed hands repeatedly`,
    hint: 'Another process is opening the vault at the same time; retry.',
  })
}

function lockHandle(path: string, token: string): VaultLock {
  let released = false
  const release = () => {
    if (released) return
    released = true
    process.off('exit', release)
    if (readOwner(path)?.token === token) rmSync(path, { force: true })
  }
  process.on('exit', release)
  return { release }
}
