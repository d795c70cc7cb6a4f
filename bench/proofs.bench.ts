/**
 * Verifiable inference on the bundled transaction-risk model, baselines in the same run:
 * plain onnxruntime latency vs witness latency vs tool-call latency (async proving);
 * prove and verify time; prover pool throughput with 1 vs 2 workers; peak RSS per worker.
 * Scale: VERITY_BENCH_PROOFS_CALLS (latency samples, default 20), VERITY_BENCH_PROOFS_JOBS (proofs per pool run, default 8).
 */
import { join } from 'node:path'
import { loadModelPackage } from '../src/proofs/model-package.js'
import { createOnnxRunner } from '../src/proofs/onnx-runtime.js'
import { prove, verifyProof } from '../src/proofs/prove.js'
import { createProverPool } from '../src/proofs/prover-pool.js'
import { runWitness } from '../src/proofs/witness.js'
import { verifiableInferenceTool } from '../src/tools/verifiable-inference.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler, timeMs } from './lib/measure.js'

const CALLS = Number(process.env.VERITY_BENCH_PROOFS_CALLS ?? 20)
const JOBS = Number(process.env.VERITY_BENCH_PROOFS_JOBS ?? 8)
const MODEL = process.env.VERITY_BENCH_PROOFS_MODEL ?? join(import.meta.dirname ?? '.', '..', 'models', 'transaction-risk')
const input = [[0.95, 3, 0.8, 6, 1, 1]]
const args = { amount_k: 0.95, hour: 3, merchant_risk: 0.8, velocity_1h: 6, foreign: 1, new_device: 1 }

async function median(run: () => Promise<unknown>): Promise<number> {
  const samples: number[] = []
  for (let index = 0; index < CALLS; index++) samples.push(await timeMs(run))
  return percentile(samples, 50)
}

async function throughput(workers: number, witness: Uint8Array, model: ReturnType<typeof loadModelPackage>) {
  const pool = createProverPool({ workers, maxQueue: JOBS })
  // load the package into every worker first (not part of the measured time)
  await Promise.all(Array.from({ length: workers }, () => pool.submit({ package: model, witness }).result))
  const elapsed = await timeMs(() =>
    Promise.all(Array.from({ length: JOBS }, () => pool.submit({ package: model, witness }).result)),
  )
  const rss = pool.stats().workerPeakRssBytes
  await pool.close()
  return { proofsPerMinute: (JOBS / elapsed) * 60_000, rss }
}

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const model = loadModelPackage({ dir: MODEL })
  model.provingKey()
  const runner = await createOnnxRunner({ model: model.onnx, inputs: model.manifest.inputs })
  const ort = await median(() => runner.run(input))
  const witnessMs = await median(() => runWitness({ package: model, input }))

  const pool = createProverPool({ workers: 1, maxQueue: 1_000_000 })
  const riskTool = verifiableInferenceTool({ package: model, pool })
  const toolMs = await median(() => riskTool.invoke(args))
  await pool.close({ drain: false })

  const { witness } = await runWitness({ package: model, input })
  const proveMs = await timeMs(() => prove({ package: model, witness }))
  const proof = prove({ package: model, witness })
  const verifyMs = await median(async () => verifyProof({ proof, vk: model.vk, settings: model.settings, srs: model.srs }))

  const one = await throughput(1, witness, model)
  const two = await throughput(2, witness, model)
  await runner.release()
  return {
    benchmark: 'proofs',
    startedAt: new Date().toISOString(),
    machine: machine(),
    parameters: { model: model.manifest.name, logrows: model.manifest.ezkl.logrows, calls: CALLS, jobs: JOBS },
    metrics: [
      metric({ name: 'onnxruntime latency (median)', value: round(ort), unit: 'ms' }),
      metric({
        name: 'witness latency (median)',
        value: round(witnessMs),
        unit: 'ms',
        baseline: { name: 'onnxruntime', value: round(ort) },
      }),
      metric({
        name: 'tool call latency, async proving (median)',
        value: round(toolMs),
        unit: 'ms',
        baseline: { name: 'witness', value: round(witnessMs) },
      }),
      metric({ name: 'tool call / witness', value: round(toolMs / witnessMs), unit: 'x', target: '<= 1.5' }),
      metric({ name: `prove (${model.manifest.name})`, value: round(proveMs), unit: 'ms' }),
      metric({ name: `verify (${model.manifest.name}, median)`, value: round(verifyMs), unit: 'ms' }),
      metric({ name: 'pool throughput, 1 worker', value: round(one.proofsPerMinute), unit: 'proofs/min' }),
      metric({
        name: 'pool throughput, 2 workers',
        value: round(two.proofsPerMinute),
        unit: 'proofs/min',
        baseline: { name: '1 worker', value: round(one.proofsPerMinute) },
      }),
      metric({
        name: 'pool speed-up 2 vs 1 workers',
        value: round(two.proofsPerMinute / one.proofsPerMinute),
        unit: 'x',
        target: '>= 1.6',
      }),
      metric({ name: 'peak RSS seen by a worker (1-worker pool)', value: Math.max(...one.rss), unit: 'bytes' }),
      metric({ name: 'peak RSS seen by a worker (2-worker pool)', value: Math.max(...two.rss), unit: 'bytes' }),
    ],
    peakRssBytes: rss.stop(),
  }
}
