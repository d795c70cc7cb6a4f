import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import type { AgentIdentity } from '../identity/agent-identity.js'
import type { Vault } from '../memory/vault.js'
import type { ModelPackageResolver } from '../tools/create-proven-tool.js'
import type { VerifiableInferenceToolParameters } from '../tools/verifiable-inference.js'
import type { TraceWriter } from '../trace/open-trace.js'

/**
 * The contract of a script run by `verity agent run SCRIPT`: a `.ts`, `.js` or `.mjs` module whose
 * default export is an async function receiving an {@link AgentScriptContext}. What it returns
 * (JSON-serialisable) is printed as the command's result; a thrown `VerityError` is reported as is,
 * anything else as an `AgentScriptError`. Files the helpers open are closed when the script returns.
 *
 * @example
 * ```ts
 * // my-agent.ts — run with: verity agent run my-agent.ts --home .my-agent
 * import type { AgentScriptContext } from 'verity/agent'
 * import { createVerityAgent, traceRecorder, vaultMemoryStore } from 'verity/agent'
 *
 * export default async function (context: AgentScriptContext) {
 *   const vault = await context.openVault()
 *   const trace = await context.openTrace()
 *   const agent = createVerityAgent({ model: context.model(), memory: vaultMemoryStore({ vault }), recorder: traceRecorder({ trace }) })
 *   const { answer } = await agent.invoke('remember that the demo works')
 *   return { answer, trace: trace.path }
 * }
 * ```
 */
export type AgentScriptContext = {
  /** The agent home (`--home`, default `./.verity-agent`). */
  readonly home: string
  /** Arguments after the script path (`verity agent run s.ts -- a b`). */
  readonly args: readonly string[]
  /** True with `--json` (the script should not print to stdout then). */
  readonly json: boolean
  /** Run id, also the folder of this run's traces: `<home>/runs/<runId>/`. */
  readonly runId: string
  /** The agent identity in `<home>` (created on first use; passphrase from `VERITY_PASSPHRASE` or `<home>/passphrase`). */
  identity(): Promise<AgentIdentity>
  /** Opens (or creates) the encrypted vault `<home>/vault` (or `name`) with the passphrase guard and the offline embedder. */
  openVault(parameters?: { name?: string | undefined }): Promise<Vault>
  /** Opens a new signed trace `<home>/runs/<runId>/<name>.jsonl` (default name `trace`), ended when the script returns. */
  openTrace(parameters?: { name?: string | undefined }): Promise<TraceWriter>
  /**
   * The run's prover backend, for `verifiableInferenceTool({ prover })` (`--prover`, `--redis` for a fleet; default `$VERITY_PROVER`, else native when the
   * toolchain is installed, else wasm), created on first use and closed when the script returns. Local proofs are
   * signed by the agent identity; fleet nodes sign with their own keys.
   */
  prover(): Promise<NonNullable<VerifiableInferenceToolParameters['prover']>>
  /** The run's chat model: `--model provider:model` through `initChatModel`, else the offline planner. */
  model(): BaseChatModel
  /** Resolves models named by hub name or CID through the hub (`--hub DIR`, default `$VERITY_HUB_HOME` or `~/.verity/hub`): pass it to `createProvenTool({ model: 'hub:NAME@VERSION', resolver })`. */
  modelResolver(): ModelPackageResolver
  /** Progress lines on stderr. */
  log(message: string): void
}

/** The default export of an agent script. */
export type AgentScript = (context: AgentScriptContext) => Promise<unknown> | unknown
