/**
 * The LangChain adapters against their baselines, in the same run:
 * - `VerityVectorStore.similaritySearch(text, 4)` p50 beside the vault's own `vault.search({ query: text, k: 4 })`
 *   p50 (same vault, same query texts, both embed the text once with the same hashing embedder and run an
 *   exact cosine search; the store searches its namespace, `default`, which holds every memory); then,
 *   with memories of a second namespace added, the same store beside `vault.search` given the same
 *   namespace (both filtered);
 * - a checkpoint put + get per agent turn with `VerityCheckpointSaver` (encrypted, durable in the vault)
 *   beside LangGraph's `MemorySaver` (in memory only);
 * - the import time of `verity/access` for a passphrase guard alone (built package, fresh process),
 *   beside the same import followed by loading the Lit SDK (what every import paid before it became lazy).
 *
 * Scale: VERITY_BENCH_LANGCHAIN_MEMORIES (default 5000), VERITY_BENCH_LANGCHAIN_QUERIES (default 300),
 * VERITY_BENCH_LANGCHAIN_TURNS (default 200), VERITY_BENCH_LANGCHAIN_IMPORTS (default 7 fresh processes).
 * The import metrics need `npm run build` first (they import the built package by its name).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BaseCheckpointSaver, emptyCheckpoint, MemorySaver, uuid6 } from '@langchain/langgraph-checkpoint'
import { passphraseGuard } from '../src/access/passphrase-guard.js'
import { VerityCheckpointSaver } from '../src/langchain/verity-checkpoint-saver.js'
import { VerityVectorStore } from '../src/langchain/verity-vector-store.js'
import { createHashingEmbedder } from '../src/memory/embedders/hashing-embedder.js'
import { createVault } from '../src/memory/vault.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler, timeMs } from './lib/measure.js'

const MEMORIES = Number(process.env.VERITY_BENCH_LANGCHAIN_MEMORIES ?? 5000)
const QUERIES = Number(process.env.VERITY_BENCH_LANGCHAIN_QUERIES ?? 300)
const TURNS = Number(process.env.VERITY_BENCH_LANGCHAIN_TURNS ?? 200)
const IMPORTS = Number(process.env.VERITY_BENCH_LANGCHAIN_IMPORTS ?? 7)
const WORDS = ['tea', 'coffee', 'dog', 'park', 'bill', 'card', 'flight', 'hotel', 'doctor', 'gym', 'music', 'book']

const sentence = (index: number) =>
  `memory ${index}: the user ${WORDS[index % WORDS.length]} ${WORDS[(index * 7) % WORDS.length]} ${WORDS[(index * 5) % WORDS.length]}`

async function searchMetrics(home: string) {
  const embedder = createHashingEmbedder()
  const vault = await createVault({
    path: join(home, 'vault'),
    guards: [passphraseGuard({ passphrase: 'bench pass' })],
    embedder,
  })
  try {
    for (let start = 0; start < MEMORIES; start += 1000)
      await vault.add(
        Array.from({ length: Math.min(1000, MEMORIES - start) }, (_, offset) => ({
          text: sentence(start + offset),
          metadata: { group: (start + offset) % 10 },
        })),
      )
    const store = new VerityVectorStore(embedder, { vault })
    const query = (index: number) => `what about ${WORDS[index % WORDS.length]} and ${WORDS[(index * 3) % WORDS.length]}`
    for (let index = 0; index < 20; index++) {
      await vault.search({ query: query(index), k: 4 })
      await store.similaritySearch(query(index), 4)
    }
    const vaultSamples: number[] = []
    const storeSamples: number[] = []
    for (let index = 0; index < 2 * QUERIES; index++) {
      // Alternate which goes first so machine noise hits both alike.
      const runVault = () => vault.search({ query: query(index), k: 4 })
      const runStore = () => store.similaritySearch(query(index), 4)
      if (index % 2 === 0) {
        vaultSamples.push(await timeMs(runVault))
        storeSamples.push(await timeMs(runStore))
      } else {
        storeSamples.push(await timeMs(runStore))
        vaultSamples.push(await timeMs(runVault))
      }
    }
    const vaultP50 = percentile(vaultSamples, 50)
    const storeP50 = percentile(storeSamples, 50)
    // A second namespace (as a checkpointer or a LangGraph store sharing the vault adds): now the store's
    // namespace filter does real work, and the like-for-like baseline is the vault filtered the same way.
    await vault.add(
      Array.from({ length: Math.max(1, Math.floor(MEMORIES / 5)) }, (_, offset) => ({
        text: sentence(offset),
        namespace: 'other',
      })),
    )
    const filteredVault: number[] = []
    const filteredStore: number[] = []
    for (let index = 0; index < QUERIES; index++) {
      const runVault = () => vault.search({ query: query(index), k: 4, namespace: 'default' })
      const runStore = () => store.similaritySearch(query(index), 4)
      if (index % 2 === 0) {
        filteredVault.push(await timeMs(runVault))
        filteredStore.push(await timeMs(runStore))
      } else {
        filteredStore.push(await timeMs(runStore))
        filteredVault.push(await timeMs(runVault))
      }
    }
    return [
      metric({ name: 'vault.search p50 (k=4)', value: round(vaultP50), unit: 'ms' }),
      metric({
        name: 'VerityVectorStore.similaritySearch p50 (k=4)',
        value: round(storeP50),
        unit: 'ms',
        baseline: { name: 'vault.search p50', value: round(vaultP50) },
      }),
      metric({
        name: 'similaritySearch p50 / vault.search p50',
        value: round(storeP50 / vaultP50, 3),
        unit: 'x',
        target: '<= 1.1',
      }),
      metric({
        name: 'two namespaces: similaritySearch p50 (k=4)',
        value: round(percentile(filteredStore, 50)),
        unit: 'ms',
        baseline: { name: "vault.search p50, namespace 'default'", value: round(percentile(filteredVault, 50)) },
      }),
    ]
  } finally {
    await vault.close()
  }
}

/** One agent turn's worth of checkpointing: put a checkpoint (2 changed channels), put its writes, read the thread back. */
async function checkpointTurns(saver: BaseCheckpointSaver, turns: number): Promise<number[]> {
  const samples: number[] = []
  let parent: string | undefined
  const messages: { role: string; content: string }[] = []
  for (let turn = 0; turn < turns; turn++) {
    messages.push({ role: turn % 2 ? 'ai' : 'user', content: `turn ${turn}: ${sentence(turn)}` })
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(turn), channel_values: { messages: [...messages], step: turn } }
    checkpoint.channel_versions = { messages: turn + 1, step: turn + 1 }
    const config = { configurable: { thread_id: 'bench', checkpoint_ns: '', ...(parent ? { checkpoint_id: parent } : {}) } }
    samples.push(
      await timeMs(async () => {
        const saved = await saver.put(
          config,
          checkpoint,
          { source: 'loop', step: turn, parents: {} },
          { messages: turn + 1, step: turn + 1 },
        )
        await saver.putWrites(saved, [['messages', messages.at(-1)]], `task-${turn}`)
        await saver.getTuple({ configurable: { thread_id: 'bench' } })
      }),
    )
    parent = checkpoint.id
  }
  return samples
}

async function checkpointMetrics(home: string) {
  const vault = await createVault({
    path: join(home, 'threads'),
    guards: [passphraseGuard({ passphrase: 'bench pass' })],
    embedder: createHashingEmbedder(),
  })
  try {
    const memorySamples = await checkpointTurns(new MemorySaver(), TURNS)
    const veritySamples = await checkpointTurns(new VerityCheckpointSaver({ vault }), TURNS)
    return [
      metric({
        name: 'checkpoint put+putWrites+get per turn p50, MemorySaver',
        value: round(percentile(memorySamples, 50)),
        unit: 'ms',
      }),
      metric({
        name: 'checkpoint put+putWrites+get per turn p50, VerityCheckpointSaver (encrypted, durable)',
        value: round(percentile(veritySamples, 50)),
        unit: 'ms',
        baseline: { name: 'MemorySaver p50', value: round(percentile(memorySamples, 50)) },
      }),
      metric({
        name: 'checkpoint per turn p95, VerityCheckpointSaver',
        value: round(percentile(veritySamples, 95)),
        unit: 'ms',
        baseline: { name: 'MemorySaver p95', value: round(percentile(memorySamples, 95)) },
      }),
    ]
  } finally {
    await vault.close()
  }
}

/**
 * Milliseconds to import `verity/access` and make a passphrase guard, in a fresh Node process (built
 * package): wall clock (the target) and the process's CPU time over the same span (user + system,
 * much steadier than wall clock on a shared machine).
 */
function importMs(thenLoadLit: boolean): { wall: number; cpu: number } {
  const script = `
    const start = performance.now()
    const cpuStart = process.cpuUsage()
    const { passphraseGuard } = await import('verity/access')
    passphraseGuard({ passphrase: 'x' })
    ${thenLoadLit ? "await import('@lit-protocol/lit-node-client'); await import('@lit-protocol/crypto'); await import('@lit-protocol/auth-helpers')" : ''}
    const wall = performance.now() - start
    const cpu = process.cpuUsage(cpuStart)
    process.stdout.write(JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1000 }))`
  return JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
    }),
  ) as { wall: number; cpu: number }
}

function importMetrics() {
  const lazy: { wall: number; cpu: number }[] = []
  const eager: { wall: number; cpu: number }[] = []
  importMs(false) // warm the file cache
  for (let index = 0; index < IMPORTS; index++) {
    lazy.push(importMs(false))
    eager.push(importMs(true))
  }
  const p50 = (samples: { wall: number; cpu: number }[], key: 'wall' | 'cpu') =>
    round(
      percentile(
        samples.map((sample) => sample[key]),
        50,
      ),
      1,
    )
  return [
    metric({
      name: "import 'verity/access' + passphraseGuard, fresh process p50",
      value: p50(lazy, 'wall'),
      unit: 'ms',
      target: '<= 150',
      baseline: { name: 'same import plus the Lit SDK (eager, as before)', value: p50(eager, 'wall') },
    }),
    metric({
      name: "import 'verity/access' + passphraseGuard, process CPU time p50",
      value: p50(lazy, 'cpu'),
      unit: 'ms',
      baseline: { name: 'same import plus the Lit SDK, CPU time', value: p50(eager, 'cpu') },
    }),
  ]
}

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const home = mkdtempSync(join(tmpdir(), 'verity-bench-langchain-'))
  try {
    const metrics = [...(await searchMetrics(home)), ...(await checkpointMetrics(home)), ...importMetrics()]
    return {
      benchmark: 'langchain',
      startedAt: new Date().toISOString(),
      machine: machine(),
      parameters: { memories: MEMORIES, queries: QUERIES * 2, turns: TURNS, imports: IMPORTS, embedder: 'hashing (built-in)' },
      metrics,
      peakRssBytes: rss.stop(),
    }
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
