import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { StorageError, TraceLockedError } from '../errors.js'

/**
 * The single-writer lock of a trace: `<trace>.lock` created exclusively, holding the writer's
 * pid and host. A lock left by a process that died (`kill -9`) is taken over when its pid is gone
 * on this host, so a crashed agent can resume its trace at once.
 */

export type TraceLock = { path: string; release: () => void }

/**
 * Takes the writer lock of a trace file, or throws {@link TraceLockedError}.
 *
 * @example
 * ```ts
 * const lock = acquireTraceLock('run.trace.jsonl')
 * try { ... } finally { lock.release() }
 * ```
 */
export function acquireTraceLock(tracePath: string): TraceLock {
  const path = `${tracePath}.lock`
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }))
      closeSync(fd)
      let released = false
      return {
        path,
        release() {
          if (released) return
          released = true
          try {
            unlinkSync(path)
          } catch {
            // already gone
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new StorageError('Could not create the trace lock', {
          details: `${path}: ${(error as Error).message}`,
          cause: error,
        })
    }
    const holder = readHolder(path)
    if (holder && holder.host === hostname() && !isAlive(holder.pid)) {
      try {
        unlinkSync(path)
      } catch {
        // another process took it over first
      }
      continue
    }
    throw new TraceLockedError('Trace is locked by another writer', {
      details: `${path} is held by ${holder ? `pid ${holder.pid} on ${holder.host}` : 'an unknown process'}`,
      hint: 'Only one process may append to a trace. Stop the other writer, or delete the .lock file if you are sure it is stale.',
      meta: { lockPath: path, ...(holder ? { pid: holder.pid, host: holder.host } : {}) },
    })
  }
  throw new TraceLockedError('Trace lock is contended', { details: path, hint: 'Retry.' })
}

function readHolder(path: string): { pid: number; host: string } | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; host?: unknown }
    if (typeof value.pid === 'number' && typeof value.host === 'string') return { pid: value.pid, host: value.host }
  } catch {
    // a lock being written or garbage
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
