import cliProgress from 'cli-progress'

/** A progress reporter: long operations call it; the CLI draws a bar on stderr. */
export type ProgressReporter = (event: { phase: string; done: number; total: number }) => void

export type CreateProgressBarParameters = {
  /** Disable drawing (with `--json`, or when stderr is not a terminal). */
  enabled?: boolean | undefined
}
export type CreateProgressBarReturnType = { report: ProgressReporter; stop: () => void }

/**
 * A progress bar on stderr that follows {@link ProgressReporter} events; one bar per phase.
 * Draws nothing with `--json` or when stderr is not a TTY, so machine output stays clean.
 *
 * @example
 * ```ts
 * const progress = createProgressBar({ enabled: !options.json })
 * await openVault({ ..., onProgress: progress.report })
 * progress.stop()
 * ```
 */
export function createProgressBar(parameters: CreateProgressBarParameters = {}): CreateProgressBarReturnType {
  const enabled = (parameters.enabled ?? true) && Boolean(process.stderr.isTTY)
  let bar: cliProgress.SingleBar | undefined
  let phase: string | undefined
  return {
    report(event) {
      if (!enabled) return
      if (phase !== event.phase) {
        bar?.stop()
        phase = event.phase
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${event.phase.padEnd(12)} [{bar}] {percentage}% {value}/{total}`, hideCursor: true },
          cliProgress.Presets.shades_classic,
        )
        bar.start(event.total, event.done)
      } else bar?.update(event.done)
    },
    stop() {
      bar?.stop()
      bar = undefined
      phase = undefined
    },
  }
}
