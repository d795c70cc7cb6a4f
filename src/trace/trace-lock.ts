import { TraceLockedError } from '../errors.js'
import { acquirePidLock, type PidLock } from '../storage/pid-lock.js'

/**
 * The single-writer lock of a trace: `<trace>.lock`, managed by `src/storage/pid-lock.ts`
 * (O_EXCL creation, immediate takeover of a lock whose process died so a crashed agent can resume
 * its trace at once, takeovers serialised by `<trace>.lock.takeover`).
 */

export type TraceLock = PidLock

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
  return acquirePidLock({
    path,
    what: 'trace',
    locked: (holder) =>
      new TraceLockedError('Trace is locked by another writer', {
        details: `${path} is held by ${holder ? `pid ${holder.pid} on ${holder.host}` : 'an unknown process'}`,
        hint: 'Only one process may append to a trace. Stop the other writer, or delete the .lock file if you are sure it is stale.',
        meta: { lockPath: path, ...(holder ? { pid: holder.pid, host: holder.host } : {}) },
      }),
    contended: () => new TraceLockedError('Trace lock is contended', { details: path, hint: 'Retry.' }),
  })
}
