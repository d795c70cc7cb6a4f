import { createHash } from 'node:crypto'
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { IntegrityError, NotFoundError, StorageError } from '../errors.js'
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
  if (!existsSync(folderPath)) mkdirSync(folderPath, { recursive: true, mode: 0o700 })
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
