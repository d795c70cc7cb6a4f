import { existsSync, mkdirSync } from 'node:fs'
import { extname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Command } from 'commander'
import type { AgentScript, AgentScriptContext } from '../../agent/agent-script.js'
import { resolveChatModel } from '../../agent/resolve-chat-model.js'
import { AgentScriptError, InvalidInputError, isVerityError, NotFoundError } from '../../errors.js'
import type { AgentIdentity } from '../../identity/agent-identity.js'
import type { Vault } from '../../memory/vault.js'
import type { ProverBackend } from '../../proofs/prover-backend.js'
import { openTrace, type TraceWriter } from '../../trace/open-trace.js'
import { newRunId, openHomeIdentity, openHomeVault, prepareHome } from '../agent-home.js'
import { addEmbedderOption, type EmbedderOptionValues, embedderSpecOf } from '../embedder-option.js'
import { printResult } from '../output.js'
import { type ProverChoice, type ProverOptions, proverChoiceOf, withProverOptions } from '../prover-options.js'

/**
 * `verity agent run SCRIPT [--home DIR] [--json] [-- args...]`: runs a user's agent script (see
 * `AgentScriptContext` in `verity/agent` and docs/agent.md for the contract).
 */

export type RunAgentScriptParameters = {
  script: string
  home: string
  args?: readonly string[] | undefined
  json?: boolean | undefined
  /** `provider:model` for `initChatModel`: what `context.model()` returns (default: the offline scripted planner). */
  model?: string | undefined
  /** `--embedder` / `--embedder-options` for the vaults `context.openVault()` opens (default: each vault's recorded spec). */
  embedder?: EmbedderOptionValues | undefined
  /** The hub `context.modelResolver()` resolves names and CIDs in (default: `$VERITY_HUB_HOME` or `~/.verity/hub`). */
  hub?: string | undefined
  /** The backend `context.prover()` creates (see `proverChoiceOf`; default `$VERITY_PROVER`, else auto). */
  prover?: ProverChoice | undefined
}
export type RunAgentScriptReturnType = { script: string; home: string; runId: string; traces: string[]; result: unknown }

async function importScript(path: string): Promise<unknown> {
  const url = pathToFileURL(path).href
  try {
    return await import(url)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' || extname(path) !== '.ts') throw error
    // A TypeScript script under plain node: register tsx's loader when it is installed.
    let register: (() => unknown) | undefined
    try {
      ;({ register } = (await import('tsx/esm/api' as string)) as { register: () => unknown })
    } catch {
      throw new AgentScriptError('Cannot load a TypeScript script without tsx', {
        details: path,
        hint: 'Install tsx (npm i -D tsx) or compile the script to .js/.mjs, or run: node --import tsx $(which verity) agent run ...',
        docsPath: 'agent.md',
        cause: error,
      })
    }
    register()
    return import(url)
  }
}

/**
 * Loads and runs an agent script with its context; closes what the helpers opened.
 *
 * @example
 * ```ts
 * const { result } = await runAgentScript({ script: 'examples/scripted-agent.ts', home: '.verity-agent' })
 * ```
 */
export async function runAgentScript(parameters: RunAgentScriptParameters): Promise<RunAgentScriptReturnType> {
  const script = resolve(parameters.script)
  if (!existsSync(script))
    throw new NotFoundError('The agent script does not exist', {
      details: script,
      hint: 'Pass the path of a .ts, .js or .mjs file.',
    })
  const chatModel = await resolveChatModel({ model: parameters.model })
  if (!['.ts', '.js', '.mjs', '.mts'].includes(extname(script)))
    throw new InvalidInputError('Unsupported agent script', { details: script, hint: 'Use a .ts, .mts, .js or .mjs module.' })
  let module: unknown
  try {
    module = await importScript(script)
  } catch (error) {
    if (isVerityError(error)) throw error
    throw new AgentScriptError('Could not load the agent script', {
      details: `${script}: ${(error as Error).message}`,
      hint: 'Fix the error in the script (it must be an ES module).',
      docsPath: 'agent.md',
      cause: error,
    })
  }
  const main = (module as { default?: unknown }).default
  if (typeof main !== 'function')
    throw new AgentScriptError('The agent script has no default export function', {
      details: script,
      hint: 'Write: export default async function (context) { ... }',
      docsPath: 'agent.md',
    })

  const home = prepareHome(parameters.home)
  const runId = newRunId()
  const vaults: Vault[] = []
  const traces: TraceWriter[] = []
  let identity: Promise<AgentIdentity> | undefined
  let prover: Promise<ProverBackend> | undefined
  const context: AgentScriptContext = {
    home,
    args: parameters.args ?? [],
    json: parameters.json ?? false,
    runId,
    identity() {
      identity ??= openHomeIdentity(home).then((opened) => opened.identity)
      return identity
    },
    async openVault(options = {}) {
      const { vault } = await openHomeVault({ home, name: options.name, embedder: parameters.embedder })
      vaults.push(vault)
      return vault
    },
    async openTrace(options = {}) {
      const name = options.name ?? 'trace'
      if (!/^[A-Za-z0-9._-]{1,100}$/.test(name))
        throw new InvalidInputError('Bad trace name', { details: name, hint: 'Use letters, digits, dot, underscore or dash.' })
      const dir = join(home, 'runs', runId)
      mkdirSync(dir, { recursive: true })
      const { signer } = await context.identity()
      const trace = await openTrace({ path: join(dir, `${name}.jsonl`), signer, metadata: { script, runId } })
      traces.push(trace)
      return trace
    },
    prover() {
      prover ??= Promise.all([import('../../proofs/create-prover.js'), context.identity()]).then(
        ([{ createProver }, { signer }]) => createProver({ ...parameters.prover, workers: 1, signer }),
      )
      return prover
    },
    model: () => chatModel,
    modelResolver: () => ({
      specificationVersion: 'v1',
      async resolve(reference) {
        const [{ openHub }, { hubModelResolver }] = await Promise.all([
          import('../../hub/open-hub.js'),
          import('../../hub/hub-model-resolver.js'),
        ])
        return hubModelResolver({ hub: await openHub({ dir: parameters.hub }) }).resolve(reference)
      },
    }),
    log: (message) => process.stderr.write(`${message}\n`),
  }
  let result: unknown
  let failure: unknown
  try {
    result = await (main as AgentScript)(context)
  } catch (error) {
    failure = error
  }
  // Close what the script opened: traces end (run-end + final checkpoint) on success, else stay resumable.
  for (const trace of traces) {
    try {
      if (failure === undefined) await trace.end()
      else await trace.close()
    } catch {
      // already ended or closed by the script
    }
  }
  for (const vault of vaults) await vault.close().catch(() => undefined)
  await (await prover?.catch(() => undefined))?.close()
  if (failure !== undefined) {
    if (isVerityError(failure)) throw failure
    throw new AgentScriptError('The agent script failed', {
      details: `${script}: ${failure instanceof Error ? failure.message : String(failure)}`,
      hint: 'See the cause; rerun with VERITY_DEBUG=1 for the stack.',
      docsPath: 'agent.md',
      cause: failure,
    })
  }
  return { script, home, runId, traces: traces.map((trace) => trace.path), result: result ?? null }
}

/**
 * Registers `verity agent run`.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerAgentCommands] })
 * ```
 */
export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('Run agent scripts')
  const run = addEmbedderOption(agent.command('run'))
    .description(
      'Run an agent script: a module whose default export receives { home, identity, openVault, openTrace, model, ... }',
    )
    .argument('<script>', '.ts, .js or .mjs module')
    .argument('[args...]', 'arguments passed to the script as context.args')
    .option('--home <dir>', 'agent home (default: $VERITY_AGENT_HOME or ./.verity-agent)')
    .option(
      '--model <provider:model>',
      'a LangChain chat model via initChatModel (e.g. openai:gpt-4o-mini); default: the offline planner',
    )
  withProverOptions(run)
    .option('--hub <dir>', 'hub for context.modelResolver() (default: $VERITY_HUB_HOME or ~/.verity/hub)')
    .option('--json', 'print JSON')
    .action(
      async (
        script: string,
        args: string[],
        options: ProverOptions & { home?: string; json?: boolean; model?: string; hub?: string } & EmbedderOptionValues,
      ) => {
        const home = options.home ?? process.env.VERITY_AGENT_HOME ?? '.verity-agent'
        embedderSpecOf(options) // a bad --embedder is refused before the script runs
        const embedder = { embedder: options.embedder, embedderOptions: options.embedderOptions }
        const outcome = await runAgentScript({
          script,
          home,
          args,
          json: options.json ?? false,
          model: options.model,
          embedder,
          hub: options.hub,
          prover: proverChoiceOf(options),
        })
        printResult(options, outcome, () =>
          [
            typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result, null, 2),
            ...outcome.traces.map((path) => `trace: ${path}`),
          ].join('\n'),
        )
      },
    )
}
