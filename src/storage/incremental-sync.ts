import type { FileHandle } from 'node:fs/promises'

/**
 * Makes a large file durable in steps while it is being written: after every `every` bytes, an
 * `fdatasync` starts in the background, so the disk writes back the first megabytes while the
 * caller still produces the rest, and the final `fsync` only has the tail left. A failed step
 * fails `finish` (after a failed fsync the kernel may drop the dirty pages and report success on
 * the next one, so the first failure is the one that counts).
 */

export type IncrementalSync = {
  /** Counts bytes the caller has written (and whose write completed). */
  wrote(bytes: number): void
  /** Waits for the step under way, then fsyncs the file: durable when it resolves. */
  finish(): Promise<void>
}

/** Default step: 16 MiB. */
const DEFAULT_STEP_BYTES = 16 * 1024 * 1024

/**
 * Starts incremental syncing of an open file.
 *
 * @example
 * ```ts
 * const durable = incrementalSync(handle)
 * await handle.write(chunk, 0, chunk.length, position); durable.wrote(chunk.length)
 * await durable.finish()
 * ```
 */
export function incrementalSync(handle: FileHandle, every = DEFAULT_STEP_BYTES): IncrementalSync {
  let pending = 0
  let step: Promise<void> | undefined
  let failure: { cause: unknown } | undefined
  return {
    wrote(bytes) {
      pending += bytes
      if (pending < every || step) return
      pending = 0
      step = handle
        .datasync()
        .catch((cause) => {
          failure ??= { cause }
        })
        .finally(() => {
          step = undefined
        })
    },
    async finish() {
      await step
      if (failure) throw failure.cause
      await handle.sync()
    },
  }
}
