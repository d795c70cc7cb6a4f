/**
 * The vault's LanceDB search index (private tmpfs folder, background IVF-HNSW-SQ, snapshot
 * export/restore) against plain LanceDB on disk with the same data, schema and index type, in
 * the same run: upsert throughput, index build, search p50/p95 and recall@10 against exact
 * search, snapshot export/restore, open-to-first-query, peak RSS.
 *
 * Scale: `VERITY_BENCH_N` memories (default 100 000), `VERITY_BENCH_QUERIES` (default 100).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { connect, Index } from '@lancedb/lancedb'
import { indexSchema, recordsToArrow } from '../src/memory/lancedb-arrow.js'
import { openLanceDbIndex } from '../src/memory/lancedb-index.js'
import { exactRecall, syntheticMemories } from './lib/clustered-data.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler, timeMs } from './lib/measure.js'

const N = Number(process.env.VERITY_BENCH_N ?? 100_000)
const QUERIES = Number(process.env.VERITY_BENCH_QUERIES ?? 100)
const DIMENSION = 384
const BATCH = 10_000
const K = 10
const CENTRES = 500

export default async function run(): Promise<BenchmarkReport> {
  const diskTmp = tmpdir()
  const rss = rssSampler()
  const { records, queries } = syntheticMemories({
    seed: 42,
    count: N,
    queries: QUERIES,
    dimension: DIMENSION,
    centres: CENTRES,
    metadata: (i) => ({ n: i % 7 }),
  })
  const recallOf = exactRecall({ records, queries, k: K })

  // --- Verity index (tmpfs) ---
  const index = await openLanceDbIndex({ dimension: DIMENSION })
  const upsertMs = await timeMs(async () => {
    for (let start = 0; start < N; start += BATCH) await index.upsert(records.slice(start, start + BATCH))
  })
  const buildMs = await timeMs(() => index.optimize())
  const searchOurs = async (target: typeof index) => {
    const times: number[] = []
    const results: string[][] = []
    for (const vector of queries) {
      const start = performance.now()
      const hits = await target.search({ mode: 'vector', vector, k: K })
      times.push(performance.now() - start)
      results.push(hits.map((hit) => hit.id))
    }
    return { times, recall: recallOf(results) }
  }
  await searchOurs(index) // warm-up
  const ours = await searchOurs(index)
  const hybridTimes: number[] = []
  for (const vector of queries) {
    const start = performance.now()
    await index.search({ mode: 'hybrid', vector, text: 'invoice refund', k: K, filter: { namespace: 'agent-a' } })
    hybridTimes.push(performance.now() - start)
  }
  let snapshot = await index.snapshot(1)
  const exportMs = await timeMs(async () => {
    snapshot = await index.snapshot(2)
  })
  const snapshotBytes = [...snapshot.files.values()].reduce((sum, bytes) => sum + bytes.length, 0)
  await index.close()
  let reopenedHits = 0
  const start = performance.now()
  const restored = await openLanceDbIndex({ dimension: DIMENSION, snapshot })
  const restoreMs = performance.now() - start
  reopenedHits = (await restored.search({ mode: 'vector', vector: queries[0]!, k: K })).length
  const openToFirstQueryMs = performance.now() - start
  const restoredSearch = await searchOurs(restored)
  await restored.close()

  // --- Plain LanceDB on disk, same data and index type ---
  const folder = mkdtempSync(join(diskTmp, 'verity-bench-lancedb-'))
  try {
    const database = await connect(folder)
    const table = await database.createEmptyTable('memories', indexSchema(DIMENSION))
    const plainUpsertMs = await timeMs(async () => {
      for (let offset = 0; offset < N; offset += BATCH)
        await table.add(recordsToArrow(records.slice(offset, offset + BATCH), DIMENSION))
    })
    const partitions = Math.max(1, Math.round(Math.sqrt(N)))
    const plainBuildMs = await timeMs(async () => {
      await table.createIndex('vector', {
        config: Index.hnswSq({ distanceType: 'cosine', numPartitions: partitions, m: 20, efConstruction: 150 }),
      })
      await table.createIndex('text', { config: Index.fts() })
    })
    const nprobes = Math.min(partitions, Math.max(10, Math.ceil(partitions * 0.04)))
    const searchPlain = async (target: typeof table) => {
      const times: number[] = []
      const results: string[][] = []
      for (const vector of queries) {
        const begin = performance.now()
        const rows = (await target
          .vectorSearch(vector)
          .distanceType('cosine')
          .nprobes(nprobes)
          .ef(80)
          .limit(K)
          .select(['id', '_distance'])
          .toArray()) as { id: string }[]
        times.push(performance.now() - begin)
        results.push(rows.map((row) => row.id))
      }
      return { times, recall: recallOf(results) }
    }
    await searchPlain(table)
    const plain = await searchPlain(table)
    table.close()
    database.close()
    const plainStart = performance.now()
    const reconnected = await connect(folder)
    const reopened = await reconnected.openTable('memories')
    await reopened
      .vectorSearch(queries[0]!)
      .distanceType('cosine')
      .nprobes(nprobes)
      .limit(K)
      .select(['id', '_distance'])
      .toArray()
    const plainOpenMs = performance.now() - plainStart
    reopened.close()

    const p50 = round(percentile(ours.times, 50))
    return {
      benchmark: 'vector-index',
      startedAt: new Date().toISOString(),
      machine: machine(),
      parameters: {
        memories: N,
        dimension: DIMENSION,
        queries: QUERIES,
        k: K,
        batch: BATCH,
        index: 'IVF_HNSW_SQ',
        partitions,
        nprobes,
        ef: 80,
        m: 20,
        efConstruction: 150,
        data: `${CENTRES} gaussian clusters, sigma 0.8`,
      },
      metrics: [
        metric({
          name: 'upsert throughput',
          value: round(N / (upsertMs / 1000)),
          unit: 'memories/s',
          baseline: { name: 'plain LanceDB add (disk)', value: round(N / (plainUpsertMs / 1000)) },
          target: '>= 20000',
        }),
        metric({
          name: 'index build (vector + text)',
          value: round(buildMs),
          unit: 'ms',
          baseline: { name: 'plain LanceDB createIndex (disk)', value: round(plainBuildMs) },
        }),
        metric({
          name: 'vector search p50',
          value: p50,
          unit: 'ms',
          baseline: { name: 'plain LanceDB (disk)', value: round(percentile(plain.times, 50)) },
          target: '<= 10',
        }),
        metric({
          name: 'vector search p95',
          value: round(percentile(ours.times, 95)),
          unit: 'ms',
          baseline: { name: 'plain LanceDB (disk)', value: round(percentile(plain.times, 95)) },
        }),
        metric({
          name: 'recall@10 vs exact',
          value: round(ours.recall, 4),
          unit: 'ratio',
          baseline: { name: 'plain LanceDB (disk)', value: round(plain.recall, 4) },
          target: '>= 0.95',
        }),
        metric({
          name: 'hybrid search p50 (vector + BM25, RRF, namespace filter)',
          value: round(percentile(hybridTimes, 50)),
          unit: 'ms',
        }),
        metric({ name: 'snapshot export', value: round(exportMs), unit: 'ms' }),
        metric({ name: 'snapshot size', value: snapshotBytes, unit: 'bytes' }),
        metric({ name: 'snapshot restore', value: round(restoreMs), unit: 'ms' }),
        metric({
          name: 'open-to-first-query (restore + query)',
          value: round(openToFirstQueryMs),
          unit: 'ms',
          baseline: { name: 'plain LanceDB reopen + query (disk)', value: round(plainOpenMs) },
          target: '<= 3000',
        }),
        metric({ name: 'recall@10 after restore', value: round(restoredSearch.recall, 4), unit: 'ratio', target: '>= 0.95' }),
        metric({
          name: 'search p50 after restore',
          value: round(percentile(restoredSearch.times, 50)),
          unit: 'ms',
          target: '<= 10',
        }),
        metric({ name: 'first query hits after restore', value: reopenedHits, unit: 'hits' }),
      ],
      peakRssBytes: rss.stop(),
    }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
