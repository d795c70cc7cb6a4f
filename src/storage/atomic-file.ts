import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomId } from '../crypto/random.js'
import { StorageError } from '../errors.js'

/**
 * Durable file writes: write a temp file beside the target, fsync it, rename it over the
 * target, fsync the directory. After this returns, the new content survives a crash or
 * `kill -9`; before it returns, a reader sees the old content or the new one, never a mix.
 */

export type WriteFileAtomicParameters = {
  path: string
  data: Uint8Array | string
  /** File mode for new files (default 0o600: vault and trace files are private). */
  mode?: number | undefined
}

/**
 * Atomically and durably replaces `path` with `data`.
 *
 * @example
 * ```ts
 * writeFileAtomic({ path: join(dir, 'manifest.json'), data: JSON.stringify(manifest) })
 * ```
 */
export function writeFileAtomic(parameters: WriteFileAtomicParameters): void {
  const { path, data, mode = 0o600 } = parameters
  const temporary = join(dirname(path), `.${basename(path)}.${randomId()}.tmp`)
  try {
    const fd = openSync(temporary, 'wx', mode)
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
      let offset = 0
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temporary, path)
    fsyncDirectory(dirname(path))
  } catch (cause) {
    throw new StorageError('Could not write file durably', {
      details: `${path}: ${(cause as Error).message}`,
      hint: 'Check free disk space and permissions.',
      cause,
    })
  }
}

/**
 * fsyncs a directory so that a rename or a new file in it is durable.
 *
 * @example
 * ```ts
 * fsyncDirectory(vaultDir)
 * ```
 */
export function fsyncDirectory(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
