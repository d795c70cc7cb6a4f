import { join } from 'node:path'
import { VaultLockedError } from '../errors.js'
import { acquirePidLock, type PidLock } from '../storage/pid-lock.js'

/**
 * The single-writer lock of a vault folder: the file `.lock` inside it, managed by
 * `src/storage/pid-lock.ts` (O_EXCL creation, immediate takeover of a lock whose process died,
 * takeovers serialised by `.lock.takeover`).
 */

/** Name of the lock file inside a vault folder. */
export const LOCK_FILE = '.lock'

export type VaultLock = PidLock

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
  return acquirePidLock({
    path: join(folder, LOCK_FILE),
    what: 'vault',
    locked: (holder) =>
      new VaultLockedError('The vault is open for writing by another process', {
        details: `${folder}: locked by pid ${holder?.pid ?? 'unknown'} on ${holder?.host ?? 'unknown host'} since ${
          holder?.since ? new Date(holder.since).toISOString() : 'unknown'
        }`,
        hint: 'Close the other process (or wait for it to finish) and retry. If no Verity process is using the vault, delete its .lock file.',
        docsPath: 'vault-format.md',
        meta: { folder, pid: holder?.pid, host: holder?.host },
      }),
    contended: () =>
      new VaultLockedError('Could not take the vault lock', {
        details: `${folder}: the lock changed hands repeatedly`,
        hint: 'Another process is opening the vault at the same time; retry.',
      }),
  })
}
