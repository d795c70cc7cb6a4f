import { closeSync, fsyncSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { randomId } from '../crypto/random.js'
import { StorageError } from '../errors.js'

/**
 * A single-writer lock file: created with O_EXCL, holding the owner's host, pid and a random token.
 * A lock whose owner process is gone (same host, pid not alive, e.g. after `kill -9`) is stale and
 * is taken over at once, so a crashed writer never blocks the next open (proper-lockfile's
 * mtime-based staleness would need >= 5 s after a crash). Takeovers are serialised by a second
 * O_EXCL file (`<lock>.takeover`), so two processes that both find the same stale lock can never
 * remove a lock a third process has just taken. Used by the vault and the trace.
 */

/** Who holds a lock. */
export type LockHolder = { pid: number; host: string; token: string; since: number }

/** A held lock. `release()` is idempotent and also runs at process exit. */
export type PidLock = { path: string; release(): void }

export type AcquirePidLockParameters = {
  /** The lock file's path. */
  path: string
  /** What is being locked, for I/O errors (e.g. `vault`, `trace`). */
  what: string
  /** The error to throw when a live process holds the lock. */
  locked: (holder: LockHolder | undefined) => Error
  /** The error to throw when the lock keeps changing hands. */
  contended: () => Error
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>
    if (typeof value.pid === 'number' && typeof value.host === 'string') return value as LockHolder
  } catch {
    // being written right now, or garbage
  }
  return undefined
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function isStale(holder: LockHolder | undefined): boolean {
  return holder !== undefined && holder.host === hostname() && holder.pid !== process.pid && !isAlive(holder.pid)
}

function newHolder(): LockHolder {
  return { pid: process.pid, host: hostname(), token: randomId(), since: Date.now() }
}

function tryCreate(path: string, holder: LockHolder, what: string): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new StorageError(`Could not create the ${what} lock`, { details: `${path}: ${(error as Error).message}`, cause: error })
  }
  try {
    writeSync(fd, JSON.stringify(holder))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return true
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/**
 * Removes the lock at `path` if it is still the stale one described by `stale`. Only the holder
 * of `path + '.takeover'` removes a stale lock, and it re-reads the lock under that guard, so a
 * live owner's lock is never removed.
 */
function removeStaleLock(path: string, stale: LockHolder, what: string): void {
  const takeover = `${path}.takeover`
  if (!tryCreate(takeover, newHolder(), what)) {
    // Another process is taking over right now; if it died in the middle, clear its guard.
    const holder = readHolder(takeover)
    if (isStale(holder) || (holder === undefined && ageMs(takeover) > 10_000)) rmSync(takeover, { force: true })
    return
  }
  try {
    if (readHolder(path)?.token === stale.token) rmSync(path, { force: true })
  } finally {
    rmSync(takeover, { force: true })
  }
}

/**
 * Takes the lock at `path`, taking over a stale one, or throws `parameters.locked(holder)`.
 *
 * @example
 * ```ts
 * const lock = acquirePidLock({ path: `${file}.lock`, what: 'trace', locked: () => new TraceLockedError('...'), contended: () => ... })
 * try { ... } finally { lock.release() }
 * ```
 */
export function acquirePidLock(parameters: AcquirePidLockParameters): PidLock {
  const { path, what } = parameters
  const holder = newHolder()
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, holder, what)) return lockHandle(path, holder.token)
    const current = readHolder(path)
    if (current === undefined) {
      if (attempt < 4) continue // being written right now (or just removed); look again
    } else if (isStale(current)) {
      removeStaleLock(path, current, what)
      continue
    }
    throw parameters.locked(current)
  }
  throw parameters.contended()
}

function lockHandle(path: string, token: string): PidLock {
  let released = false
  const release = () => {
    if (released) return
    released = true
    process.off('exit', release)
    if (readHolder(path)?.token === token) rmSync(path, { force: true })
  }
  process.on('exit', release)
  return { path, release }
}
