/**
 * 200 open SSE streams on the daemon: memory per stream, measured honestly.
 *
 * The daemon runs in its own child process (bench/lib/daemon-child.ts, `--expose-gc`, loopback, a port the OS
 * picks); this process is only the client. The daemon's memory is that process's resident set (VmRSS from
 * /proc/PID/status) after a forced full GC, the median of a few samples, before and after opening the streams on
 * one open run; the server's cost per stream is the difference over the count. The client's RSS (this process,
 * after GC) is reported separately. Bounded: 200 streams, held 1 s, every wait with a timeout.
 * Scale: `VERITY_BENCH_STREAMS` (default 200).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler } from './lib/measure.js'

const STREAMS = Number(process.env.VERITY_BENCH_STREAMS ?? 200)
const SAMPLES = 5

/** Resident set size of a process, in bytes (Linux /proc). */
function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!match) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(match[1]) * 1024
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

/** Waits for one IPC message of a type from the child, with a timeout. */
function nextMessage<T>(child: ChildProcess, type: string, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} from the daemon child in ${timeoutMs} ms`)), timeoutMs)
    const onMessage = (message: { type?: string }) => {
      if (message.type !== type) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolvePromise(message as T)
    }
    child.on('message', onMessage)
  })
}

export default async function run(): Promise<BenchmarkReport> {
  const home = mkdtempSync(join(tmpdir(), 'verity-daemon-streams-bench-'))
  const rss = rssSampler()
  const child = fork(join(import.meta.dirname, 'lib', 'daemon-child.ts'), [home], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const controllers: AbortController[] = []
  try {
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`daemon child exited (${code})`))),
    )
    const ready = await Promise.race([
      nextMessage<{ url: string; token: string; runId: string }>(child, 'ready', 120_000),
      exited,
    ])
    const pid = child.pid as number
    let gcExposed = false
    const heap: number[] = []
    /** Median VmRSS of the daemon process over a few samples, each after a forced full GC there (heap + external noted). */
    const serverResident = async () => {
      const samples: number[] = []
      const heapSamples: number[] = []
      for (let index = 0; index < SAMPLES; index++) {
        child.send({ type: 'gc' })
        const done = await nextMessage<{ exposed: boolean; heapUsed: number; external: number }>(child, 'gc-done')
        gcExposed = done.exposed
        heapSamples.push(done.heapUsed + done.external)
        await sleep(100)
        samples.push(residentBytes(pid))
      }
      heap.push(percentile(heapSamples, 50))
      return percentile(samples, 50)
    }
    const clientResident = async () => {
      const samples: number[] = []
      for (let index = 0; index < SAMPLES; index++) {
        ;(globalThis as { gc?: () => void }).gc?.()
        await sleep(100)
        samples.push(process.memoryUsage.rss())
      }
      return percentile(samples, 50)
    }
    const headers = { authorization: `Bearer ${ready.token}` }
    const eventsUrl = `${ready.url}/v1/runs/${ready.runId}/events`
    // Warm up the route (JIT, the first connection, lazily loaded modules) with a few streams opened and closed.
    for (let index = 0; index < 5; index++) {
      const controller = new AbortController()
      const response = await fetch(eventsUrl, {
        headers,
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(10_000)]),
      })
      if (response.status !== 200) throw new Error(`warm-up stream refused: ${response.status}`)
      controller.abort()
    }
    await sleep(500)
    const serverBefore = await serverResident()
    const clientBefore = await clientResident()
    for (let index = 0; index < STREAMS; index++) controllers.push(new AbortController())
    const streams = await Promise.all(
      controllers.map((controller) =>
        fetch(eventsUrl, { headers, signal: AbortSignal.any([controller.signal, AbortSignal.timeout(60_000)]) }),
      ),
    )
    const refused = streams.filter((response) => response.status !== 200).length
    if (refused) throw new Error(`${refused} SSE streams refused`)
    await sleep(1000)
    const serverAfter = await serverResident()
    const clientAfter = await clientResident()
    for (const controller of controllers) controller.abort()
    await sleep(500)
    const serverClosed = await serverResident()

    return {
      benchmark: 'daemon-streams',
      startedAt: new Date().toISOString(),
      machine: machine(),
      parameters: {
        streams: STREAMS,
        samplesPerReading: SAMPLES,
        daemon: `own child process (pid ${pid}), VmRSS from /proc after a forced GC (exposed: ${gcExposed}), median of ${SAMPLES}`,
        client: 'this process, fetch (undici), RSS after GC, median',
        loopback: ready.url,
        serverBeforeBytes: serverBefore,
        serverAfterBytes: serverAfter,
        serverAfterCloseBytes: serverClosed,
        serverHeapAndExternalBytes: { before: heap[0], after: heap[1], afterClose: heap[2] },
        clientBeforeBytes: clientBefore,
        clientAfterBytes: clientAfter,
      },
      metrics: [
        metric({
          name: `${STREAMS} open SSE streams: daemon RSS per stream (daemon in its own process)`,
          value: round((serverAfter - serverBefore) / STREAMS / 1024),
          unit: 'KiB',
        }),
        metric({
          name: `${STREAMS} open SSE streams: daemon heap + external per stream after GC (daemon in its own process)`,
          value: round(((heap[1] ?? 0) - (heap[0] ?? 0)) / STREAMS / 1024),
          unit: 'KiB',
        }),
        metric({
          name: `${STREAMS} open SSE streams: daemon RSS growth in all`,
          value: round((serverAfter - serverBefore) / 1024 / 1024),
          unit: 'MiB',
        }),
        metric({
          name: `${STREAMS} open SSE streams: client RSS per stream (the bench process, fetch)`,
          value: round((clientAfter - clientBefore) / STREAMS / 1024),
          unit: 'KiB',
        }),
      ],
      peakRssBytes: rss.stop(),
    }
  } finally {
    for (const controller of controllers) controller.abort()
    if (child.exitCode === null) {
      const gone = new Promise((done) => child.once('exit', done))
      child.send({ type: 'stop' })
      await Promise.race([gone, sleep(10_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    rmSync(home, { recursive: true, force: true })
  }
}
