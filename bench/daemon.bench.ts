/**
 * The daemon on loopback (127.0.0.1, a port the OS picks), bounded in count and time:
 * - vault search through the HTTP API vs the same open vault searched in process, query by query alternating
 *   (overhead p50 target <= 1 ms), the client on a worker thread, off the daemon's event loop like any real client;
 *   the same client on the daemon's event loop, and both clients against a bare node:http server (the loopback
 *   floor, also measured right after an in-process search, as the daemon answers), as reference metrics;
 * - 50 agents running tasks concurrently through the API (throughput, p99 run latency), beside one run alone;
 * The memory of 200 open SSE streams is measured by bench/daemon-streams.bench.ts, with the daemon in its own
 * process (measured here, client and server shared one process and GC noise made the number meaningless).
 * Scale: `VERITY_BENCH_DAEMON_MEMORIES` (default 2000), `VERITY_BENCH_QUERIES` (default 200),
 * `VERITY_BENCH_DAEMON_AGENTS` (default 50; 0 measures the vault search only).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { Agent, createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { resolveDaemonConfig, startDaemon } from '../src/daemon/index.js'
import { type HttpClientAnswer, startHttpClientWorker } from './lib/http-client-worker.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler } from './lib/measure.js'

const MEMORIES = Number(process.env.VERITY_BENCH_DAEMON_MEMORIES ?? 2000)
const QUERIES = Number(process.env.VERITY_BENCH_QUERIES ?? 200)
const AGENTS = Number(process.env.VERITY_BENCH_DAEMON_AGENTS ?? 50)
const WORDS = ['invoice', 'billing', 'lisbon', 'card', 'travel', 'phone', 'refund', 'email', 'night', 'merchant', 'tea', 'salary']

function sentence(index: number): string {
  return Array.from({ length: 8 }, (_, offset) => WORDS[(index * 7 + offset * 3) % WORDS.length]).join(' ') + ` #${index}`
}

export default async function run(): Promise<BenchmarkReport> {
  const home = mkdtempSync(join(tmpdir(), 'verity-daemon-bench-'))
  const rss = rssSampler()
  // The daemon logs a line per request, as `verity daemon start` does (there to stderr; here to /dev/null, so the
  // bench output stays readable while the formatting and the write stay on the measured path).
  const logFd = openSync('/dev/null', 'w')
  const daemon = await startDaemon({
    log: (line) => writeSync(logFd, `[verity daemon] ${line}\n`),
    config: resolveDaemonConfig({
      overrides: {
        home,
        identityPassphrase: 'bench daemon passphrase',
        port: 0,
        rateLimitPerSecond: 1_000_000,
        modelDirectories: [resolve(import.meta.dirname, '..', 'models')],
      },
    }),
  })
  try {
    const { services } = daemon
    const token = services.tokens.create({ owner: 'bench', scopes: ['admin:vault', 'admin:agent'] }).token
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const post = (path: string, body: unknown) =>
      fetch(`${daemon.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })

    const measureAgents = async () => {
      await post('/v1/agents', { kind: 'definition', name: 'worker', definition: {} })
      const runOnce = async (task: string) => {
        const started = performance.now()
        const { runId } = (await (await post('/v1/agents/worker/runs', { task })).json()) as { runId: string }
        await services.agents.done(runId)
        const status = services.runs.get(runId)?.status
        if (status !== 'completed') throw new Error(`run ${runId} ended ${status}`)
        return performance.now() - started
      }
      const aloneMs = await runOnce('Remember that the bench runs alone.')
      const concurrentStarted = performance.now()
      const latencies = await Promise.all(
        Array.from({ length: AGENTS }, (_, index) => runOnce(`Remember that bench agent ${index} ran.`)),
      )
      const concurrentSeconds = (performance.now() - concurrentStarted) / 1000
      return [
        metric({
          name: `${AGENTS} concurrent agent runs: throughput`,
          value: round(AGENTS / concurrentSeconds),
          unit: 'runs/s',
          baseline: { name: 'one run alone (runs/s)', value: round(1000 / aloneMs) },
        }),
        metric({
          name: `${AGENTS} concurrent agent runs: p99 latency`,
          value: round(percentile(latencies, 99)),
          unit: 'ms',
          baseline: { name: 'one run alone', value: round(aloneMs) },
        }),
        metric({ name: `${AGENTS} concurrent agent runs: p50 latency`, value: round(percentile(latencies, 50)), unit: 'ms' }),
      ]
    }

    // 1. Vault search: HTTP vs in process, on the same open vault.
    await post('/v1/vaults', {
      name: 'bench',
      guard: { kind: 'passphrase', passphrase: 'bench vault passphrase' },
      ttlSeconds: 3600,
    })
    for (let start = 0; start < MEMORIES; start += 500) {
      const memories = Array.from({ length: Math.min(500, MEMORIES - start) }, (_, offset) => ({
        text: sentence(start + offset),
      }))
      const response = await post('/v1/vaults/bench/memories', { memories })
      if (response.status !== 200) throw new Error(`add failed: ${response.status}`)
      await response.arrayBuffer()
    }
    // The clients. The target metric's client runs off the daemon's event loop, on a worker thread
    // (bench/lib/http-client-worker.ts), as every real client does (MCP clients, the CLI and browsers are other
    // processes): its own work (serialising the request, parsing the answer) is not charged to the daemon, and the
    // round trip is timed on the client's thread. Both are Node's own HTTP client on one keep-alive socket over
    // loopback TCP with a real token. The same client on the daemon's own event loop (what this bench measured
    // before) stays as a reference metric.
    const loadAtStart = loadavg()
    const offLoop = await startHttpClientWorker({ headers: { authorization: `Bearer ${token}` } })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const sameLoopSearch = (body: unknown, url = daemon.url) =>
      new Promise<{ results: unknown[] }>((resolvePromise, reject) => {
        const data = JSON.stringify(body)
        const request = httpRequest(
          `${url}/v1/vaults/bench/search`,
          { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(data) } },
          (response) => {
            const chunks: Buffer[] = []
            response.on('data', (chunk: Buffer) => chunks.push(chunk))
            response.on('end', () => {
              if (response.statusCode !== 200) reject(new Error(`search failed: ${response.statusCode}`))
              else resolvePromise(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { results: unknown[] })
            })
          },
        )
        request.on('error', reject)
        request.end(data)
      })
    // The floor: a bare node:http server on loopback (in this process, like the daemon) that reads the body and
    // answers the bytes of a real search answer, through each client. What the daemon adds is the overhead above it.
    const answer = JSON.stringify(await sameLoopSearch({ query: 'tea card', k: 10 }))
    const bare = createServer((request, response) => {
      request.resume()
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) })
        response.end(answer)
      })
    })
    await new Promise<void>((listening) => bare.listen(0, '127.0.0.1', listening))
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`
    const offLoopMs: number[] = []
    const offLoopBareMs: number[] = []
    const offLoopBareAfterSearchMs: number[] = []
    const sameLoopMs: number[] = []
    const sameLoopBareMs: number[] = []
    const directMs: number[] = []
    const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
      const started = performance.now()
      const result = await work()
      return [result, performance.now() - started]
    }
    for (let index = 0; index < QUERIES + 20; index++) {
      // Same query text, k and vault on every path; the query is embedded on every path (by vault.search).
      const query = `${WORDS[index % WORDS.length]} ${WORDS[(index * 5) % WORDS.length]}`
      const viaWorker = () => offLoop.request({ url: `${daemon.url}/v1/vaults/bench/search`, body: { query, k: 10 } })
      const viaSameLoop = () => timed(() => sameLoopSearch({ query, k: 10 }))
      const inProcess = () => timed(() => services.vaults.use('bench', 'bench', (vault) => vault.search({ query, k: 10 })))
      // Alternate which path goes first, so neither always finds the caches warmed by the other.
      let worker: HttpClientAnswer
      let sameLoop: [{ results: unknown[] }, number]
      let direct: [unknown[], number]
      if (index % 2 === 0) {
        worker = await viaWorker()
        sameLoop = await viaSameLoop()
        direct = await inProcess()
      } else {
        direct = await inProcess()
        worker = await viaWorker()
        sameLoop = await viaSameLoop()
      }
      if (worker.results !== direct[0].length || sameLoop[0].results.length !== direct[0].length)
        throw new Error('HTTP and in-process results differ')
      const floorOffLoop = await offLoop.request({ url: bareUrl, body: { query, k: 10 } })
      const [, floorSameLoop] = await timed(() => sameLoopSearch({ query, k: 10 }, bareUrl))
      // The same floor right after a search (in process, untimed): the daemon answers just after LanceDB's threads
      // ran the search, with the caches and cores they leave behind; the bare server measured alone does not.
      await inProcess()
      const floorAfterSearch = await offLoop.request({ url: bareUrl, body: { query, k: 10 } })
      // The first 20 warm up every path (JIT, connections).
      if (index >= 20) {
        offLoopMs.push(worker.ms)
        sameLoopMs.push(sameLoop[1])
        directMs.push(direct[1])
        offLoopBareMs.push(floorOffLoop.ms)
        offLoopBareAfterSearchMs.push(floorAfterSearch.ms)
        sameLoopBareMs.push(floorSameLoop)
      }
    }
    const loadAtSearchEnd = loadavg()
    await offLoop.close()
    agent.destroy()
    bare.close()
    const directP50 = percentile(directMs, 50)
    const offLoopP50 = percentile(offLoopMs, 50)
    const offLoopBareP50 = percentile(offLoopBareMs, 50)
    const offLoopBareAfterSearchP50 = percentile(offLoopBareAfterSearchMs, 50)
    const sameLoopP50 = percentile(sameLoopMs, 50)
    const sameLoopBareP50 = percentile(sameLoopBareMs, 50)

    // 2. Agents: one run alone, then AGENTS concurrently.
    const agentMetrics = AGENTS > 0 ? await measureAgents() : []

    return {
      benchmark: 'daemon',
      startedAt: new Date().toISOString(),
      machine: machine(),
      parameters: {
        memories: MEMORIES,
        queries: QUERIES,
        // Why the target metric's client is off the daemon's event loop: see the comment above the clients.
        client:
          'target metric: node:http on a worker thread (off the daemon event loop, like a client in another process), one ' +
          'keep-alive socket, loopback TCP, real token, round trip timed on the client thread until its JSON answer ' +
          'is parsed; reference metrics: the same client on the daemon event loop',
        log: 'one line per request, as verity daemon start writes to stderr (here to /dev/null)',
        loadAverage: { atSearchStart: loadAtStart, atSearchEnd: loadAtSearchEnd, atEnd: loadavg() },
        agents: AGENTS,
        loopback: daemon.url,
      },
      metrics: [
        metric({
          name: 'vault search through the daemon: overhead p50 (HTTP p50 - in-process p50; client off the daemon event loop)',
          value: round(offLoopP50 - directP50),
          unit: 'ms',
          target: '<= 1',
        }),
        metric({
          name: 'vault search through the daemon, p50 (client off the daemon event loop)',
          value: round(offLoopP50),
          unit: 'ms',
          baseline: { name: 'same vault searched in process, p50', value: round(directP50) },
        }),
        metric({
          name: 'vault search through the daemon, p99 (client off the daemon event loop)',
          value: round(percentile(offLoopMs, 99)),
          unit: 'ms',
          baseline: { name: 'same vault searched in process, p99', value: round(percentile(directMs, 99)) },
        }),
        metric({
          name: 'loopback HTTP floor, client off the daemon event loop: round trip to a bare node:http server answering the same bytes, p50',
          value: round(offLoopBareP50),
          unit: 'ms',
        }),
        metric({
          name: 'loopback HTTP floor right after an in-process search, client off the daemon event loop: the same bare round trip, p50',
          value: round(offLoopBareAfterSearchP50),
          unit: 'ms',
        }),
        metric({
          name: "vault search through the daemon: the daemon's own overhead p50 (overhead p50 - loopback floor right after a search p50; client off the event loop)",
          value: round(offLoopP50 - directP50 - offLoopBareAfterSearchP50),
          unit: 'ms',
        }),
        metric({
          name: 'reference, client on the daemon event loop: vault search overhead p50 (HTTP p50 - in-process p50)',
          value: round(sameLoopP50 - directP50),
          unit: 'ms',
        }),
        metric({
          name: 'reference, client on the daemon event loop: loopback HTTP floor (bare node:http server, same answer bytes), p50',
          value: round(sameLoopBareP50),
          unit: 'ms',
        }),
        metric({
          name: "reference, client on the daemon event loop: the daemon's own overhead p50 (overhead p50 - loopback floor p50)",
          value: round(sameLoopP50 - directP50 - sameLoopBareP50),
          unit: 'ms',
        }),
        ...agentMetrics,
      ],
      peakRssBytes: rss.stop(),
    }
  } finally {
    await daemon.stop()
    closeSync(logFd)
    rmSync(home, { recursive: true, force: true })
  }
}
