import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { extname, isAbsolute, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import {
  type AgentScript,
  type AgentScriptContext,
  createProofPolicy,
  createScriptedChatModel,
  createVerityAgent,
  traceRecorder,
  vaultMemoryStore,
} from '../agent/index.js'
import { toHex } from '../crypto/bytes.js'
import { sha256 } from '../crypto/digest.js'
import {
  AbortedError,
  AccessDeniedError,
  AgentScriptError,
  InvalidInputError,
  InvalidStateError,
  isVerityError,
  NotFoundError,
} from '../errors.js'
import type { AgentIdentity } from '../identity/index.js'
import type { Vault } from '../memory/index.js'
import { loadModelReference, type ModelPackageResolver } from '../proofs/model-reference.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { createInMemoryMemoryStore, provenTool, receiptDirectory, verifiableInferenceTool } from '../tools/index.js'
import type { TraceWriter } from '../trace/index.js'
import type { InferenceService } from './inference-service.js'
import { runKeyResolver, sealRunTrace } from './run-sealing.js'
import type { RunStore } from './run-store.js'
import { type Principal, scopeAllows } from './scopes.js'
import { type VaultSessions, vaultNameSchema } from './vault-sessions.js'

const isHubModel = (model: string) => model.startsWith('hub:') || /^(bafy|bafk)[a-z2-7]+$/.test(model)
const agentName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, underscore, dash (1-64)')

/** zod schema of an agent definition: the offline planner model, proven tools by model name, memory in a vault. */
export const agentDefinitionSchema = z.object({
  /** Model packages to expose as proven tools: a served model's name or digest, or `hub:NAME[@VERSION]` / a package CID in the daemon's hub. */
  tools: z.array(z.string().min(1).max(200)).max(16).default([]),
  /** Wait for proofs before acting on a tool result, or act on pending receipts. */
  proofs: z.enum(['allow-pending', 'require-verified']).default('allow-pending'),
  /** The owner's open vault to use as memory; without it the agent's memory lives only for the run. */
  vault: vaultNameSchema.optional(),
  systemPrompt: z.string().max(20_000).optional(),
  /** Keep decision bodies out of the trace file (blobs only). */
  privateBodies: z.boolean().default(false),
})
export type AgentDefinition = z.infer<typeof agentDefinitionSchema>

/** zod schema of `POST /v1/agents`. */
export const createAgentRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('definition'), name: agentName, definition: agentDefinitionSchema }),
  z.object({ kind: z.literal('script'), name: agentName, path: z.string().min(1).max(4096) }),
])
export type CreateAgentRequest = z.infer<typeof createAgentRequestSchema>

/** zod schema of `POST /v1/agents/{agent}/runs`. */
export const runAgentRequestSchema = z.object({ task: z.string().min(1).max(100_000) })

type StoredAgent = CreateAgentRequest & { owner: string; createdAt: string }

export type AgentHost = {
  create(principal: Principal, request: CreateAgentRequest): { name: string; kind: string; createdAt: string }
  list(owner: string): { name: string; kind: string; createdAt: string }[]
  /** Starts a run; returns at once with its id (steps stream over SSE). */
  run(principal: Principal, name: string, task: string): Promise<{ runId: string }>
  cancel(owner: string, runId: string): boolean
  /** Resolves when the run finishes (for tests and graceful shutdown). */
  done(runId: string): Promise<void> | undefined
  /** Aborts every run and waits for them to settle. */
  drain(parameters: { abort: boolean }): Promise<void>
  active(): number
}
export type CreateAgentHostParameters = {
  directory: string
  identity: AgentIdentity
  runs: RunStore
  vaults: VaultSessions
  inference: InferenceService
  /** Resolves `hub:NAME[@VERSION]` and CID tools of definitions (the daemon's hub). */
  modelResolver?: ModelPackageResolver | undefined
}
export type CreateAgentHostReturnType = AgentHost

/**
 * Hosts agents for the daemon: definitions and scripts per owner, runs with signed traces, cancellation.
 *
 * @example
 * ```ts
 * const agents = createAgentHost({ directory: join(home, 'agents'), identity, runs, vaults, inference })
 * agents.create(principal, { kind: 'definition', name: 'desk', definition: { tools: ['transaction-risk'] } })
 * const { runId } = await agents.run(principal, 'desk', 'Assess transaction 42')
 * ```
 */
export function createAgentHost(parameters: CreateAgentHostParameters): CreateAgentHostReturnType {
  const { directory, identity, runs, vaults, inference } = parameters
  const active = new Map<string, { owner: string; controller: AbortController; done: Promise<void> }>()
  const folderOf = (owner: string) => join(directory, toHex(sha256(owner)).slice(0, 32))
  const read = (owner: string, name: string): StoredAgent => {
    const path = join(folderOf(owner), `${agentName.parse(name)}.json`)
    if (!existsSync(path)) throw new NotFoundError('No such agent', { details: name, hint: 'Create it with POST /v1/agents.' })
    return JSON.parse(readFileSync(path, 'utf8')) as StoredAgent
  }
  const summary = (agent: StoredAgent) => ({ name: agent.name, kind: agent.kind, createdAt: agent.createdAt })

  const runDefinition = async (
    agent: StoredAgent & { kind: 'definition' },
    task: string,
    trace: TraceWriter,
    runId: string,
    signal: AbortSignal,
  ) => {
    const definition = agent.definition
    const receipts = receiptDirectory({ dir: runs.receiptsDirectory(runId) })
    const packages = await Promise.all(
      definition.tools.map(async (model) =>
        isHubModel(model)
          ? (await loadModelReference({ model, resolver: parameters.modelResolver })).package
          : inference.model(model),
      ),
    )
    const prover = packages.length > 0 ? await inference.prover() : undefined
    const tools = prover
      ? packages.map((model) => provenTool({ tool: verifiableInferenceTool({ package: model, prover }), receipts }))
      : []
    const invoke = async (memoryVault: Vault | undefined) => {
      const created = createVerityAgent({
        name: agent.name,
        model: createScriptedChatModel(),
        tools,
        memory: memoryVault ? vaultMemoryStore({ vault: memoryVault }) : createInMemoryMemoryStore(),
        recorder: traceRecorder({ trace, privateBodies: definition.privateBodies }),
        policy:
          definition.proofs === 'require-verified'
            ? createProofPolicy({ proofs: 'require-verified', timeoutMs: 600_000 })
            : createProofPolicy({ proofs: 'allow-pending' }),
        ...(definition.systemPrompt ? { systemPrompt: definition.systemPrompt } : {}),
      })
      const result = await created.invoke(task, { signal })
      // Proofs still in flight land in the trace as receipt-proven entries before the run ends.
      await created.settle()
      return result.answer
    }
    return definition.vault ? vaults.use(agent.owner, definition.vault, (vault) => invoke(vault)) : invoke(undefined)
  }

  const runScript = async (
    agent: StoredAgent & { kind: 'script' },
    task: string,
    trace: TraceWriter,
    runId: string,
    signal: AbortSignal,
  ) => {
    let module: unknown
    try {
      module = await import(pathToFileURL(agent.path).href)
    } catch (cause) {
      throw new AgentScriptError('Could not load the agent script', {
        details: `${agent.path}: ${(cause as Error).message}`,
        cause,
      })
    }
    const main = (module as { default?: unknown }).default
    if (typeof main !== 'function')
      throw new AgentScriptError('The agent script has no default export function', { details: agent.path })
    const home = join(folderOf(agent.owner), `${agent.name}.home`)
    mkdirSync(home, { recursive: true, mode: 0o700 })
    const context: AgentScriptContext & { signal: AbortSignal } = {
      home,
      args: [task],
      json: true,
      runId,
      signal,
      identity: async () => identity,
      // the daemon's prover backend, shared: closing it is the daemon's job
      prover: async () =>
        new Proxy(await inference.prover(), {
          get: (target, key) => (key === 'close' ? async () => undefined : Reflect.get(target, key)),
        }),
      async openVault(options = {}) {
        const name = options.name ?? vaults.defaultName(agent.owner)
        if (!name)
          throw new InvalidStateError('The owner has no open vault', { hint: 'Open one with POST /v1/vaults/{vault}/open.' })
        // The script borrows the daemon's session: closing it is the daemon's job.
        const vault = await vaults.use(agent.owner, name, (open) => open)
        return new Proxy(vault, { get: (target, key) => (key === 'close' ? async () => undefined : Reflect.get(target, key)) })
      },
      async openTrace() {
        // One trace per run: the script writes into the run's trace, the daemon ends it.
        return new Proxy(trace, {
          get: (target, key) => (key === 'end' || key === 'close' ? async () => undefined : Reflect.get(target, key)),
        }) as TraceWriter
      },
      model: () => createScriptedChatModel(),
      modelResolver: () => {
        if (parameters.modelResolver) return parameters.modelResolver
        throw new NotFoundError('This daemon has no hub to resolve models in', {
          hint: 'Start it with hubDirectory (VERITY_DAEMON_HUB).',
        })
      },
      log: (message) => runs.emit(runId, { type: 'entry', seq: -1, kind: 'log', hash: message.slice(0, 200) }),
    }
    return (main as AgentScript)(context)
  }

  return {
    create(principal, request) {
      const input = createAgentRequestSchema.parse(request)
      if (input.kind === 'script') {
        if (!scopeAllows(principal.scopes, 'admin', 'agent'))
          throw new AccessDeniedError('Script agents need the admin:agent scope', {
            hint: 'A script runs code in the daemon: only an admin token may register one.',
          })
        if (!isAbsolute(input.path) || !existsSync(input.path) || !['.js', '.mjs', '.ts', '.mts'].includes(extname(input.path)))
          throw new InvalidInputError('The agent script must be an existing absolute .js/.mjs/.ts path on the daemon host', {
            details: input.path,
          })
      }
      // Served models are checked now; hub names and CIDs resolve (ModelNotInHubError when missing) when a run starts.
      if (input.kind === 'definition') for (const model of input.definition.tools) if (!isHubModel(model)) inference.model(model)
      mkdirSync(folderOf(principal.owner), { recursive: true, mode: 0o700 })
      const stored: StoredAgent = { ...input, owner: principal.owner, createdAt: new Date().toISOString() }
      writeFileAtomic({
        path: join(folderOf(principal.owner), `${input.name}.json`),
        data: `${JSON.stringify(stored, null, 2)}\n`,
      })
      return summary(stored)
    },
    list(owner) {
      const folder = folderOf(owner)
      if (!existsSync(folder)) return []
      return readdirSync(folder)
        .filter((file) => file.endsWith('.json'))
        .map((file) => summary(JSON.parse(readFileSync(join(folder, file), 'utf8')) as StoredAgent))
    },
    async run(principal, name, task) {
      const agent = read(principal.owner, name)
      // Private bodies are sealed under a key kept in the run's vault, else the owner's open vault (run-sealing.ts).
      const sealVault = (agent.kind === 'definition' ? agent.definition.vault : undefined) ?? vaults.defaultName(principal.owner)
      const started = await runs.start({ owner: principal.owner, kind: 'agent', agent: agent.name, sealedIn: sealVault })
      const { run } = started
      const trace = sealRunTrace({
        trace: started.trace,
        key: runKeyResolver({
          vaults,
          runs,
          owner: principal.owner,
          runId: run.id,
          origin: started.trace.origin,
          vault: sealVault,
        }),
      })
      const controller = new AbortController()
      const done = (async () => {
        try {
          await trace.append({ kind: 'note', body: { event: 'task', task }, private: true })
          const answer =
            agent.kind === 'definition'
              ? await runDefinition(agent, task, trace, run.id, controller.signal)
              : await runScript(agent, task, trace, run.id, controller.signal)
          if (controller.signal.aborted) throw new AbortedError('Cancelled')
          // run-end is a control entry, never private: the answer goes in a private note like the task
          await trace.append({ kind: 'note', body: { event: 'answer', answer: (answer ?? null) as never }, private: true })
          await trace.end({ body: { status: 'completed' } })
          runs.finish(run.id, 'completed')
        } catch (error) {
          const cancelled = controller.signal.aborted
          const message = isVerityError(error) ? (error as { shortMessage: string }).shortMessage : 'the agent failed'
          // the message may quote the task or a tool's arguments: a private note, like the answer; run-end keeps codes
          await trace
            .append({ kind: 'note', body: { event: 'error', error: message }, private: true })
            .then(() =>
              trace.end({
                body: {
                  status: cancelled ? 'cancelled' : 'failed',
                  ...(isVerityError(error) ? { errorCode: (error as { code: string }).code } : {}),
                },
              }),
            )
            .catch(() => trace.close())
          runs.finish(run.id, cancelled ? 'cancelled' : 'failed', message)
        } finally {
          active.delete(run.id)
        }
      })()
      active.set(run.id, { owner: principal.owner, controller, done })
      return { runId: run.id }
    },
    cancel(owner, runId) {
      const entry = active.get(runId)
      if (!entry || entry.owner !== owner) return false
      entry.controller.abort()
      return true
    },
    done: (runId) => active.get(runId)?.done,
    async drain({ abort }) {
      if (abort) for (const entry of active.values()) entry.controller.abort()
      await Promise.all([...active.values()].map((entry) => entry.done))
    },
    active: () => active.size,
  }
}
