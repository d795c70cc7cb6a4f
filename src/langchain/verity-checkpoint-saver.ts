import type { RunnableConfig } from '@langchain/core/runnables'
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type DeltaChannelHistory,
  MemorySaver,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint'
import { fromBase64, toBase64 } from '../crypto/bytes.js'
import { IntegrityError, InvalidInputError } from '../errors.js'
import type { MemoryRecord } from '../memory/record.js'
import { type AdapterVault, fixedEmbedding, listAll, recordId, upsertRecord } from './vault-records.js'

/** The vault namespace that holds LangGraph threads (checkpoints and pending writes). */
export const CHECKPOINT_NAMESPACE = 'langgraph:checkpoints'

export type VerityCheckpointSaverParameters = {
  /** An open, writable vault: threads are stored in it, encrypted, and travel with `vault export`/`import`. */
  vault: AdapterVault
  /** Vault namespace for the threads (default {@link CHECKPOINT_NAMESPACE}). */
  namespace?: string | undefined
  /** LangGraph serializer (default: LangGraph's `JsonPlusSerializer`). */
  serde?: SerializerProtocol | undefined
}

type StoredCheckpoint = [Uint8Array, Uint8Array, string | undefined]
type StoredWrite = [string, string, Uint8Array, string?]
type CheckpointBody = {
  kind: 'checkpoint'
  thread: string
  ns: string
  id: string
  checkpoint: string
  metadata: string
  parent: string | null
}
type BlobBody = { kind: 'blob'; thread: string; ns: string; channel: string; version: string; type: string; value: string }
type WritesBody = {
  kind: 'writes'
  thread: string
  ns: string
  id: string
  writes: Record<string, [string, string, string, string]>
}

/**
 * A LangGraph checkpoint saver that keeps threads inside a Verity vault: every checkpoint, every
 * channel value and every set of pending writes is a vault record (encrypted in its segments,
 * durable when the call returns, carried by `vault export` / `vault import`). Like LangGraph's
 * Postgres saver, a checkpoint stores only the channels that changed (`newVersions`), each
 * value once per version; reads rebuild `channel_values` from `channel_versions`. Reads are served
 * from an in-memory view loaded from the vault when the saver is made (LangGraph's `MemorySaver`
 * bookkeeping underneath). It passes `@langchain/langgraph-checkpoint-validation` in full.
 *
 * Checkpoint records carry a fixed embedding: they are never searched by meaning.
 *
 * @example
 * ```ts
 * const vault = await openVault({ path: './memory', guards: [passphraseGuard({ passphrase })], embedder })
 * const checkpointer = new VerityCheckpointSaver({ vault })
 * const agent = createAgent({ model, tools, checkpointer })
 * await agent.invoke({ messages }, { configurable: { thread_id: 'chat-1' } })
 * ```
 */
export class VerityCheckpointSaver extends MemorySaver {
  readonly vault: AdapterVault
  readonly namespace: string
  #queue: Promise<unknown> = Promise.resolve()
  /** `[thread, ns, channel, version]` JSON -> serialized channel value. */
  #blobs = new Map<string, [string, Uint8Array]>()

  constructor(parameters: VerityCheckpointSaverParameters) {
    if (typeof parameters !== 'object' || parameters === null || typeof parameters.vault?.add !== 'function')
      throw new InvalidInputError('VerityCheckpointSaver needs an open vault', {
        details: 'expected { vault } with an open vault (createVault/openVault)',
        hint: 'new VerityCheckpointSaver({ vault: await openVault({ path, guards, embedder }) })',
        docsPath: 'agent.md',
      })
    super(parameters.serde)
    this.vault = parameters.vault
    this.namespace = parameters.namespace ?? CHECKPOINT_NAMESPACE
    for (const record of listAll(this.vault, this.namespace)) this.#load(record)
  }

  #load(record: MemoryRecord): void {
    let body: CheckpointBody | WritesBody | BlobBody
    try {
      body = JSON.parse(record.text) as CheckpointBody | WritesBody | BlobBody
    } catch (cause) {
      throw new IntegrityError('A checkpoint record of the vault is not valid JSON', {
        details: `record ${record.id} in namespace ${this.namespace}`,
        cause,
      })
    }
    if (body.kind === 'checkpoint') {
      this.storage[body.thread] ??= Object.create(null) as Record<string, Record<string, StoredCheckpoint>>
      const threads = this.storage[body.thread] as Record<string, Record<string, StoredCheckpoint>>
      threads[body.ns] ??= Object.create(null) as Record<string, StoredCheckpoint>
      ;(threads[body.ns] as Record<string, StoredCheckpoint>)[body.id] = [
        fromBase64(body.checkpoint, 'checkpoint'),
        fromBase64(body.metadata, 'metadata'),
        body.parent ?? undefined,
      ]
    } else if (body.kind === 'blob') {
      this.#blobs.set(blobKey(body.thread, body.ns, body.channel, body.version), [body.type, fromBase64(body.value, 'blob')])
    } else if (body.kind === 'writes') {
      const writes: Record<string, StoredWrite> = Object.create(null)
      for (const [key, [taskId, channel, value, taskPath]] of Object.entries(body.writes))
        writes[key] = [taskId, channel, fromBase64(value, 'write'), taskPath]
      this.writes[outerKey(body.thread, body.ns, body.id)] = writes
    }
  }

  /** Runs vault writes one at a time (a record is added once, then updated). */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(task, task)
    this.#queue = next.catch(() => undefined)
    return next
  }

  async #withChannelValues(tuple: CheckpointTuple): Promise<CheckpointTuple> {
    const thread = String(tuple.config.configurable?.thread_id)
    const ns = String(tuple.config.configurable?.checkpoint_ns ?? '')
    // Stored checkpoints hold no channel values, except what LangGraph's migration of v<4 checkpoints adds.
    const values: Record<string, unknown> = { ...tuple.checkpoint.channel_values }
    for (const [channel, version] of Object.entries(tuple.checkpoint.channel_versions ?? {})) {
      const blob = this.#blobs.get(blobKey(thread, ns, channel, String(version)))
      if (blob) values[channel] = await this.serde.loadsTyped(blob[0], blob[1])
    }
    tuple.checkpoint.channel_values = values
    return tuple
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const tuple = await super.getTuple(config)
    return tuple ? this.#withChannelValues(tuple) : undefined
  }

  override async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    for await (const tuple of super.list(config, options)) yield await this.#withChannelValues(tuple)
  }

  /** LangGraph's generic parent walk (through {@link getTuple}), since channel values live in blobs here. */
  override async getDeltaChannelHistory(options: {
    config: RunnableConfig
    channels: string[]
  }): Promise<Record<string, DeltaChannelHistory>> {
    return BaseCheckpointSaver.prototype.getDeltaChannelHistory.call(this, options)
  }

  override async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions = {},
  ): Promise<RunnableConfig> {
    const thread = config.configurable?.thread_id as string | undefined
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? ''
    const blobs: BlobBody[] = []
    if (thread !== undefined)
      for (const [channel, version] of Object.entries(newVersions)) {
        if (!(channel in (checkpoint.channel_values ?? {}))) continue
        const [type, bytes] = await this.serde.dumpsTyped(checkpoint.channel_values[channel])
        blobs.push({ kind: 'blob', thread, ns, channel, version: String(version), type, value: toBase64(bytes) })
      }
    const saved = await super.put(config, { ...checkpoint, channel_values: {} }, metadata)
    const savedThread = String(saved.configurable?.thread_id)
    const id = String(saved.configurable?.checkpoint_id)
    if (blobs.length > 0)
      try {
        await this.#serial(async () => {
          const fresh = blobs.filter((blob) => !this.#blobs.has(blobKey(blob.thread, blob.ns, blob.channel, blob.version)))
          if (fresh.length === 0) return
          await this.vault.add(
            fresh.map((blob) => ({
              id: recordId('bl', [blob.thread, blob.ns, blob.channel, blob.version]),
              text: JSON.stringify(blob),
              namespace: this.namespace,
              metadata: { kind: 'blob', thread: blob.thread },
              embedding: fixedEmbedding(this.vault),
            })),
          )
          for (const blob of fresh)
            this.#blobs.set(blobKey(blob.thread, blob.ns, blob.channel, blob.version), [blob.type, fromBase64(blob.value)])
        })
      } catch (error) {
        delete this.storage[savedThread]?.[ns]?.[id]
        throw error
      }
    const stored = this.storage[savedThread]?.[ns]?.[id] as StoredCheckpoint
    const body: CheckpointBody = {
      kind: 'checkpoint',
      thread: savedThread,
      ns,
      id,
      checkpoint: toBase64(stored[0]),
      metadata: toBase64(stored[1]),
      parent: stored[2] ?? null,
    }
    try {
      await this.#serial(() =>
        upsertRecord(this.vault, {
          id: recordId('cp', [savedThread, ns, id]),
          text: JSON.stringify(body),
          namespace: this.namespace,
          metadata: { kind: 'checkpoint', thread: savedThread },
          embedding: fixedEmbedding(this.vault),
        }),
      )
    } catch (error) {
      // Not durable, so not kept: the in-memory view never shows what the vault does not hold.
      delete this.storage[savedThread]?.[ns]?.[id]
      throw error
    }
    return saved
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const thread = config.configurable?.thread_id as string
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? ''
    const id = config.configurable?.checkpoint_id as string
    const key = outerKey(thread, ns, id)
    const before = this.writes[key] ? { ...this.writes[key] } : undefined
    await super.putWrites(config, writes, taskId, taskPath)
    const current = this.writes[key] ?? {}
    const body: WritesBody = { kind: 'writes', thread, ns, id, writes: {} }
    for (const [inner, [task, channel, value, path]] of Object.entries(current))
      body.writes[inner] = [task, channel, toBase64(value), path ?? '']
    try {
      await this.#serial(() =>
        upsertRecord(this.vault, {
          id: recordId('wr', [thread, ns, id]),
          text: JSON.stringify(body),
          namespace: this.namespace,
          metadata: { kind: 'writes', thread },
          embedding: fixedEmbedding(this.vault),
        }),
      )
    } catch (error) {
      if (before) this.writes[key] = before
      else delete this.writes[key]
      throw error
    }
  }

  override async deleteThread(threadId: string): Promise<void> {
    await this.#serial(async () => {
      const ids = listAll(this.vault, this.namespace, { thread: threadId }).map((record) => record.id)
      if (ids.length > 0) await this.vault.delete(ids)
      for (const key of [...this.#blobs.keys()]) if ((JSON.parse(key) as string[])[0] === threadId) this.#blobs.delete(key)
    })
    await super.deleteThread(threadId)
  }
}

function blobKey(thread: string, ns: string, channel: string, version: string): string {
  return JSON.stringify([thread, ns, channel, version])
}

function outerKey(thread: string, ns: string, id: string): string {
  return JSON.stringify([thread, ns, id])
}
