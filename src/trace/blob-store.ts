import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { digest } from '../crypto/digest.js'
import { StorageError } from '../errors.js'
import { fsyncDirectory, writeFileAtomic } from '../storage/atomic-file.js'

/**
 * Content-addressed bodies beside a trace: `<trace dir>/blobs/sha256-<hex>`, each the canonical
 * JSON of one body. Sharing a trace without (some of) its blobs withholds those bodies while their
 * digests stay in the signed entries.
 */

/**
 * The blob folder of a trace file.
 *
 * @example
 * ```ts
 * traceBlobDirectory('/runs/a.trace.jsonl') // '/runs/blobs'
 * ```
 */
export function traceBlobDirectory(tracePath: string): string {
  return join(dirname(tracePath), 'blobs')
}

/**
 * File path of the blob with a `sha256:<hex>` digest.
 *
 * @example
 * ```ts
 * traceBlobPath(dir, 'sha256:ab…') // '<dir>/sha256-ab…'
 * ```
 */
export function traceBlobPath(directory: string, blobDigest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(blobDigest)) throw new TypeError(`traceBlobPath: not a sha256 digest: ${blobDigest}`)
  return join(directory, blobDigest.replace(':', '-'))
}

/**
 * Durably stores bytes under their digest (no-op when already present) and returns the digest.
 *
 * @example
 * ```ts
 * const bodyDigest = writeTraceBlob(dir, canonicalJson(body))
 * ```
 */
export function writeTraceBlob(directory: string, data: string | Uint8Array): string {
  const blobDigest = digest(data)
  const path = traceBlobPath(directory, blobDigest)
  if (existsSync(path)) return blobDigest
  try {
    if (!existsSync(directory)) {
      mkdirSync(directory, { recursive: true, mode: 0o700 })
      fsyncDirectory(dirname(directory))
    }
  } catch (cause) {
    throw new StorageError('Could not create the trace blob folder', { details: directory, cause })
  }
  writeFileAtomic({ path, data, mode: 0o600 })
  return blobDigest
}

/**
 * Reads a blob, or returns `undefined` when it is absent (withheld).
 *
 * @example
 * ```ts
 * const bytes = readTraceBlob(dir, entry.bodyDigest)
 * ```
 */
export function readTraceBlob(directory: string, blobDigest: string): Uint8Array | undefined {
  const path = traceBlobPath(directory, blobDigest)
  try {
    return new Uint8Array(readFileSync(path))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new StorageError('Could not read a trace blob', { details: path, cause: error })
  }
}
