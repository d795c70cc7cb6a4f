/**
 * Per-decision overhead of Verity's middleware (trace recording + automatic recall + memory
 * provenance) against the same LangChain agent without it, in the same run. A "decision" is one
 * task run to its answer: two model turns and one tool call. Proving is excluded (no verifiable tool).
 *
 * Scale: VERITY_BENCH_AGENT_RUNS (default 300), VERITY_BENCH_AGENT_MEMORIES (default 1000 memories in the store).
 */
import { tool } from '@langchain/core/tools'
import { createAgent } from 'langchain'
import { z } from 'zod'
import { createVerityAgent } from '../src/agent/create-verity-agent.js'
import { createScriptedChatModel } from '../src/agent/scripted-chat-model.js'
import { createInMemoryMemoryStore } from '../src/tools/memory-store.js'
import { createInMemoryDecisionRecorder } from '../src/trace/decision-recorder.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler, timeMs } from './lib/measure.js'

const RUNS = Number(process.env.VERITY_BENCH_AGENT_RUNS ?? 300)
const MEMORIES = Number(process.env.VERITY_BENCH_AGENT_MEMORIES ?? 1000)
const WARMUP = 20

const riskScore = tool(async ({ amount }: { amount: number }) => JSON.stringify({ label: amount > 100 ? 'review' : 'approve' }), {
  name: 'risk_score',
  description: 'Score the risk of a payment amount',
  schema: z.object({ amount: z.number() }),
})

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const task = (index: number) => `check the payment risk of amount ${index % 500}`

  const plain = createAgent({ model: createScriptedChatModel(), tools: [riskScore] })
  const memory = createInMemoryMemoryStore()
  for (let index = 0; index < MEMORIES; index++)
    await memory.add({ text: `payment ${index} of amount ${index % 500} was checked`, namespace: 'agent:bench' })
  const recorder = createInMemoryDecisionRecorder()
  const verity = createVerityAgent({ name: 'bench', tools: [riskScore], memory, memoryTools: false, recorder })

  // Alternate the two run by run (order flipped every run) so that machine noise hits both alike;
  // the overhead is the median of the paired differences, robust to drift on a busy machine.
  const plainRun = (index: number) => plain.invoke({ messages: [{ role: 'user', content: task(index) }] })
  const verityRun = (index: number) => verity.invoke(task(index))
  for (let index = 0; index < WARMUP; index++) {
    await plainRun(index)
    await verityRun(index)
  }
  const plainSamples: number[] = []
  const veritySamples: number[] = []
  const differences: number[] = []
  for (let index = 0; index < 2 * RUNS; index++) {
    let plainMs: number
    let verityMs: number
    if (index % 2 === 0) {
      plainMs = await timeMs(() => plainRun(index))
      verityMs = await timeMs(() => verityRun(index))
    } else {
      verityMs = await timeMs(() => verityRun(index))
      plainMs = await timeMs(() => plainRun(index))
    }
    plainSamples.push(plainMs)
    veritySamples.push(verityMs)
    differences.push(verityMs - plainMs)
  }
  const plainP50 = percentile(plainSamples, 50)
  const verityP50 = percentile(veritySamples, 50)
  const entriesPerDecision = recorder.entries.length / (2 * RUNS + WARMUP)
  return {
    benchmark: 'agent',
    startedAt: new Date().toISOString(),
    machine: machine(),
    parameters: {
      runs: RUNS * 2,
      memories: MEMORIES,
      warmup: WARMUP,
      model: 'scripted planner (offline)',
      decision: '2 model turns + 1 tool call',
    },
    metrics: [
      metric({ name: 'decision p50 without Verity (plain createAgent)', value: round(plainP50), unit: 'ms' }),
      metric({
        name: 'decision p50 with Verity middleware',
        value: round(verityP50),
        unit: 'ms',
        baseline: { name: 'plain createAgent', value: round(plainP50) },
      }),
      metric({
        name: 'Verity overhead per decision, p50 of paired differences',
        value: round(percentile(differences, 50)),
        unit: 'ms',
        target: '<= 2',
      }),
      metric({ name: 'Verity overhead per decision, difference of p50s', value: round(verityP50 - plainP50), unit: 'ms' }),
      metric({
        name: 'decision p95 with Verity middleware',
        value: round(percentile(veritySamples, 95)),
        unit: 'ms',
        baseline: { name: 'plain createAgent p95', value: round(percentile(plainSamples, 95)) },
      }),
      metric({ name: 'trace entries per decision', value: round(entriesPerDecision, 2), unit: 'entries' }),
    ],
    peakRssBytes: rss.stop(),
  }
}
