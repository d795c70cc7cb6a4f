import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { randomId } from '../crypto/random.js'
import { StorageError, VaultLockedError } from '../errors.js'

/**
 * The single-writer lock of a vault folder: a file `.lock` created with O_EXCL holding the
 * owner's host and pid. A lock whose owner process is gone (same host, pid not alive, e.g.
 * after `kill -9`) is stale and is taken over at once, so a crashed writer never blocks the
 * next open. (proper-lockfile's mtime-based staleness would need >= 5 s after a crash.)
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
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, owner)) return lockHandle(path, owner.token)
    const current = readOwner(path)
    if (!isStale(current)) {
      if (current === undefined && attempt < 2) continue // being written right now; look again
      throw new VaultLockedError('The vault is open for writing by another process', {
        details: `${folder}: locked by pid ${current?.pid ?? 'unknown'} on ${current?.host ?? 'unknown host'} since ${
          current ? new Date(current.since).toISOString() : 'unknown'
        }`,
        hint: 'Close the other process (or wait for it to finish) and retry. If no Verity process is using the vault, delete its .lock file.',
        docsPath: 'vault-format.md',
        meta: { folder, pid: current?.pid, host: current?.host },
      })
    }
    // Take over a stale lock: move it aside atomically, then check we moved the stale one.
    const aside = `${path}.stale-${randomId()}`
    try {
      renameSync(path, aside)
    } catch {
      continue
    }
    const moved = readOwner(aside)
    if (moved && moved.token !== current?.token) {
      // A live process re-took the lock in between: put its lock back if nobody else holds one now.
      try {
        linkSync(aside, path)
      } catch {}
    }
    rmSync(aside, { force: true })
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
