import { createHash } from 'node:crypto'
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { IntegrityError, InvalidInputError, NotFoundError, StorageError } from '../errors.js'
import { writeFileAtomicAsync } from '../storage/atomic-file.js'
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

/** Largest commit file read (a manifest of millions of segments is far below it). */
const MAX_COMMIT_BYTES = 256 * 1024 * 1024

/**
 * Reads a file that must be a regular file of at most `maxBytes` bytes: a FIFO, a device
 * (`/dev/zero`) or a directory put in a vault's place is refused at once instead of read forever,
 * and never more than `maxBytes + 1` bytes are read. Errors are the raw `fs` errors, or an
 * {@link IntegrityError} (`meta.reason: 'not-a-file' | 'too-large'`).
 *
 * @example
 * ```ts
 * const bytes = readRegularFile(path, entry.bytes)
 * ```
 */
export function readRegularFile(path: string, maxBytes: number): Uint8Array {
  const fd = openSync(path, 'r')
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile())
      throw new IntegrityError('A vault file is not a regular file', {
        details: `${path} is a ${stat.isDirectory() ? 'directory' : stat.isFIFO() ? 'FIFO' : stat.isCharacterDevice() ? 'character device' : 'special file'}`,
        hint: 'Vault files are regular files; someone replaced this one. Restore the vault from an export or backup.',
        docsPath: 'vault-format.md',
        meta: { reason: 'not-a-file' },
      })
    if (stat.size > maxBytes)
      throw new IntegrityError('A vault file is larger than its manifest allows', {
        details: `${path}: ${stat.size} bytes, at most ${maxBytes} expected`,
        hint: 'The file was extended or replaced; restore the vault from an export or backup.',
        docsPath: 'vault-format.md',
        meta: { reason: 'too-large' },
      })
    const buffer = Buffer.allocUnsafe(stat.size)
    let length = 0
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null)
      if (read === 0) break
      length += read
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length)
  } finally {
    closeSync(fd)
  }
}

/**
 * Creates a vault folder (mode 0700) and its missing parents one level at a time. (Node's
 * recursive `mkdir` spins forever under `/proc`; this fails at once with a typed error.)
 *
 * @example
 * ```ts
 * makeFolder(join(folder, 'segments'))
 * ```
 */
export function makeFolder(path: string): void {
  const missing: string[] = []
  let current = path
  for (;;) {
    let stat: ReturnType<typeof statSync> | undefined
    try {
      stat = statSync(current)
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new StorageError('Cannot create the vault folder', { details: `${current}: ${(cause as Error).message}`, cause })
    }
    if (stat) {
      if (!stat.isDirectory())
        throw new InvalidInputError('Cannot create the vault folder', { details: `${current} exists and is not a folder` })
      break
    }
    missing.unshift(current)
    const parent = dirname(current)
    if (parent === current) break
    current = parent
  }
  for (const folder of missing)
    try {
      mkdirSync(folder, { mode: 0o700 })
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw new StorageError('Cannot create the vault folder', {
        details: `${folder}: ${(cause as Error).message}`,
        hint: 'Choose a folder on a writable file system.',
        cause,
      })
    }
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
    bytes = readRegularFile(path, MAX_COMMIT_BYTES)
  } catch (cause) {
    if (cause instanceof IntegrityError) throw cause
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
export function readSegmentBytes(folder: string, entry: Pick<SegmentEntry, 'digest' | 'id' | 'bytes'>): Uint8Array {
  const path = segmentPath(folder, entry.digest)
  try {
    return readRegularFile(path, entry.bytes)
  } catch (cause) {
    if (cause instanceof IntegrityError) throw cause
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
export function hashSegmentFile(
  folder: string,
  entry: Pick<SegmentEntry, 'digest' | 'id'> & { bytes?: number | undefined },
): { size: number; digest: string } {
  const path = segmentPath(folder, entry.digest)
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (cause) {
    throw segmentReadError(path, entry, cause)
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile())
      throw new IntegrityError('A vault file is not a regular file', {
        details: `${path} (segment ${entry.id})`,
        hint: 'Vault files are regular files; someone replaced this one. Restore the vault from an export or backup.',
        docsPath: 'vault-format.md',
        meta: { reason: 'not-a-file' },
      })
    const hash = createHash('sha256')
    const buffer = hashBuffer()
    const size = stat.size
    // A file of another size than the manifest says fails its check anyway: do not read it.
    if (entry.bytes !== undefined && size !== entry.bytes) return { size, digest: 'sha256:' }
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

/**
 * Writes a sealed segment (its bytes, or their pieces in order) durably under its content address.
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
  if (!existsSync(folderPath)) makeFolder(folderPath)
  await writeFileAtomicAsync({ path: segmentPath(folder, digest), data: bytes })
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
