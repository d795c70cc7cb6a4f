/**
 * A bound on asynchronous work kept running while the caller produces more (block writes while the
 * next blocks are hashed, block checks while the next ones are read): `add` waits while `limit`
 * tasks run, and reports the first task that failed, at the next `add` or at `settle`.
 */

export type WorkInFlight = {
  /** Starts tracking `task`; resolves once fewer than `limit` run. Throws the first failure so far. */
  add(task: Promise<unknown>): Promise<void>
  /** Waits for every task; throws the first failure. */
  settle(): Promise<void>
  /** Waits for every task, ignoring failures (clean-up after an error). */
  drain(): Promise<void>
}

/**
 * Creates a bound of `limit` tasks in flight.
 *
 * @example
 * ```ts
 * const writes = workInFlight(4)
 * for (const chunk of chunks) await writes.add(writeRange(file, chunk, position))
 * await writes.settle()
 * ```
 */
export function workInFlight(limit: number): WorkInFlight {
  const running = new Set<Promise<void>>()
  let failure: { cause: unknown } | undefined
  const check = (): void => {
    if (failure) throw failure.cause
  }
  return {
    async add(task) {
      const tracked: Promise<void> = task
        .then(
          () => undefined,
          (cause: unknown) => {
            failure ??= { cause }
          },
        )
        .finally(() => running.delete(tracked))
      running.add(tracked)
      while (running.size >= limit && !failure) await Promise.race(running)
      check()
    },
    async settle() {
      await Promise.all(running)
      check()
    },
    async drain() {
      await Promise.all(running)
    },
  }
}
