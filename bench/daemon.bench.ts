/**
 * The daemon on loopback (127.0.0.1, a port the OS picks), bounded in count and time:
 * - vault search through the HTTP API vs the same open vault searched in process, query by query alternating
 *   (overhead p50 target <= 1 ms);
 * - 50 agents running tasks concurrently through the API (throughput, p99 run latency), beside one run alone;
 * The memory of 200 open SSE streams is measured by bench/daemon-streams.bench.ts, with the daemon in its own
 * process (measured here, client and server shared one process and GC noise made the number meaningless).
 * Scale: `VERITY_BENCH_DAEMON_MEMORIES` (default 2000), `VERITY_BENCH_QUERIES` (default 200).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { resolveDaemonConfig, startDaemon } from '../src/daemon/index.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler } from './lib/measure.js'

const MEMORIES = Number(process.env.VERITY_BENCH_DAEMON_MEMORIES ?? 2000)
const QUERIES = Number(process.env.VERITY_BENCH_QUERIES ?? 200)
const AGENTS = 50
const WORDS = ['invoice', 'billing', 'lisbon', 'card', 'travel', 'phone', 'refund', 'email', 'night', 'merchant', 'tea', 'salary']

function sentence(index: number): string {
  return Array.from({ length: 8 }, (_, offset) => WORDS[(index * 7 + offset * 3) % WORDS.length]).join(' ') + ` #${index}`
}

export default async function run(): Promise<BenchmarkReport> {
  const home = mkdtempSync(join(tmpdir(), 'verity-daemon-bench-'))
  const rss = rssSampler()
  const daemon = await startDaemon({
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
    // The client: Node's own HTTP client on one keep-alive socket. The client lives in this process, on the daemon's
    // event loop, so its work is charged to the daemon; undici's fetch adds web streams and Request/Response objects
    // per call (measured beside it below, for reference).
    const loadAtStart = loadavg()
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const search = (body: unknown, url = daemon.url) =>
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
    // The floor: a bare node:http server on loopback that reads the body and answers the bytes of a real search
    // answer, through the same client. What the daemon adds is the overhead above this round trip.
    const answer = JSON.stringify(await search({ query: 'tea card', k: 10 }))
    const bare = createServer((request, response) => {
      request.resume()
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) })
        response.end(answer)
      })
    })
    await new Promise<void>((listening) => bare.listen(0, '127.0.0.1', listening))
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`
    const bareMs: number[] = []
    const httpMs: number[] = []
    const fetchMs: number[] = []
    const directMs: number[] = []
    for (let index = 0; index < QUERIES + 20; index++) {
      // Same query text, k and vault on every path; the query is embedded on every path (by vault.search).
      const query = `${WORDS[index % WORDS.length]} ${WORDS[(index * 5) % WORDS.length]}`
      const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
        const started = performance.now()
        const result = await work()
        return [result, performance.now() - started]
      }
      const viaHttp = () => timed(() => search({ query, k: 10 }))
      const viaFetch = () =>
        timed(async () => (await (await post('/v1/vaults/bench/search', { query, k: 10 })).json()) as { results: unknown[] })
      const inProcess = () => timed(() => services.vaults.use('bench', 'bench', (vault) => vault.search({ query, k: 10 })))
      // Alternate which path goes first, so neither always finds the caches warmed by the other.
      const [http, fetched, direct] =
        index % 2 === 0
          ? [await viaHttp(), await viaFetch(), await inProcess()]
          : await inProcess().then(async (direct) => [await viaHttp(), await viaFetch(), direct] as const)
      if (http[0].results.length !== direct[0].length || fetched[0].results.length !== direct[0].length)
        throw new Error('HTTP and in-process results differ')
      const [, floor] = await timed(() => search({ query, k: 10 }, bareUrl))
      // The first 20 warm up every path (JIT, connections).
      if (index >= 20) {
        httpMs.push(http[1])
        fetchMs.push(fetched[1])
        directMs.push(direct[1])
        bareMs.push(floor)
      }
    }
    agent.destroy()
    bare.close()
    const bareP50 = percentile(bareMs, 50)
    const httpP50 = percentile(httpMs, 50)
    const directP50 = percentile(directMs, 50)

    // 2. Agents: one run alone, then 50 concurrently.
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

    return {
      benchmark: 'daemon',
      startedAt: new Date().toISOString(),
      machine: machine(),
      parameters: {
        memories: MEMORIES,
        queries: QUERIES,
        client: 'node:http, one keep-alive socket (fetch measured beside it)',
        loadAverage: { atSearchStart: loadAtStart, atEnd: loadavg() },
        agents: AGENTS,
        loopback: daemon.url,
      },
      metrics: [
        metric({
          name: 'vault search through the daemon: overhead p50 (HTTP p50 - in-process p50)',
          value: round(httpP50 - directP50),
          unit: 'ms',
          target: '<= 1',
        }),
        metric({
          name: 'vault search through the daemon, p50',
          value: round(httpP50),
          unit: 'ms',
          baseline: { name: 'same vault searched in process, p50', value: round(directP50) },
        }),
        metric({ name: 'vault search through the daemon, p99', value: round(percentile(httpMs, 99)), unit: 'ms' }),
        metric({
          name: 'loopback HTTP floor: round trip to a bare node:http server answering the same bytes (same client), p50',
          value: round(bareP50),
          unit: 'ms',
        }),
        metric({
          name: "vault search through the daemon: the daemon's own overhead p50 (overhead p50 - bare HTTP round trip p50)",
          value: round(httpP50 - directP50 - bareP50),
          unit: 'ms',
        }),
        metric({
          name: 'vault search through the daemon with a fetch (undici) client: overhead p50 (fetch p50 - in-process p50)',
          value: round(percentile(fetchMs, 50) - directP50),
          unit: 'ms',
        }),
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
      ],
      peakRssBytes: rss.stop(),
    }
  } finally {
    await daemon.stop()
    rmSync(home, { recursive: true, force: true })
  }
}
