/**
 * Prover backends on the bundled transaction-risk model, baselines in the same run:
 * native prove latency (through the backend) vs `ezkl.prove` called in Python directly on the same
 * files; wasm beside it; verify latency per backend; fleet throughput with 1 and 2 node processes on
 * a loopback Redis; queue overhead (enqueue -> the node starts proving) p50; peak RSS per node.
 * Scale: VERITY_BENCH_PROVERS_PROOFS (latency samples, default 3), VERITY_BENCH_PROVERS_JOBS (jobs per
 * fleet run, default 6). Needs the toolchain (.venv) and Debian's redis-server.
 */
import { type ChildProcess, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { QueueEvents } from 'bullmq'
import { Redis } from 'ioredis'
import { digest } from '../src/crypto/digest.js'
import { randomBytes } from '../src/crypto/random.js'
import { FLEET_QUEUE, fleetJobId } from '../src/proofs/fleet-job.js'
import { loadModelPackage } from '../src/proofs/model-package.js'
import { createNativeProver } from '../src/proofs/native-backend.js'
import { createQueueProver } from '../src/proofs/queue-backend.js'
import { findToolchain } from '../src/proofs/toolchain.js'
import { createWasmProver } from '../src/proofs/wasm-backend.js'
import { runWitness } from '../src/proofs/witness.js'
import { spawnProverNode } from '../test/proofs/prover-node-process.js'
import { killHard, startLoopbackRedis } from '../test/proofs/redis-server.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler, timeMs } from './lib/measure.js'

const PROOFS = Number(process.env.VERITY_BENCH_PROVERS_PROOFS ?? 3)
const JOBS = Number(process.env.VERITY_BENCH_PROVERS_JOBS ?? 6)
const ROOT = resolve(import.meta.dirname ?? '.', '..')
const MODEL = process.env.VERITY_BENCH_PROVERS_MODEL ?? join(ROOT, 'models', 'transaction-risk')
const input = [[0.95, 3, 0.8, 6, 1, 1]]

const median = (samples: number[]) => percentile(samples, 50)
const highWater = (pid: number): number => {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((value) => value > 0)
  } catch {
    return []
  }
}

async function startNode(redisUrl: string, models: string, home: string): Promise<ChildProcess> {
  const node = spawnProverNode({ redis: redisUrl, models, home, passphrase: 'bench-passphrase' })
  await node.started
  return node.child
}

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const work = mkdtempSync(join(tmpdir(), 'verity-bench-provers-'))
  const model = loadModelPackage({ dir: MODEL })
  const { witness } = await runWitness({ package: model, input })
  const toolchain = await findToolchain()

  // native backend (end to end through the worker process), then ezkl.prove in Python on the same files
  const native = await createNativeProver({ verify: false })
  const warm = await native.prove({ package: model, witness })
  const nativeSamples: number[] = []
  for (let index = 0; index < PROOFS; index++) nativeSamples.push(await timeMs(() => native.prove({ package: model, witness })))
  const nativeVerify: number[] = []
  for (let index = 0; index < PROOFS; index++)
    nativeVerify.push(await timeMs(() => native.verify({ package: model, proof: warm.proof })))
  await native.close()

  const files = join(work, 'files')
  mkdirSync(files)
  writeFileSync(join(files, 'witness.json'), witness)
  writeFileSync(join(files, 'model.compiled'), model.compiled)
  writeFileSync(join(files, 'pk.key'), model.provingKey())
  writeFileSync(join(files, 'kzg.srs'), model.srs)
  const python = `
import ezkl, json, sys, time
d = sys.argv[1]; n = int(sys.argv[2]); out = []
ezkl.prove(d + '/witness.json', d + '/model.compiled', d + '/pk.key', d + '/proof.json', 'single', d + '/kzg.srs')
for _ in range(n):
    t = time.perf_counter()
    ezkl.prove(d + '/witness.json', d + '/model.compiled', d + '/pk.key', d + '/proof.json', 'single', d + '/kzg.srs')
    out.append((time.perf_counter() - t) * 1000)
print(json.dumps(out))
`
  const pythonSamples = JSON.parse(
    execFileSync(toolchain.python, ['-c', python, files, String(PROOFS)], {
      encoding: 'utf8',
      env: { ...process.env, RUST_LOG: 'error' },
    })
      .trim()
      .split('\n')
      .pop() as string,
  ) as number[]

  // wasm backend (one worker thread; the engine is single-threaded)
  const wasm = createWasmProver({ workers: 1 })
  await wasm.prove({ package: model, witness })
  const wasmSamples: number[] = []
  for (let index = 0; index < Math.min(PROOFS, 2); index++)
    wasmSamples.push(await timeMs(() => wasm.prove({ package: model, witness })))
  const wasmVerify: number[] = []
  for (let index = 0; index < PROOFS; index++)
    wasmVerify.push(await timeMs(() => wasm.verify({ package: model, proof: warm.proof })))
  await wasm.close()

  // the fleet: loopback Redis, 1 then 2 node processes
  const redis = await startLoopbackRedis({ dir: join(work, 'redis') })
  const redisUrl = redis.url
  const queue = await createQueueProver({ redis: redisUrl, timeoutMs: 600_000 })
  const events = new QueueEvents(FLEET_QUEUE, { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }) })
  await events.waitUntilReady()
  const startedAt = new Map<string, number>()
  events.on('progress', ({ jobId, data }) => {
    const at = (data as { at?: number })?.at
    if (typeof at === 'number') startedAt.set(jobId, at)
  })
  const newId = () => digest(randomBytes(32))
  const nodes: ChildProcess[] = []
  const fleet = async (count: number) => {
    while (nodes.length < count) nodes.push(await startNode(redisUrl, join(ROOT, 'models'), join(work, `node-${nodes.length}`)))
    await Promise.all(nodes.map(() => queue.prove({ package: model, witness, receiptId: newId() }))) // warm every node
    const elapsed = await timeMs(() =>
      Promise.all(Array.from({ length: JOBS }, () => queue.prove({ package: model, witness, receiptId: newId() }))),
    )
    return (JOBS / elapsed) * 60_000
  }
  const one = await fleet(1)
  // queue overhead with an idle node: enqueue -> the node starts proving (its `at`, taken right before the
  // prover call, on this machine's clock). The baseline: one durable write round trip on the same Redis,
  // sampled between the jobs; the path takes two (the enqueue, the node taking the job), each an fsync.
  const overheads: number[] = []
  const durableWrites: number[] = []
  const probe = new Redis(redisUrl, { maxRetriesPerRequest: null })
  for (let index = 0; index < JOBS; index++) {
    const receiptId = newId()
    const before = Date.now()
    await queue.prove({ package: model, witness, receiptId })
    const at = startedAt.get(fleetJobId(receiptId))
    if (at !== undefined) overheads.push(at - before)
    for (let write = 0; write < 3; write++) durableWrites.push(await timeMs(() => probe.set('verity-bench:write', receiptId)))
  }
  probe.disconnect()
  const two = await fleet(2)
  const nodeRss = nodes.map((node) => {
    const pid = node.pid as number
    return highWater(pid) + childrenOf(pid).reduce((sum, child) => sum + highWater(child), 0)
  })
  for (const node of nodes) await killHard(node)
  await events.close()
  await queue.close()
  await redis.stop()
  rmSync(work, { recursive: true, force: true })

  const nativeMs = median(nativeSamples)
  const pythonMs = median(pythonSamples)
  return {
    benchmark: 'provers',
    startedAt: new Date().toISOString(),
    machine: machine(),
    parameters: { model: model.manifest.name, logrows: model.manifest.ezkl.logrows, proofs: PROOFS, jobs: JOBS },
    metrics: [
      metric({
        name: 'native prove (median, through the backend)',
        value: round(nativeMs),
        unit: 'ms',
        baseline: { name: 'ezkl.prove in Python', value: round(pythonMs) },
      }),
      metric({ name: 'native prove / ezkl.prove in Python', value: round(nativeMs / pythonMs), unit: 'x', target: '<= 1.2' }),
      metric({
        name: 'wasm prove (median, 1 worker thread)',
        value: round(median(wasmSamples)),
        unit: 'ms',
        baseline: { name: 'native', value: round(nativeMs) },
      }),
      metric({ name: 'native verify (median)', value: round(median(nativeVerify)), unit: 'ms' }),
      metric({ name: 'wasm verify (median, in process)', value: round(median(wasmVerify)), unit: 'ms' }),
      metric({ name: 'fleet throughput, 1 node', value: round(one), unit: 'proofs/min' }),
      metric({
        name: 'fleet throughput, 2 nodes',
        value: round(two),
        unit: 'proofs/min',
        baseline: { name: '1 node', value: round(one) },
      }),
      metric({
        name: 'queue overhead enqueue -> proving starts (p50)',
        value: round(median(overheads)),
        unit: 'ms',
        target: '<= 5',
        baseline: { name: 'two durable Redis writes (AOF fsync always), p50 x 2', value: round(2 * median(durableWrites)) },
      }),
      metric({ name: 'peak RSS per node (node + native worker)', value: Math.max(...nodeRss), unit: 'bytes' }),
    ],
    peakRssBytes: rss.stop(),
  }
}
