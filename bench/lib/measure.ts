import { cpus, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'

/** One measured quantity, optionally with the baseline measured in the same run and a target. */
export type Metric = {
  name: string
  value: number
  unit: string
  /** The same quantity for the baseline (plain LanceDB, plain onnxruntime...), measured in this run. */
  baseline?: { name: string; value: number } | undefined
  /** value / baseline.value, filled in by {@link metric}. */
  ratio?: number | undefined
  /** The target from the issue, e.g. `>= 20000` or `<= 10`. */
  target?: string | undefined
  /** Whether value meets the target (undefined without a target). */
  meetsTarget?: boolean | undefined
}

/** The JSON a benchmark prints. */
export type BenchmarkReport = {
  benchmark: string
  startedAt: string
  machine: { node: string; platform: string; cpus: number; cpuModel: string; memoryBytes: number }
  parameters: Record<string, unknown>
  metrics: Metric[]
  peakRssBytes: number
}

/** Builds a metric, computing ratio and whether the target holds. */
export function metric(parameters: Omit<Metric, 'ratio' | 'meetsTarget'>): Metric {
  const out: Metric = { ...parameters }
  if (parameters.baseline && parameters.baseline.value !== 0) out.ratio = round(parameters.value / parameters.baseline.value, 4)
  if (parameters.target) {
    const match = /^(<=|>=)\s*([0-9.e+-]+)$/.exec(parameters.target)
    if (match) out.meetsTarget = match[1] === '<=' ? parameters.value <= Number(match[2]) : parameters.value >= Number(match[2])
  }
  return out
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** Percentile (nearest-rank) of samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}

/** Times an async function once, in milliseconds. */
export async function timeMs(run: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now()
  await run()
  return performance.now() - start
}

/** Samples RSS every few milliseconds in the background; `stop()` returns the peak seen. */
export function rssSampler(intervalMs = 20): { stop: () => number; peak: () => number } {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, intervalMs)
  timer.unref()
  return {
    peak: () => Math.max(peak, process.memoryUsage.rss()),
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage.rss())
    },
  }
}

export function machine(): BenchmarkReport['machine'] {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
  }
}
