import { createHash } from 'node:crypto'
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomId } from '../crypto/random.js'
import { IntegrityError, NotFoundError, StorageError } from '../errors.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { COMMIT_FILE, type CommitDocument, decodeCommit, SEGMENTS_FOLDER, type SegmentEntry } from './vault-format.js'

/**
 * Where a vault's files live and how they are read and written. Every write goes through
 * `writeFileAtomic`; the commit file is written last (the commit point).
 */

/**
 * Path of a segment file: `segments/<sha-256 hex of the file>`.
 *
 * @example
 * ```ts
 * segmentPath(folder, entry.digest)
 * ```
 */
export function segmentPath(folder: string, digest: string): string {
  return join(folder, SEGMENTS_FOLDER, digest.slice('sha256:'.length))
}

/**
 * Reads and parses the commit file (no MAC check). Throws {@link NotFoundError} when the
 * folder is not a vault.
 *
 * @example
 * ```ts
 * const document = readCommit(folder)
 * ```
 */
export function readCommit(folder: string): CommitDocument {
  const path = join(folder, COMMIT_FILE)
  let bytes: Uint8Array
  try {
    bytes = readFileSync(path)
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError('No vault here', {
        details: `${path} does not exist`,
        hint: 'Create one with `verity vault create DIR --guard passphrase`, or check the path.',
        docsPath: 'vault-format.md',
        cause,
      })
    throw new StorageError('Could not read the vault', { details: `${path}: ${(cause as Error).message}`, cause })
  }
  return decodeCommit(bytes, path)
}

/**
 * Reads a segment file's bytes; a missing file is an {@link IntegrityError} (the manifest names it).
 *
 * @example
 * ```ts
 * const bytes = readSegmentBytes(folder, entry)
 * ```
 */
export function readSegmentBytes(folder: string, entry: Pick<SegmentEntry, 'digest' | 'id'>): Uint8Array {
  const path = segmentPath(folder, entry.digest)
  try {
    return readFileSync(path)
  } catch (cause) {
    throw segmentReadError(path, entry, cause)
  }
}

/** A missing segment file is tampering ({@link IntegrityError}, `meta.missing`); any other read failure a {@link StorageError}. */
function segmentReadError(path: string, entry: Pick<SegmentEntry, 'id'>, cause: unknown): IntegrityError | StorageError {
  if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
    return new IntegrityError('A segment listed in the manifest is missing', {
      details: `${path} (segment ${entry.id})`,
      hint: 'Files were removed from the vault folder; restore it from an export or backup.',
      docsPath: 'vault-format.md',
      meta: { missing: path },
      cause,
    })
  return new StorageError('Could not read a segment', { details: `${path}: ${(cause as Error).message}`, cause })
}

/**
 * Size and `sha256:` digest of a segment file, read through one small reused buffer (checking a
 * large vault's segments this way allocates no file-sized buffers). A missing file is an
 * {@link IntegrityError}, as in {@link readSegmentBytes}.
 *
 * @example
 * ```ts
 * const { size, digest } = hashSegmentFile(folder, entry)
 * ```
 */
export function hashSegmentFile(folder: string, entry: Pick<SegmentEntry, 'digest' | 'id'>): { size: number; digest: string } {
  const path = segmentPath(folder, entry.digest)
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (cause) {
    throw segmentReadError(path, entry, cause)
  }
  try {
    const hash = createHash('sha256')
    const buffer = hashBuffer()
    const size = fstatSync(fd).size
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) hash.update(buffer.subarray(0, read))
    return { size, digest: `sha256:${hash.digest('hex')}` }
  } finally {
    closeSync(fd)
  }
}

let sharedHashBuffer: Buffer | undefined
function hashBuffer(): Buffer {
  sharedHashBuffer ??= Buffer.allocUnsafe(1 << 20)
  return sharedHashBuffer
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
 * The asynchronous twin of `writeFileAtomic` (`src/storage/atomic-file.ts`): temp file, fsync,
 * rename, fsync directory, with the waits on the libuv thread pool so the event loop (and the
 * search index's own writes) keep running meanwhile. Same guarantee: after it resolves the new
 * content survives a crash; before, a reader sees the old content or the new one.
 *
 * @example
 * ```ts
 * await writeFileDurably(join(folder, 'vault.json'), bytes)
 * ```
 */
export async function writeFileDurably(path: string, data: Uint8Array | string | readonly Uint8Array[]): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomId()}.tmp`)
  try {
    const file = await open(temporary, 'wx', 0o600)
    try {
      // One write call per attempt: `FileHandle.writeFile` cuts the data into 512 KiB writes, each
      // needing a turn of the event loop to issue the next, so a busy loop (index work, GC) would
      // stall a 15 MB segment write for its whole duration.
      if (Array.isArray(data)) await writePieces(file, data)
      else {
        const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as Uint8Array)
        for (let written = 0; written < bytes.length; )
          written += (await file.write(bytes, written, bytes.length - written)).bytesWritten
      }
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
    throw new StorageError('Could not write file durably', {
      details: `${path}: ${(cause as Error).message}`,
      hint: 'Check free disk space and permissions.',
      cause,
    })
  }
}

/**
 * Writes a sealed segment durably under its content address (asynchronously, see {@link writeFileDurably}).
 *
 * @example
 * ```ts
 * await writeSegmentBytesDurably(folder, digest, bytes)
 * ```
 */
export async function writeSegmentBytesDurably(
  folder: string,
  digest: string,
  bytes: Uint8Array | readonly Uint8Array[],
): Promise<void> {
  const folderPath = join(folder, SEGMENTS_FOLDER)
  if (!existsSync(folderPath)) mkdirSync(folderPath, { recursive: true, mode: 0o700 })
  await writeFileDurably(segmentPath(folder, digest), bytes)
}

/**
 * Writes a sealed segment durably under its content address.
 *
 * @example
 * ```ts
 * writeSegmentBytes(folder, digest, bytes)
 * ```
 */
export function writeSegmentBytes(folder: string, digest: string, bytes: Uint8Array): void {
  const folderPath = join(folder, SEGMENTS_FOLDER)
  if (!existsSync(folderPath)) mkdirSync(folderPath, { recursive: true, mode: 0o700 })
  writeFileAtomic({ path: segmentPath(folder, digest), data: bytes })
}

/**
 * Deletes temp files of interrupted writes and segment files the manifest does not reference
 * (written before a crash, or superseded by a compaction). Only the lock holder calls it.
 *
 * @example
 * ```ts
 * const removed = removeUnreferencedFiles(folder, new Set(manifest.segments.map((s) => s.digest)))
 * ```
 */
export function removeUnreferencedFiles(folder: string, referencedDigests: ReadonlySet<string>): string[] {
  const removed: string[] = []
  for (const name of readdirSync(folder))
    if (name.startsWith(`.${COMMIT_FILE}.`) && name.endsWith('.tmp')) {
      rmSync(join(folder, name), { force: true })
      removed.push(name)
    }
  const segments = join(folder, SEGMENTS_FOLDER)
  if (!existsSync(segments)) return removed
  for (const name of readdirSync(segments)) {
    if (referencedDigests.has(`sha256:${name}`)) continue
    if (!/^[0-9a-f]{64}$/.test(name) && !(name.startsWith('.') && name.endsWith('.tmp'))) continue
    rmSync(join(segments, name), { force: true })
    removed.push(join(SEGMENTS_FOLDER, name))
  }
  return removed
}
