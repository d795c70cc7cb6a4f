import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomId } from '../crypto/random.js'
import { StorageError } from '../errors.js'
import { writeRange } from './file-range.js'

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

/** The temp file a write goes through: beside the target (same file system, so the rename is atomic). */
function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomId()}.tmp`)
}

function writeError(path: string, cause: unknown): StorageError {
  return new StorageError('Could not write file durably', {
    details: `${path}: ${(cause as Error).message}`,
    hint: 'Check free disk space and permissions.',
    cause,
  })
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
  const temporary = temporaryPathFor(path)
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
    throw writeError(path, cause)
  }
}

export type WriteFileAtomicAsyncParameters = {
  path: string
  /** The content, or its pieces in order (written with `writev`, never joined). */
  data: Uint8Array | string | readonly Uint8Array[]
  /** File mode for new files (default 0o600). */
  mode?: number | undefined
}

/** Writes `pieces` in order with as few `writev` calls as the kernel allows (it may write less than asked). */
async function writePieces(file: FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  let remaining = pieces.filter((piece) => piece.length > 0)
  while (remaining.length) {
    // Linux caps one writev at IOV_MAX (1024) buffers.
    const batch = remaining.slice(0, 1024)
    let { bytesWritten } = await file.writev(batch)
    const rest: Uint8Array[] = []
    for (const piece of batch) {
      if (bytesWritten >= piece.length) bytesWritten -= piece.length
      else {
        rest.push(piece.subarray(bytesWritten))
        bytesWritten = 0
      }
    }
    remaining = [...rest, ...remaining.slice(batch.length)]
  }
}

/**
 * {@link writeFileAtomic} with the waits on the libuv thread pool, so the event loop keeps
 * running meanwhile (the vault builds its search index while its segment is fsynced). Same
 * guarantee: after it resolves the new content survives a crash; before, a reader sees the old
 * content or the new one. The data goes out in one `write` (or `writev` of pieces): Node's
 * `FileHandle.writeFile` cuts it into 512 KiB writes, each waiting for a turn of a busy event loop.
 *
 * @example
 * ```ts
 * await writeFileAtomicAsync({ path: join(folder, 'vault.json'), data: bytes })
 * ```
 */
export async function writeFileAtomicAsync(parameters: WriteFileAtomicAsyncParameters): Promise<void> {
  const { path, data, mode = 0o600 } = parameters
  const temporary = temporaryPathFor(path)
  try {
    const file = await open(temporary, 'wx', mode)
    try {
      if (Array.isArray(data)) await writePieces(file, data)
      else await writeRange(file, typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as Uint8Array), 0)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temporary, path)
    const directory = await open(dirname(path), 'r')
    try {
      await directory.sync()
    } finally {
      await directory.close()
    }
  } catch (cause) {
    await rm(temporary, { force: true }).catch(() => undefined)
    throw writeError(path, cause)
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
