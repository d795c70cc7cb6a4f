import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StorageError } from '../errors.js'

/**
 * The index's private folder in RAM. LanceDB writes a dataset as files, and the index holds
 * plaintext (text, metadata, vectors), so those files may only live on a memory file system
 * (tmpfs or ramfs): never on persistent disk. Lance also spills temporary files while it
 * builds indices, to `$TMPDIR` (default `/tmp`, persistent on most machines); {@link redirectTemporaryDirectory}
 * points `$TMPDIR` at a private tmpfs folder for the life of the process.
 */

/** `statfs` magic numbers of Linux memory file systems. */
const MEMORY_FILE_SYSTEMS = new Set([
  0x01021994, // TMPFS_MAGIC
  0x858458f6, // RAMFS_MAGIC
])

/** Default parent of the private folders: the POSIX shared-memory tmpfs. */
export const DEFAULT_INDEX_PARENT = '/dev/shm'
const FOLDER_PREFIX = 'verity-index-'

/**
 * True when `path` is on a memory file system (tmpfs or ramfs).
 *
 * @example
 * ```ts
 * isMemoryFileSystem('/dev/shm') // true on Linux
 * ```
 */
export function isMemoryFileSystem(path: string): boolean {
  try {
    return MEMORY_FILE_SYSTEMS.has(Number(statfsSync(path).type))
  } catch {
    return false
  }
}

function assertMemoryFileSystem(path: string): void {
  if (isMemoryFileSystem(path)) return
  throw new StorageError('No memory file system for the search index', {
    details: `${path} is not a tmpfs/ramfs folder (or does not exist); the index holds plaintext and must not be written to persistent disk`,
    hint: 'Pass `directory` pointing at a tmpfs mount (e.g. /dev/shm, or `mount -t tmpfs tmpfs /some/dir`), or use the exact in-memory index.',
    docsPath: 'embedders.md',
    meta: { directory: path },
  })
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes folders left by processes that died without closing their index (`kill -9`). */
function sweepStaleFolders(parent: string): void {
  let names: string[]
  try {
    names = readdirSync(parent)
  } catch {
    return
  }
  const uid = process.getuid?.()
  for (const name of names) {
    const match = /^verity-index-(?:tmp-)?(\d+)-/.exec(name)
    if (!match) continue
    const pid = Number(match[1])
    if (pid === process.pid || processIsAlive(pid)) continue
    const path = join(parent, name)
    try {
      if (uid !== undefined && statSync(path).uid !== uid) continue
      rmSync(path, { recursive: true, force: true })
    } catch {
      // Another process may be sweeping the same folder.
    }
  }
}

const liveFolders = new Set<string>()
let exitHookInstalled = false

function removeLiveFolders(): void {
  for (const folder of liveFolders) rmSync(folder, { recursive: true, force: true })
  liveFolders.clear()
}

/** Signals whose default action ends the process without running `exit` handlers. */
const TERMINATING_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const

function onTerminatingSignal(signal: NodeJS.Signals): void {
  // If the program handles this signal itself, it decides when to stop (and closes its vaults,
  // which removes their folders); only when nobody else listens do we stand in for the default.
  if (process.listenerCount(signal) > 1) return
  removeLiveFolders()
  for (const name of TERMINATING_SIGNALS) process.removeListener(name, onTerminatingSignal)
  process.kill(process.pid, signal) // die of the signal as the default action would
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', removeLiveFolders)
  // The index folder holds plaintext: a SIGTERM/SIGINT/SIGHUP must not leave it in /dev/shm.
  for (const signal of TERMINATING_SIGNALS) process.on(signal, onTerminatingSignal)
}

let redirectedTemporaryDirectory: string | undefined

/**
 * Makes sure Lance's temporary files (spilled while building indices) land on a memory file
 * system: when `$TMPDIR` (or `/tmp`) is on persistent disk, sets `process.env.TMPDIR` to a
 * private 0700 folder under `parent` for the rest of the process. Returns the folder used.
 *
 * @example
 * ```ts
 * redirectTemporaryDirectory('/dev/shm') // '/dev/shm/verity-index-tmp-1234-ab12cd'
 * ```
 */
export function redirectTemporaryDirectory(parent: string): string {
  const current = tmpdir()
  if (redirectedTemporaryDirectory && current === redirectedTemporaryDirectory) return current
  if (isMemoryFileSystem(current)) return current
  const folder = mkdtempSync(join(parent, `${FOLDER_PREFIX}tmp-${process.pid}-`))
  chmodSync(folder, 0o700)
  liveFolders.add(folder)
  installExitHook()
  process.env.TMPDIR = folder
  redirectedTemporaryDirectory = folder
  return folder
}

/** A private folder on a memory file system, removed by `remove()` or at process exit. */
export type PrivateMemoryFolder = { path: string; remove: () => void }

/**
 * Creates a private (mode 0700, random name) folder for one index under a tmpfs `parent`,
 * after removing folders left behind by dead processes. Throws {@link StorageError} when
 * `parent` is not a memory file system.
 *
 * @example
 * ```ts
 * const folder = createPrivateMemoryFolder('/dev/shm')
 * // ... use folder.path ...
 * folder.remove()
 * ```
 */
export function createPrivateMemoryFolder(parent: string = DEFAULT_INDEX_PARENT): PrivateMemoryFolder {
  assertMemoryFileSystem(parent)
  sweepStaleFolders(parent)
  mkdirSync(parent, { recursive: true })
  const path = mkdtempSync(join(parent, `${FOLDER_PREFIX}${process.pid}-`))
  chmodSync(path, 0o700)
  assertMemoryFileSystem(path)
  liveFolders.add(path)
  installExitHook()
  redirectTemporaryDirectory(parent)
  return {
    path,
    remove: () => {
      rmSync(path, { recursive: true, force: true })
      liveFolders.delete(path)
    },
  }
}
