import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join, sep } from 'node:path'
import { connect, Index, MatchQuery, type Table } from '@lancedb/lancedb'
import { z } from 'zod'
import { IntegrityError, InvalidInputError, InvalidStateError, StorageError, UnsupportedFormatError } from '../errors.js'
import { parseInput } from '../validation.js'
import { snapshotReader } from './index-snapshot-files.js'
import { batchToRecords, COLUMNS, indexSchema, RECORD_COLUMNS, recordsToArrow } from './lancedb-arrow.js'
import { filterPredicate, idsPredicate } from './lancedb-filter.js'
import { createPrivateMemoryFolder, DEFAULT_INDEX_PARENT } from './lancedb-tmpfs.js'
import { fuseRankings, hybridDepth } from './rank-fusion.js'
import type { MemoryRecord } from './record.js'
import type { IndexHit, IndexSearchParameters, IndexSnapshot, IndexSnapshotReader, VectorIndex } from './vector-index.js'

/**
 * The vault's search index on embedded LanceDB: cosine vector search (exact below
 * `approximateFromRows`, IVF-HNSW-SQ above), BM25 full-text search, reciprocal-rank-fusion
 * hybrid search, namespace and metadata equality filters. The dataset lives in a private
 * tmpfs folder (never on persistent disk) and is exported as a snapshot of LanceDB's immutable
 * files for the vault to encrypt. See `docs/embedders.md` (index section).
 */

/**
 * Identifies snapshots written by this index (format and version). Version 2 keeps every field
 * of a record (created/updated times, provenance), so a restored snapshot also restores the records.
 */
export const LANCEDB_INDEX_ID = 'verity/lancedb-index@2'
/** The descriptor file every snapshot carries beside LanceDB's files. */
export const SNAPSHOT_DESCRIPTOR = 'verity-lancedb-index.json'
const TABLE = 'memories'
const VECTOR_INDEX = `${COLUMNS.vector}_idx`
const TEXT_INDEX = `${COLUMNS.text}_idx`
const DELETE_CHUNK = 2000
/** Largest share (of indexed rows) of rows the text index may lack before a text search rebuilds it. */
const TEXT_INDEX_LAG = 0.25
/** Writes (LanceDB fragments) after which small fragments are compacted. */
const COMPACT_AFTER_WRITES = 128

/** Tuning of the approximate vector index; the defaults were chosen by `npm run bench -- vector-index`. */
export type LanceDbIndexTuning = {
  /** Below this many rows every vector search is exact (flat); default 10 000. */
  approximateFromRows?: number | undefined
  /** HNSW graph degree; default 20. */
  m?: number | undefined
  /** HNSW construction beam width; default 150. */
  efConstruction?: number | undefined
  /** Fraction of IVF partitions probed per query; default 0.04 (at least 10 partitions). */
  probeFraction?: number | undefined
  /** Milliseconds of write silence before the index is (re)built in the background; default 1000 (a bulk load under a busy CPU must not trigger rebuilds between its batches). */
  buildDelayMs?: number | undefined
}

export type OpenLanceDbIndexParameters = {
  /** Embedding dimension; every record and query vector must have it. */
  dimension: number
  /** A snapshot from {@link LanceDbIndex.snapshot} (or a vault's reader of a stored one) to restore instead of starting empty. */
  snapshot?: IndexSnapshot | IndexSnapshotReader | undefined
  /** A folder on tmpfs/ramfs under which the private index folder is created; default `/dev/shm`. */
  directory?: string | undefined
  tuning?: LanceDbIndexTuning | undefined
}

/** The LanceDB index: a {@link VectorIndex} plus maintenance hooks. */
export type LanceDbIndex = VectorIndex & {
  readonly id: typeof LANCEDB_INDEX_ID
  /** The private tmpfs folder holding the dataset while open. */
  readonly directory: string
  /** Builds or refreshes the vector and text indices now and waits for them (normally done in the background). */
  optimize(): Promise<void>
  /** Whether an approximate vector index exists (else vector search is exact). */
  hasApproximateIndex(): Promise<boolean>
}
export type OpenLanceDbIndexReturnType = LanceDbIndex

const tuningSchema = z
  .object({
    approximateFromRows: z.number().int().min(256).optional(),
    m: z.number().int().min(4).max(128).optional(),
    efConstruction: z.number().int().min(16).max(2000).optional(),
    probeFraction: z.number().gt(0).max(1).optional(),
    buildDelayMs: z.number().int().min(0).optional(),
  })
  .strict()

const functionSchema = z.custom<(...parameters: never[]) => unknown>((value) => typeof value === 'function', {
  message: 'expected a function',
})

const openSchema = z.object({
  dimension: z.number().int().min(1).max(65536),
  snapshot: z
    .union([
      z.object({ sequence: z.number().int().min(0), files: z.instanceof(Map) }).loose(),
      z.object({ sequence: z.number().int().min(0), readFiles: functionSchema, writeFiles: functionSchema }).loose(),
    ])
    .optional(),
  directory: z.string().min(1).optional(),
  tuning: tuningSchema.optional(),
})

const filterSchema = z
  .object({
    namespace: z.string().optional(),
    metadata: z.record(z.string(), z.json()).optional(),
  })
  .strict()

const searchSchema = z.object({
  vector: z.instanceof(Float32Array).optional(),
  text: z.string().optional(),
  k: z.number().int().min(1).max(10000),
  mode: z.enum(['vector', 'text', 'hybrid']),
  filter: filterSchema.optional(),
})

/** Shape check of an upserted record (cheap: batches of thousands go through it; the vault has validated the content). */
const recordSchema = z.custom<MemoryRecord>(
  (value) => {
    if (typeof value !== 'object' || value === null) return false
    const record = value as Partial<MemoryRecord>
    return (
      typeof record.id === 'string' &&
      record.id.length > 0 &&
      typeof record.text === 'string' &&
      record.embedding instanceof Float32Array &&
      typeof record.metadata === 'object' &&
      record.metadata !== null &&
      !Array.isArray(record.metadata) &&
      typeof record.namespace === 'string'
    )
  },
  { message: 'expected a MemoryRecord { id, text, embedding: Float32Array, metadata: object, namespace }' },
)

const descriptorSchema = z.object({
  format: z.literal(LANCEDB_INDEX_ID),
  dimension: z.number().int(),
  table: z.literal(TABLE),
  partitions: z.number().int().min(1),
})

function assertVector(vector: Float32Array, dimension: number, what: string): void {
  if (vector.length !== dimension)
    throw new InvalidInputError('Vector has the wrong dimension', {
      details: `${what} has ${vector.length} dimensions; the index has ${dimension}`,
      hint: 'Embed with the vault’s embedder, whose dimension the index was opened with.',
      meta: { expected: dimension, actual: vector.length },
    })
  let norm = 0
  for (let index = 0; index < vector.length; index++) {
    const value = vector[index] as number
    if (!Number.isFinite(value))
      throw new InvalidInputError('Vector contains a non-finite number', {
        details: `${what}[${index}] is ${value}`,
        hint: 'Check the embedder output; NaN or Infinity cannot be indexed.',
      })
    norm += value * value
  }
  if (norm === 0)
    throw new InvalidInputError('Vector is all zeros', {
      details: `${what} has norm 0, so its cosine distance to anything is undefined`,
      hint: 'Embed a non-empty text, or give the record a non-zero embedding.',
    })
}

function listFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) =>
      join(entry.parentPath, entry.name)
        .slice(root.length + 1)
        .split(sep)
        .join('/'),
    )
    .sort()
}

/**
 * Opens an empty search index, or restores one from a snapshot, in a private tmpfs folder.
 *
 * @example
 * ```ts
 * const index = await openLanceDbIndex({ dimension: 384 })
 * await index.upsert(records)
 * const hits = await index.search({ mode: 'hybrid', vector, text: 'invoice', k: 10 })
 * const snapshot = await index.snapshot(sequence) // encrypt and store these files
 * await index.close()
 * const reopened = await openLanceDbIndex({ dimension: 384, snapshot })
 * ```
 */
export async function openLanceDbIndex(parameters: OpenLanceDbIndexParameters): Promise<OpenLanceDbIndexReturnType> {
  const input = parseInput(openSchema, parameters, {
    what: 'openLanceDbIndex parameters',
    hint: 'Pass { dimension, snapshot?, directory?, tuning? }.',
    docsPath: 'embedders.md',
  })
  const dimension = input.dimension
  const snapshot = parameters.snapshot
  const tuning = {
    approximateFromRows: input.tuning?.approximateFromRows ?? 10_000,
    m: input.tuning?.m ?? 20,
    efConstruction: input.tuning?.efConstruction ?? 150,
    probeFraction: input.tuning?.probeFraction ?? 0.04,
    buildDelayMs: input.tuning?.buildDelayMs ?? 1000,
  }
  const folder = createPrivateMemoryFolder(input.directory ?? DEFAULT_INDEX_PARENT)
  let table: Table
  /** Live row ids, each with its namespace. */
  const liveIds = new Map<string, string>()
  /** Live rows per namespace: a namespace filter that every live row matches is skipped (a filtered scan costs about twice a plain one). */
  const namespaceRows = new Map<string, number>()
  const track = (id: string, namespace: string) => {
    liveIds.set(id, namespace)
    namespaceRows.set(namespace, (namespaceRows.get(namespace) ?? 0) + 1)
  }
  const untrack = (id: string) => {
    const namespace = liveIds.get(id)
    if (namespace === undefined) return
    liveIds.delete(id)
    const rows = (namespaceRows.get(namespace) ?? 1) - 1
    if (rows > 0) namespaceRows.set(namespace, rows)
    else namespaceRows.delete(namespace)
  }
  /** IVF partitions of the approximate index (recorded in snapshots). */
  let partitions = 1
  try {
    if (snapshot) partitions = restoreFiles(folder.path, snapshotReader(snapshot), dimension).partitions
    const database = await connect(folder.path)
    if (snapshot) {
      table = await database.openTable(TABLE)
      for await (const batch of table.query().select([COLUMNS.id, COLUMNS.namespace])) {
        const ids = batch.getChild(COLUMNS.id)
        const namespaces = batch.getChild(COLUMNS.namespace)
        if (!ids || !namespaces) continue
        for (let row = 0; row < batch.numRows; row++) track(ids.get(row) as string, namespaces.get(row) as string)
      }
    } else {
      table = await database.createEmptyTable(TABLE, indexSchema(dimension))
      await table.createIndex(COLUMNS.text, { config: Index.fts(), name: TEXT_INDEX })
    }
  } catch (error) {
    folder.remove()
    if (error instanceof IntegrityError || error instanceof UnsupportedFormatError || error instanceof InvalidInputError)
      throw error
    throw new StorageError(snapshot ? 'Could not restore the search index snapshot' : 'Could not create the search index', {
      details: (error as Error).message,
      hint: snapshot
        ? 'The snapshot may be incomplete; delete it and let the vault rebuild its index.'
        : 'Check free space on the tmpfs folder.',
      cause: error,
    })
  }

  let closed = false
  /** Serialises writes. */
  let writeChain: Promise<unknown> = Promise.resolve()
  /** Searches wait on this while files are being deleted (compaction cleanup). */
  let searchGate: Promise<void> = Promise.resolve()
  const activeSearches = new Set<Promise<unknown>>()
  let maintenance: Promise<void> = Promise.resolve()
  let maintenanceTimer: NodeJS.Timeout | undefined
  let maintenanceError: unknown
  let writesSinceCompaction = 0
  /** Set by writes: the next text or hybrid search first checks that the text index covers the table. */
  let textIndexMayLag = false
  let approximate = snapshot ? (await table.listIndices()).some((entry) => entry.name === VECTOR_INDEX) : false

  function assertOpen(): void {
    if (closed)
      throw new InvalidStateError('The search index is closed', { hint: 'Open the vault (or the index) again before using it.' })
  }

  function exclusive<T>(run: () => Promise<T>): Promise<T> {
    const next = writeChain.then(run, run)
    writeChain = next.catch(() => undefined)
    return next
  }

  /** Runs `run` with no search in flight and new searches held back (for file deletion). */
  async function withoutSearches<T>(run: () => Promise<T>): Promise<T> {
    let open!: () => void
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const previous = searchGate
    searchGate = previous.then(() => gate)
    await previous
    await Promise.allSettled([...activeSearches])
    try {
      return await run()
    } finally {
      open()
    }
  }

  async function buildIndices(): Promise<void> {
    const rows = liveIds.size
    const vectorStats = approximate ? await table.indexStats(VECTOR_INDEX) : undefined
    const needsVector = vectorStats
      ? vectorStats.numUnindexedRows > Math.max(tuning.approximateFromRows, 0.25 * vectorStats.numIndexedRows)
      : rows >= tuning.approximateFromRows
    if (needsVector) {
      partitions = Math.max(1, Math.round(Math.sqrt(rows)))
      await table.createIndex(COLUMNS.vector, {
        config: Index.hnswSq({
          distanceType: 'cosine',
          numPartitions: partitions,
          m: tuning.m,
          efConstruction: tuning.efConstruction,
        }),
        name: VECTOR_INDEX,
        replace: true,
      })
      approximate = true
    }
    await refreshTextIndex()
  }

  /**
   * Rebuilds the full-text index when it lags the table by more than a quarter of its rows.
   * LanceDB 0.37 (the last release for Node 20) scores rows missing from the text index with a
   * flat scan that takes its BM25 statistics from the index, and mis-ranks them when the index is
   * small or empty (lance-format/lance#5062, #5871): a text search must never run on a text index
   * that covers too little of the table. Rebuilding costs ~30 ms at 3 000 rows, ~1 s at 100 000,
   * and happens at most each time the table grows by a quarter (amortised O(1) per row).
   */
  async function refreshTextIndex(): Promise<void> {
    const stats = await table.indexStats(TEXT_INDEX)
    if (stats && stats.numUnindexedRows > TEXT_INDEX_LAG * stats.numIndexedRows)
      await table.createIndex(COLUMNS.text, { config: Index.fts(), name: TEXT_INDEX, replace: true })
  }

  /** Postpones background index builds while writes keep coming. */
  function postponeMaintenance(): void {
    if (maintenanceTimer) clearTimeout(maintenanceTimer)
    maintenanceTimer = undefined
  }

  function scheduleMaintenance(): void {
    postponeMaintenance()
    maintenanceTimer = setTimeout(() => {
      maintenanceTimer = undefined
      if (closed) return
      maintenance = maintenance
        .then(async () => {
          if (closed) return
          await buildIndices()
          if (writesSinceCompaction >= COMPACT_AFTER_WRITES) await exclusive(() => compact())
        })
        .catch((error) => {
          maintenanceError = error
        })
    }, tuning.buildDelayMs)
    maintenanceTimer.unref()
  }

  /** Merges small fragments, folds new rows into the indices and deletes superseded versions. */
  async function compact(): Promise<void> {
    await withoutSearches(async () => {
      await table.optimize({ cleanupOlderThan: new Date(Date.now() + 1000), deleteUnverified: true })
    })
    writesSinceCompaction = 0
  }

  async function deleteIds(ids: readonly string[]): Promise<void> {
    for (let start = 0; start < ids.length; start += DELETE_CHUNK) {
      await table.delete(idsPredicate(ids.slice(start, start + DELETE_CHUNK)))
      writesSinceCompaction++
    }
    for (const id of ids) untrack(id)
  }

  function storageError(what: string, error: unknown): StorageError {
    return new StorageError(`Search index ${what} failed`, {
      details: (error as Error).message,
      hint: 'The vault can rebuild the index from its segments: close and reopen it.',
      cause: error,
    })
  }

  async function vectorHits(vector: Float32Array, k: number, where: string | undefined): Promise<IndexHit[]> {
    const run = async (exact: boolean) => {
      let query = table.vectorSearch(vector).distanceType('cosine').limit(k).select([COLUMNS.id, '_distance'])
      if (where) query = query.where(where)
      if (exact || !approximate) query = query.bypassVectorIndex()
      else
        query = query
          .nprobes(Math.min(partitions, Math.max(10, Math.ceil(partitions * tuning.probeFraction))))
          .ef(Math.max(80, 2 * k))
      const rows = (await query.toArray()) as { id: string; _distance: number }[]
      return rows.map((row) => ({ id: row.id, score: 1 - row._distance, distance: row._distance }))
    }
    const hits = await run(false)
    // A selective filter can starve the approximate graph search: fall back to exact search.
    if (where && approximate && hits.length < k && hits.length < liveIds.size) return run(true)
    return hits
  }

  async function textHits(text: string, k: number, where: string | undefined): Promise<IndexHit[]> {
    if (text.trim().length === 0) return []
    let query = table.query().fullTextSearch(new MatchQuery(text, COLUMNS.text)).limit(k).select([COLUMNS.id, '_score'])
    if (where) query = query.where(where)
    const rows = (await query.toArray()) as { id: string; _score: number }[]
    return rows.map((row) => ({ id: row.id, score: row._score }))
  }

  const index: LanceDbIndex = {
    id: LANCEDB_INDEX_ID,
    dimension,
    directory: folder.path,

    async upsert(records) {
      assertOpen()
      parseInput(z.array(recordSchema), records, { what: 'index upsert records', hint: 'Pass MemoryRecord objects.' })
      if (records.length === 0) return
      const latest = new Map<string, MemoryRecord>()
      for (const [position, record] of records.entries()) {
        assertVector(record.embedding, dimension, `records[${position}].embedding`)
        latest.set(record.id, record)
      }
      const batch = latest.size === records.length ? records : [...latest.values()]
      postponeMaintenance()
      await exclusive(async () => {
        try {
          const replaced = batch.filter((record) => liveIds.has(record.id)).map((record) => record.id)
          if (replaced.length) await deleteIds(replaced)
          await table.add(recordsToArrow(batch, dimension))
          textIndexMayLag = true
          writesSinceCompaction++
          for (const record of batch) track(record.id, record.namespace)
        } catch (error) {
          throw storageError('upsert', error)
        }
      })
      scheduleMaintenance()
    },

    async remove(ids) {
      assertOpen()
      parseInput(z.array(z.string()), ids, { what: 'index remove ids', hint: 'Pass an array of record ids.' })
      await exclusive(async () => {
        const present = [...new Set(ids)].filter((id) => liveIds.has(id))
        if (present.length === 0) return
        try {
          await deleteIds(present)
        } catch (error) {
          throw storageError('remove', error)
        }
      })
      scheduleMaintenance()
    },

    async count() {
      assertOpen()
      return liveIds.size
    },

    async readRecords() {
      assertOpen()
      return exclusive(async () => {
        const records: MemoryRecord[] = []
        try {
          // Ask for the next batch before converting this one, so LanceDB's native scan (its own
          // threads) overlaps the conversion on this thread.
          const batches = table.query().select(RECORD_COLUMNS)[Symbol.asyncIterator]()
          let pending = batches.next()
          for (let result = await pending; !result.done; result = await pending) {
            pending = batches.next()
            pending.catch(() => undefined) // awaited on the next turn; keeps an early failure from going unhandled
            for (const record of batchToRecords(result.value, dimension)) records.push(record)
          }
        } catch (error) {
          throw storageError('read', error)
        }
        return records
      })
    },

    async search(parameters: IndexSearchParameters) {
      assertOpen()
      const query = parseInput(searchSchema, parameters, {
        what: 'index search parameters',
        hint: 'Pass { mode, k, vector? (vector/hybrid), text? (text/hybrid), filter? }.',
      })
      const vector = parameters.vector
      if (query.mode !== 'text') {
        if (!vector)
          throw new InvalidInputError(`A ${query.mode} search needs a query vector`, { hint: 'Embed the query text first.' })
        assertVector(vector, dimension, 'query vector')
      }
      if (query.mode !== 'vector' && query.text === undefined)
        throw new InvalidInputError(`A ${query.mode} search needs query text`, { hint: 'Pass `text`.' })
      const namespace = query.filter?.namespace
      if (namespace !== undefined && !namespaceRows.has(namespace)) return []
      if (query.mode !== 'vector' && textIndexMayLag) {
        // Before this search counts as running (a compaction waits for running searches).
        textIndexMayLag = false
        await exclusive(async () => {
          try {
            await refreshTextIndex()
          } catch (error) {
            textIndexMayLag = true
            throw storageError('text index update', error)
          }
        })
      }
      let gate = searchGate
      await gate
      while (gate !== searchGate) {
        gate = searchGate
        await gate
      }
      const hitsWhere = async (where: string | undefined) => {
        if (query.mode === 'vector') return vectorHits(vector as Float32Array, query.k, where)
        if (query.mode === 'text') return textHits(query.text as string, query.k, where)
        const depth = hybridDepth(query.k)
        const [byVector, byText] = await Promise.all([
          vectorHits(vector as Float32Array, depth, where),
          textHits(query.text as string, depth, where),
        ])
        return fuseRankings({ rankings: [byVector, byText], k: query.k })
      }
      const running = (async () => {
        // Every live row in the namespace: the same hits without the filter's cost. A write landing
        // meanwhile may add a row of another namespace: then the filtered search runs after all.
        if (namespace !== undefined && namespaceRows.get(namespace) === liveIds.size) {
          const hits = await hitsWhere(filterPredicate({ ...query.filter, namespace: undefined }))
          if (hits.every((hit) => liveIds.get(hit.id) === namespace)) return hits
        }
        return hitsWhere(filterPredicate(query.filter))
      })()
      activeSearches.add(running)
      try {
        return await running
      } catch (error) {
        throw storageError('search', error)
      } finally {
        activeSearches.delete(running)
      }
    },

    async snapshot(sequence) {
      assertOpen()
      parseInput(z.number().int().min(0), sequence, { what: 'snapshot sequence', hint: 'Pass the manifest sequence number.' })
      if (maintenanceTimer) {
        clearTimeout(maintenanceTimer)
        maintenanceTimer = undefined
      }
      await maintenance
      return exclusive(async () => {
        try {
          await buildIndices()
          await compact()
        } catch (error) {
          throw storageError('snapshot', error)
        }
        const root = join(folder.path, `${TABLE}.lance`)
        const files = new Map<string, Uint8Array>()
        for (const relative of listFiles(root)) files.set(relative, new Uint8Array(readFileSync(join(root, relative))))
        files.set(
          SNAPSHOT_DESCRIPTOR,
          new TextEncoder().encode(JSON.stringify({ format: LANCEDB_INDEX_ID, dimension, table: TABLE, partitions })),
        )
        return { sequence, files }
      })
    },

    async optimize() {
      assertOpen()
      if (maintenanceTimer) {
        clearTimeout(maintenanceTimer)
        maintenanceTimer = undefined
      }
      await maintenance
      await exclusive(async () => {
        try {
          await buildIndices()
          await compact()
        } catch (error) {
          throw storageError('optimize', error)
        }
      })
    },

    async hasApproximateIndex() {
      return approximate
    },

    async close() {
      if (closed) return
      closed = true
      if (maintenanceTimer) clearTimeout(maintenanceTimer)
      await maintenance
      await writeChain
      await Promise.allSettled([...activeSearches])
      table.close()
      folder.remove()
      if (maintenanceError) maintenanceError = undefined
    },
  }
  return index
}

function parseDescriptor(descriptorBytes: Uint8Array | undefined, dimension: number): z.infer<typeof descriptorSchema> {
  if (!descriptorBytes)
    throw new UnsupportedFormatError('Not a LanceDB index snapshot', {
      details: `the snapshot has no ${SNAPSHOT_DESCRIPTOR}`,
      hint: 'Open it with the index kind that wrote it, or let the vault rebuild its index.',
    })
  let descriptor: z.infer<typeof descriptorSchema>
  try {
    descriptor = descriptorSchema.parse(JSON.parse(new TextDecoder().decode(descriptorBytes)))
  } catch (error) {
    throw new UnsupportedFormatError('Unknown LanceDB index snapshot format', {
      details: `${SNAPSHOT_DESCRIPTOR} does not describe a ${LANCEDB_INDEX_ID} snapshot`,
      hint: 'Let the vault rebuild its index.',
      cause: error,
    })
  }
  if (descriptor.dimension !== dimension)
    throw new InvalidInputError('Index snapshot has another dimension', {
      details: `the snapshot holds ${descriptor.dimension}-dimensional vectors; ${dimension} requested`,
      hint: 'Open the index with the dimension of the vault’s embedder.',
    })
  return descriptor
}

/**
 * Writes the snapshot's files into the table folder (decrypted straight there when the reader
 * is a vault's), then reads and removes the descriptor.
 */
function restoreFiles(root: string, reader: IndexSnapshotReader, dimension: number): z.infer<typeof descriptorSchema> {
  const tableRoot = join(root, `${TABLE}.lance`)
  const paths = reader.writeFiles(tableRoot)
  const descriptorPath = join(tableRoot, SNAPSHOT_DESCRIPTOR)
  const descriptor = parseDescriptor(paths.includes(SNAPSHOT_DESCRIPTOR) ? readFileSync(descriptorPath) : undefined, dimension)
  rmSync(descriptorPath)
  return descriptor
}
