import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { IntegrityError } from '../errors.js'
import type { IndexSnapshot, IndexSnapshotReader } from './vector-index.js'

/**
 * Restoring index snapshots into a folder. The snapshot plaintext (`u64 sequence, u32 file count`,
 * then per file `u32 path length, path, u64 size, bytes`; see `docs/vault-format.md`) is decoded
 * while it is decrypted, chunk by chunk, and each file's bytes go straight into its file: a
 * snapshot of hundreds of megabytes is never held whole in memory.
 */

/** Longest path a snapshot may name (bytes); LanceDB's paths are far shorter. */
const MAX_PATH_BYTES = 4096

/**
 * `relative` (a snapshot file path: `/`-separated, no `.`/`..`/empty parts, not absolute) joined
 * under `root`, or an {@link IntegrityError}: a snapshot can never write outside its folder.
 *
 * @example
 * ```ts
 * snapshotFilePath('/dev/shm/verity-index-1-ab/memories.lance', 'data/0.lance')
 * ```
 */
export function snapshotFilePath(root: string, relative: string): string {
  const parts = relative.split('/')
  if (
    relative.length === 0 ||
    relative.startsWith('/') ||
    relative.includes('\\') ||
    relative.includes('\0') ||
    parts.some((part) => part === '' || part === '.' || part === '..')
  )
    throw new IntegrityError('Index snapshot has an unsafe file path', {
      details: `snapshot file ${JSON.stringify(relative)} is not a plain relative path`,
      hint: 'The snapshot was altered or written by something else; delete it and let the vault rebuild its index.',
      meta: { path: relative },
    })
  return join(root, ...parts)
}

/** Pulls bytes out of a sequence of plaintext chunks. */
class ChunkCursor {
  private chunk: Uint8Array = new Uint8Array(0)
  private offset = 0
  constructor(
    private readonly chunks: Iterator<Uint8Array>,
    private readonly where: string,
  ) {}

  /** False once every chunk is consumed (which also lets the source check it was complete). */
  private fill(): boolean {
    while (this.offset === this.chunk.length) {
      const next = this.chunks.next()
      if (next.done) return false
      this.chunk = next.value
      this.offset = 0
    }
    return true
  }

  private short(count: number): IntegrityError {
    return new IntegrityError('Index snapshot plaintext is malformed', {
      details: `${this.where}: ends while ${count} more bytes were expected`,
      docsPath: 'vault-format.md',
    })
  }

  /** The next `count` bytes (a view when they lie in one chunk, else a copy). */
  take(count: number): Uint8Array {
    if (!this.fill()) {
      if (count === 0) return new Uint8Array(0)
      throw this.short(count)
    }
    if (this.chunk.length - this.offset >= count) {
      const out = this.chunk.subarray(this.offset, this.offset + count)
      this.offset += count
      return out
    }
    const out = new Uint8Array(count)
    let filled = 0
    while (filled < count) {
      if (!this.fill()) throw this.short(count - filled)
      const piece = this.chunk.subarray(this.offset, this.offset + Math.min(count - filled, this.chunk.length - this.offset))
      out.set(piece, filled)
      filled += piece.length
      this.offset += piece.length
    }
    return out
  }

  /** Hands the next `count` bytes to `sink` piece by piece (no copies). */
  pipe(count: number, sink: (bytes: Uint8Array) => void): void {
    let left = count
    while (left > 0) {
      if (!this.fill()) throw this.short(left)
      const piece = this.chunk.subarray(this.offset, this.offset + Math.min(left, this.chunk.length - this.offset))
      sink(piece)
      left -= piece.length
      this.offset += piece.length
    }
  }

  atEnd(): boolean {
    return !this.fill()
  }
}

function numberAt(bytes: Uint8Array, size: 4 | 8): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return size === 4 ? view.getUint32(0, false) : Number(view.getBigUint64(0, false))
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written)
}

/** Creates a file (mode 0600, parent folders 0700) and lets `fill` write into it. */
function writeFile(root: string, relative: string, created: Set<string>, fill: (fd: number) => void): void {
  const target = snapshotFilePath(root, relative)
  const parent = dirname(target)
  if (!created.has(parent)) {
    mkdirSync(parent, { recursive: true, mode: 0o700 })
    created.add(parent)
  }
  const fd = openSync(target, 'wx', 0o600)
  try {
    fill(fd)
  } finally {
    closeSync(fd)
  }
}

export type WriteSnapshotStreamParameters = {
  /** The snapshot plaintext, in order, in pieces of any size (e.g. decrypted STREAM chunks). */
  chunks: Iterable<Uint8Array>
  /** Folder the files are written under (created if missing). */
  directory: string
  /** The sequence the manifest says the snapshot reflects; the plaintext must say the same. */
  sequence: number
  /** Named in errors (e.g. the segment file). */
  where: string
}
/** Relative paths of the files written. */
export type WriteSnapshotStreamReturnType = string[]

/**
 * Decodes snapshot plaintext as it arrives and writes its files under `directory`. Throws a
 * typed error on an unsafe path, a sequence that differs from the manifest's, a short or
 * over-long plaintext, or a duplicate path; the caller removes the folder then.
 *
 * @example
 * ```ts
 * writeSnapshotStream({ chunks: openSegmentChunks(segment), directory, sequence: entry.sequence, where })
 * ```
 */
export function writeSnapshotStream(parameters: WriteSnapshotStreamParameters): WriteSnapshotStreamReturnType {
  const { directory, where } = parameters
  const cursor = new ChunkCursor(parameters.chunks[Symbol.iterator](), where)
  const sequence = numberAt(cursor.take(8), 8)
  if (sequence !== parameters.sequence)
    throw new IntegrityError('Index snapshot reflects another state than the manifest says', {
      details: `${where}: the snapshot says sequence ${sequence}, the manifest ${parameters.sequence}`,
      docsPath: 'vault-format.md',
    })
  const count = numberAt(cursor.take(4), 4)
  const created = new Set<string>()
  const paths: string[] = []
  mkdirSync(directory, { recursive: true, mode: 0o700 })
  for (let index = 0; index < count; index++) {
    const pathLength = numberAt(cursor.take(4), 4)
    if (pathLength > MAX_PATH_BYTES)
      throw new IntegrityError('Index snapshot plaintext is malformed', {
        details: `${where}: file ${index} has a ${pathLength}-byte path (at most ${MAX_PATH_BYTES})`,
        docsPath: 'vault-format.md',
      })
    const path = Buffer.from(cursor.take(pathLength)).toString('utf8')
    const size = numberAt(cursor.take(8), 8)
    try {
      writeFile(directory, path, created, (fd) => cursor.pipe(size, (bytes) => writeAll(fd, bytes)))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new IntegrityError('Index snapshot names a file twice', {
          details: `${where}: ${JSON.stringify(path)}`,
          docsPath: 'vault-format.md',
        })
      throw error
    }
    paths.push(path)
  }
  if (!cursor.atEnd())
    throw new IntegrityError('Index snapshot plaintext has trailing bytes', { details: where, docsPath: 'vault-format.md' })
  return paths
}

/**
 * A reader over a snapshot already in memory (as {@link VectorIndex.snapshot} returns it), for
 * indices opened directly rather than by a vault; a reader passes through unchanged.
 *
 * @example
 * ```ts
 * const reader = snapshotReader(await index.snapshot(7))
 * reader.writeFiles('/dev/shm/verity-index-1-ab/memories.lance')
 * ```
 */
export function snapshotReader(snapshot: IndexSnapshot | IndexSnapshotReader): IndexSnapshotReader {
  if (!('files' in snapshot)) return snapshot
  return {
    sequence: snapshot.sequence,
    readFiles: () => new Map(snapshot.files),
    writeFiles: (directory) => {
      mkdirSync(directory, { recursive: true, mode: 0o700 })
      const created = new Set<string>()
      for (const [relative, bytes] of snapshot.files) writeFile(directory, relative, created, (fd) => writeAll(fd, bytes))
      return [...snapshot.files.keys()]
    },
  }
}
