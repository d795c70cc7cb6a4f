import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import type { JsonValue } from '../crypto/index.js'
import { randomId } from '../crypto/random.js'
import { NotFoundError } from '../errors.js'
import type { AgentSigner } from '../identity/index.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { openTrace, type TraceWriter } from '../trace/index.js'

/** zod schema of a run's status file (`runs/<id>/run.json`). */
export const runRecordSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9-]{1,80}$/),
  owner: z.string(),
  kind: z.enum(['agent', 'mcp']),
  agent: z.string().optional(),
  status: z.enum(['running', 'completed', 'failed', 'cancelled', 'interrupted']),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  error: z.string().optional(),
  /**
   * The owner's vault holding the trace's body key (`verity:trace-keys`): private bodies are sealed under it.
   * Absent: no vault was open, so private fields were withheld (only their digest is written).
   */
  sealedIn: z.string().optional(),
})
export type RunRecord = z.infer<typeof runRecordSchema>
export type RunStatus = RunRecord['status']

/** One event of a run, as streamed over SSE: a trace entry landed, or the run changed status. */
export type RunEvent =
  | { type: 'entry'; seq: number; kind: string; hash: string; forSeq?: number | undefined }
  | { type: 'status'; status: RunStatus; error?: string | undefined }

export type RunStore = {
  readonly directory: string
  /** Creates a run folder, its status file and its signed trace (run-start), and returns a trace that reports events. */
  start(parameters: {
    owner: string
    kind: RunRecord['kind']
    agent?: string | undefined
    metadata?: JsonValue | undefined
    /** The vault name that holds (or will hold) the trace's body key. */
    sealedIn?: string | undefined
  }): Promise<{
    run: RunRecord
    trace: TraceWriter
  }>
  finish(id: string, status: Exclude<RunStatus, 'running'>, error?: string | undefined): RunRecord
  /** Records the vault that holds the trace's body key, once known (MCP runs seal from the first open vault on). */
  sealedIn(id: string, vault: string): RunRecord
  get(id: string): RunRecord | undefined
  /** The run if it exists and belongs to `owner`, else `NotFoundError` (another owner's run is not revealed). */
  owned(id: string, owner: string): RunRecord
  list(owner: string): RunRecord[]
  tracePath(id: string): string
  receiptsDirectory(id: string): string
  subscribe(id: string, listener: (event: RunEvent) => void): () => void
  emit(id: string, event: RunEvent): void
  /** Marks runs left `running` by a previous daemon process as interrupted and ends their traces. */
  recoverInterrupted(signer: AgentSigner): Promise<string[]>
}
export type OpenRunStoreParameters = { directory: string; signer: AgentSigner }
export type OpenRunStoreReturnType = RunStore

/**
 * The daemon's runs: one folder per run with a status file (atomic writes) and a signed trace, plus live events.
 *
 * @example
 * ```ts
 * const runs = openRunStore({ directory: join(home, 'runs'), signer })
 * const { run, trace } = await runs.start({ owner: 'alice', kind: 'agent', agent: 'risk-desk' })
 * ```
 */
export function openRunStore(parameters: OpenRunStoreParameters): OpenRunStoreReturnType {
  const { directory, signer } = parameters
  mkdirSync(directory, { recursive: true, mode: 0o700 })
  const listeners = new Map<string, Set<(event: RunEvent) => void>>()
  const statusPath = (id: string) => join(directory, id, 'run.json')
  const write = (run: RunRecord) => writeFileAtomic({ path: statusPath(run.id), data: `${JSON.stringify(run, null, 2)}\n` })
  const read = (id: string): RunRecord | undefined => {
    if (!/^[A-Za-z0-9-]{1,80}$/.test(id) || !existsSync(statusPath(id))) return undefined
    const parsed = runRecordSchema.safeParse(JSON.parse(readFileSync(statusPath(id), 'utf8')))
    return parsed.success ? parsed.data : undefined
  }
  const store: RunStore = {
    directory,
    async start({ owner, kind, agent, metadata, sealedIn }) {
      const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomId().slice(0, 12)}`
      mkdirSync(join(directory, id, 'receipts'), { recursive: true, mode: 0o700 })
      const run: RunRecord = {
        id,
        owner,
        kind,
        ...(agent ? { agent } : {}),
        status: 'running',
        startedAt: new Date().toISOString(),
        ...(sealedIn ? { sealedIn } : {}),
      }
      write(run)
      const trace = await openTrace({
        path: store.tracePath(id),
        signer,
        metadata: { daemonRun: id, kind, ...(agent ? { agent } : {}), ...(metadata !== undefined ? { metadata } : {}) },
      })
      return { run, trace: reportingTrace(trace, (event) => store.emit(id, event)) }
    },
    finish(id, status, error) {
      const run = read(id)
      if (!run) throw new NotFoundError('No such run', { details: id })
      const finished: RunRecord = { ...run, status, endedAt: new Date().toISOString(), ...(error ? { error } : {}) }
      write(finished)
      store.emit(id, { type: 'status', status, ...(error ? { error } : {}) })
      return finished
    },
    sealedIn(id, vault) {
      const run = read(id)
      if (!run) throw new NotFoundError('No such run', { details: id })
      const updated: RunRecord = { ...run, sealedIn: vault }
      write(updated)
      return updated
    },
    get: read,
    owned(id, owner) {
      const run = read(id)
      if (!run || run.owner !== owner)
        throw new NotFoundError('No such run', { details: id, hint: 'List your runs with GET /v1/runs.' })
      return run
    },
    list(owner) {
      return readdirSync(directory)
        .map(read)
        .filter((run): run is RunRecord => run !== undefined && run.owner === owner)
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
    },
    tracePath: (id) => join(directory, id, 'trace.jsonl'),
    receiptsDirectory: (id) => join(directory, id, 'receipts'),
    subscribe(id, listener) {
      const set = listeners.get(id) ?? new Set()
      set.add(listener)
      listeners.set(id, set)
      return () => {
        set.delete(listener)
        if (set.size === 0) listeners.delete(id)
      }
    },
    emit(id, event) {
      for (const listener of listeners.get(id) ?? []) listener(event)
    },
    async recoverInterrupted(recoverySigner) {
      const recovered: string[] = []
      for (const id of readdirSync(directory)) {
        const run = read(id)
        if (run?.status !== 'running') continue
        if (existsSync(store.tracePath(id))) {
          // Resume the trace (cutting a torn last line, never an acknowledged one) and end it as interrupted.
          const trace = await openTrace({ path: store.tracePath(id), signer: recoverySigner, repair: true })
          await trace.end({ body: { status: 'interrupted', interrupted: true, reason: 'daemon-stopped' } })
        }
        write({ ...run, status: 'interrupted', endedAt: new Date().toISOString(), error: 'daemon restarted' })
        recovered.push(id)
      }
      return recovered
    },
  }
  return store
}

/** A trace writer that reports each acknowledged entry to `onEvent` (for SSE and the explorer). */
function reportingTrace(trace: TraceWriter, onEvent: (event: RunEvent) => void): TraceWriter {
  return new Proxy(trace, {
    get(target, property, receiver) {
      if (property === 'append')
        return async (parameters: Parameters<TraceWriter['append']>[0]) => {
          const result = await target.append(parameters)
          onEvent({ type: 'entry', seq: result.seq, kind: parameters.kind, hash: result.hash })
          return result
        }
      if (property === 'recordReceiptProven')
        return async (parameters: Parameters<TraceWriter['recordReceiptProven']>[0]) => {
          const result = await target.recordReceiptProven(parameters)
          onEvent({ type: 'entry', seq: result.seq, kind: 'receipt-proven', hash: result.hash, forSeq: parameters.forSeq })
          return result
        }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
