import type { FileHandle } from 'node:fs/promises'

/**
 * Positioned reads and writes of whole byte ranges: `read`/`write` may move fewer bytes than asked,
 * these loop until the range is done (a read stops early only at the end of the file).
 */

/**
 * Reads `length` bytes at `position` into a new buffer (shorter only if the file ends first).
 *
 * @example
 * ```ts
 * const block = await readRange(handle, offset, length)
 * ```
 */
export async function readRange(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = Buffer.allocUnsafe(length)
  let read = 0
  while (read < length) {
    const { bytesRead } = await handle.read(bytes, read, length - read, position + read)
    if (bytesRead === 0) break
    read += bytesRead
  }
  return read === length ? bytes : bytes.subarray(0, read)
}

/**
 * Writes all of `bytes` at `position`.
 *
 * @example
 * ```ts
 * await writeRange(handle, chunk, offset)
 * ```
 */
export async function writeRange(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let written = 0; written < bytes.length; )
    written += (await handle.write(bytes, written, bytes.length - written, position + written)).bytesWritten
}
