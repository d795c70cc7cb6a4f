import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import type { Command } from 'commander'
import { createVerityAgent } from '../../agent/create-verity-agent.js'
import { createProofPolicy } from '../../agent/policy.js'
import { resolveChatModel } from '../../agent/resolve-chat-model.js'
import { scriptedDecision } from '../../agent/scripted-chat-model.js'
import { traceBodyKey } from '../../agent/trace-body-key.js'
import { traceRecorder } from '../../agent/trace-recorder.js'
import { vaultMemoryStore } from '../../agent/vault-memory-store.js'
import { TraceVerificationError } from '../../errors.js'
import { AGENT_KEYSTORE_FILE } from '../../identity/agent-identity.js'
import { openVault } from '../../memory/vault.js'
import { createProver } from '../../proofs/create-prover.js'
import { loadModelPackage } from '../../proofs/model-package.js'
import { provenTool } from '../../tools/proven-tool.js'
import { receiptDirectory } from '../../tools/receipt-directory.js'
import { createTraceReceiptVerifier, type TraceReceiptDetail } from '../../tools/trace-receipt-verifier.js'
import { verifiableInferenceTool } from '../../tools/verifiable-inference.js'
import type { JsonValue, TraceEntryLine } from '../../trace/entry.js'
import { openTrace } from '../../trace/open-trace.js'
import { readTraceFile } from '../../trace/read-trace.js'
import { traceOrigin } from '../../trace/reveal-trace.js'
import { openSealedTraceBody } from '../../trace/sealed-body.js'
import { verifyTrace } from '../../trace/verify-trace.js'
import { newRunId, openHomeIdentity, openHomeVault, prepareHome } from '../agent-home.js'
import { BUNDLED_MODELS_DIR } from '../home.js'
import { printResult } from '../output.js'
import { resolvePassphrase } from '../resolve-secrets.js'

/**
 * `verity demo [--home DIR] [--json]`: the whole flow, offline, on embedded defaults.
 *
 * An agent identity and an encrypted vault are created in the home (reused on later runs), a few
 * memories are seeded, and the offline planner model runs one task: it recalls memories, calls the
 * bundled, EZKL-proven `transaction-risk` model as a verifiable tool, waits for the proof (policy
 * `require-verified`), decides and remembers the outcome. Every decision lands in a signed trace;
 * the demo then verifies the trace and every receipt and prints the timeline, what was proven,
 * where the files are and how to re-verify independently.
 *
 * Home: `--home DIR`, else `$VERITY_DEMO_HOME`, else `./.verity-demo`. Passphrase of the keystore
 * and the vault: `$VERITY_PASSPHRASE`, else one generated on the first run and kept in
 * `<home>/passphrase` (mode 0600). Each run writes a new trace under `<home>/runs/<run-id>/`.
 */

/** The bundled model packages (`models/` at the package root, from `src/` or `dist/`). */

const DEMO_MODEL = 'transaction-risk'
const NAMESPACE_AGENT = 'risk-desk'
const SEED_MEMORIES = [
  'Alice usually pays less than 200 EUR, in daytime, from her own phone in Lisbon.',
  'House rule: a transaction whose risk is 0.8 or more is held for review, never approved automatically.',
  'Alice reported her card stolen once, after a late-night purchase abroad on a new device.',
]
const TASK =
  'Assess the transaction risk of this card payment for Alice, then decide: amount_k=0.95 hour=3 merchant_risk=0.8 velocity_1h=6 foreign=1 new_device=1'

export type DemoTimelineItem = { seq: number; kind: string; decision: string | undefined; summary: string }
export type DemoProven = {
  tool: string
  model: string
  output: number[][] | undefined
  receiptId: string
  status: string
  proofDigest: string | undefined
  receiptFile: string | undefined
  proofFile: string | undefined
  verification: string
}
export type RunDemoParameters = {
  home: string
  /** `provider:model` for `initChatModel` (default: the offline scripted planner). */
  model?: string | undefined
  /** Progress lines (stderr in the CLI). */
  onStep?: ((message: string) => void) | undefined
}
export type RunDemoReturnType = {
  ok: boolean
  runId: string
  home: string
  agent: { name: string; address: string; created: boolean }
  vault: { path: string; created: boolean; records: number }
  task: string
  answer: string
  decision: string
  timeline: DemoTimelineItem[]
  proven: DemoProven[]
  trace: {
    path: string
    ok: boolean
    entries: number
    checkpoints: number
    root: string
    complete: boolean
    firstFailure: unknown
    receipts: { seq: number; digest: string; status: string; provenBySeq: number | undefined }[]
  }
  files: {
    home: string
    keystore: string
    passphrase: string | undefined
    vault: string
    trace: string
    receipts: string
    models: string
  }
  reverify: string[]
}

/**
 * Runs the demo in `home` and returns its summary (see the module documentation).
 *
 * @example
 * ```ts
 * const summary = await runDemo({ home: '.verity-demo', onStep: (line) => console.error(line) })
 * summary.trace.ok // true
 * ```
 */
export async function runDemo(parameters: RunDemoParameters): Promise<RunDemoReturnType> {
  const home = prepareHome(parameters.home)
  const step = parameters.onStep ?? (() => undefined)

  // 1. Passphrase and identity.
  const { file: passphraseFile } = await resolvePassphrase({ fallback: { from: 'home', home } })
  step(
    existsSync(join(home, AGENT_KEYSTORE_FILE))
      ? 'unlocking the agent identity'
      : 'creating the agent identity (encrypted keystore)',
  )
  const { identity, created: identityCreated } = await openHomeIdentity(home)

  // 2. Vault (reopened on later runs; seeded when created).
  step(existsSync(join(home, 'vault')) ? 'opening the encrypted vault' : 'creating the encrypted vault and seeding memories')
  const { vault, created: vaultCreated, path: vaultPath, guards, embedder } = await openHomeVault({ home })

  const runId = newRunId()
  const runDir = join(home, 'runs', runId)
  mkdirSync(runDir, { recursive: true })
  const tracePath = join(runDir, 'trace.jsonl')
  const receiptsDir = join(runDir, 'receipts')
  // the fastest backend here: native EZKL when the pinned toolchain is installed, else wasm
  const prover = await createProver({ workers: 1 })
  step(`proving with the ${prover.kind} backend`)
  let answer = ''
  let decision = ''
  try {
    if (vaultCreated)
      await vault.add(
        SEED_MEMORIES.map((text) => ({
          text,
          namespace: `agent:${NAMESPACE_AGENT}`,
          metadata: { seeded: true },
          provenance: { source: 'verity demo seed' },
        })),
      )

    // 3. The agent: offline planner, vault memory, the proven model, the signed trace.
    const model = loadModelPackage({ dir: join(BUNDLED_MODELS_DIR, DEMO_MODEL) })
    const risk = provenTool({
      tool: verifiableInferenceTool({ package: model, prover }),
      receipts: receiptDirectory({ dir: receiptsDir }),
    })
    const trace = await openTrace({
      path: tracePath,
      signer: identity.signer,
      metadata: { demo: true, runId, model: `${model.manifest.name}@${model.manifest.version}` },
    })
    try {
      const agent = createVerityAgent({
        name: NAMESPACE_AGENT,
        model: await resolveChatModel({ model: parameters.model }),
        tools: [risk],
        memory: vaultMemoryStore({ vault }),
        recorder: traceRecorder({ trace }),
        policy: createProofPolicy({ proofs: 'require-verified', timeoutMs: 600_000 }),
      })
      step('running the task; the agent waits for the EZKL proof before acting (tens of seconds)')
      const started = Date.now()
      const ticker = setInterval(() => step(`  still proving... ${Math.round((Date.now() - started) / 1000)} s`), 10_000)
      try {
        const result = await agent.invoke(TASK)
        answer = result.answer
        decision = scriptedDecision(result.messages.at(-1)) ?? answer
      } finally {
        clearInterval(ticker)
      }
      await agent.settle()
      // run-end is a control entry, never sealed: the answer (which quotes recalled memories) stays in the sealed final-answer entry
      await trace.end({ body: { runId } })
    } catch (error) {
      await trace.close().catch(() => undefined)
      throw error
    }
  } finally {
    await prover.close()
    await vault.close()
  }

  // 4. Verify everything, independently of the run's own bookkeeping.
  step('verifying the trace (chain, signatures, Merkle checkpoints) and every receipt (EZKL proofs)')
  const receiptVerifier = createTraceReceiptVerifier({
    receiptDirectories: [receiptsDir],
    modelDirectories: [BUNDLED_MODELS_DIR],
  })
  const report = await verifyTrace({
    path: tracePath,
    verifyReceipt: receiptVerifier.verifyReceipt,
    workers: 0,
  })

  const entries = readTraceFile(tracePath).lines.flatMap((item) => (item.ok && item.line.type === 'entry' ? [item.line] : []))
  const proven: DemoProven[] = entries
    .filter((entry) => entry.kind === 'tool-result' && entry.refs.some((ref) => ref.type === 'receipt'))
    .flatMap((entry) =>
      entry.refs
        .filter((ref) => ref.type === 'receipt')
        .map((ref) => {
          const detail: TraceReceiptDetail | undefined = receiptVerifier.details.get(ref.digest)
          const receipt = detail?.receiptFile ? (JSON.parse(readFileSync(detail.receiptFile, 'utf8')) as { status?: string }) : {}
          return {
            tool: String((entry.body as { tool?: unknown } | undefined)?.tool ?? ''),
            model: detail?.model ?? DEMO_MODEL,
            output: detail?.output,
            receiptId: ref.digest,
            status: receipt.status ?? 'missing',
            proofDigest: detail?.proofDigest,
            receiptFile: detail?.receiptFile,
            proofFile: detail?.proofFile,
            verification: detail?.reason ?? 'not checked',
          }
        }),
    )
  // The trace's personal fields are sealed under a key kept in the vault: the owner's view reveals them.
  const { info, bodyKey } = await (async () => {
    const reopened = await openVault({ path: vaultPath, guards, embedder, readOnly: true })
    try {
      return { info: reopened.info(), bodyKey: await traceBodyKey({ vault: reopened, origin: traceOrigin(tracePath) }) }
    } finally {
      await reopened.close()
    }
  })()
  const timeline = entries
    .map((entry) => ({
      ...entry,
      body: openSealedTraceBody({
        key: bodyKey,
        origin: traceOrigin(tracePath),
        agent: entry.agent,
        seq: entry.seq,
        kind: entry.kind,
        body: (entry.body ?? null) as JsonValue,
      }),
    }))
    .map(summarise)
  // `npx verity` runs this package's own bin from a clone as well as from an install.
  const cli = 'npx verity'
  const shown = (path: string) => {
    const relativePath = relative(process.cwd(), path)
    return relativePath.startsWith('..') ? path : relativePath
  }
  const reverify = [
    `${cli} trace verify ${shown(tracePath)} --receipts ${shown(receiptsDir)}`,
    ...proven.flatMap((item) => (item.receiptFile ? [`${cli} proof verify ${shown(item.receiptFile)}`] : [])),
  ]
  const ok = report.ok && proven.length > 0 && proven.every((item) => item.status === 'verified')
  return {
    ok,
    runId,
    home,
    agent: { name: NAMESPACE_AGENT, address: identity.address, created: identityCreated },
    vault: { path: vaultPath, created: vaultCreated, records: info.records },
    task: TASK,
    answer,
    decision,
    timeline,
    proven,
    trace: {
      path: tracePath,
      ok: report.ok,
      entries: report.entries,
      checkpoints: report.checkpoints,
      root: report.root,
      complete: report.complete,
      firstFailure: report.firstFailure,
      receipts: report.receipts,
    },
    files: {
      home,
      keystore: join(home, AGENT_KEYSTORE_FILE),
      passphrase: passphraseFile,
      vault: vaultPath,
      trace: tracePath,
      receipts: receiptsDir,
      models: BUNDLED_MODELS_DIR,
    },
    reverify,
  }
}

function summarise(entry: TraceEntryLine): DemoTimelineItem {
  const body = (entry.body ?? {}) as Record<string, unknown>
  const decision = typeof body.decision === 'string' ? body.decision : undefined
  const short = (value: unknown, limit = 90) => {
    const text = (typeof value === 'string' ? value : (JSON.stringify(value) ?? '')).replace(/\s+/g, ' ')
    return text.length > limit ? `${text.slice(0, limit - 1)}…` : text
  }
  let summary: string
  switch (
    entry.kind === 'receipt-proven' || entry.kind === 'run-start' || entry.kind === 'run-end'
      ? entry.kind
      : (decision ?? entry.kind)
  ) {
    case 'run-start':
      summary = entry.kind === 'run-start' ? `trace opened by ${entry.agent}` : `task: ${short(body.text)}`
      break
    case 'memory-read':
      summary = `recalled ${Array.isArray(body.ids) ? body.ids.length : 0} memories${body.automatic ? ' (automatic)' : ''} from ${String(body.namespace)}`
      break
    case 'memory-write':
      summary = `remembered: ${short(body.text ?? body.textDigest, 70)}`
      break
    case 'model-turn': {
      const calls = Array.isArray(body.toolCalls) ? (body.toolCalls as { name?: string }[]) : []
      summary = calls.length > 0 ? `model decided to call ${calls.map((call) => call.name).join(', ')}` : `model answered`
      break
    }
    case 'tool-call':
      summary = `call ${String(body.tool)}(${short(body.args, 70)})`
      break
    case 'tool-result':
      summary = `${String(body.tool)} returned ${short(body.content, 70)}`
      break
    case 'policy':
      summary = `policy ${String(body.policy)}: ${String(body.outcome)}`
      break
    case 'receipt-proven':
      summary = `proof verified for entry ${String(body.forSeq)} (receipt ${short(body.receiptDigest, 24)})`
      break
    case 'final-answer':
      summary = `answer: ${short(body.text)}`
      break
    case 'run-end':
      summary = 'run ended (final checkpoint follows)'
      break
    default:
      summary = short(body)
  }
  return { seq: entry.seq, kind: entry.kind, decision, summary }
}

function defaultHome(): string {
  if (process.env.VERITY_DEMO_HOME) return process.env.VERITY_DEMO_HOME
  return resolve('.verity-demo')
}

function humanSummary(result: RunDemoReturnType): string {
  const lines: string[] = []
  lines.push(`Verity demo — run ${result.runId}`, '')
  lines.push(`Task: ${result.task}`, `Answer: ${result.answer}`, '')
  lines.push('Timeline (signed trace entries):')
  for (const item of result.timeline)
    lines.push(`  ${String(item.seq).padStart(3)}  ${(item.decision ?? item.kind).padEnd(15)} ${item.summary}`)
  lines.push('', 'Proven:')
  for (const item of result.proven)
    lines.push(
      `  ${item.model}: output ${JSON.stringify(item.output)} — receipt ${item.status}, proof ${item.proofDigest ?? '(none)'}`,
      `    receipt ${item.receiptId}`,
    )
  lines.push(
    '',
    `Verification: trace ${result.trace.ok ? 'OK' : 'FAILED'} (${result.trace.entries} entries, ${result.trace.checkpoints} checkpoints, root ${result.trace.root}); ` +
      `receipts ${result.trace.receipts.map((receipt) => `${receipt.seq}:${receipt.status}`).join(' ')}`,
  )
  if (result.trace.firstFailure) lines.push(`  first failure: ${JSON.stringify(result.trace.firstFailure)}`)
  lines.push('', 'Files:')
  lines.push(`  home      ${result.files.home}`)
  lines.push(`  identity  ${result.files.keystore} (agent ${result.agent.address})`)
  if (result.files.passphrase) lines.push(`  passphrase ${result.files.passphrase} (0600; set VERITY_PASSPHRASE to use your own)`)
  lines.push(`  vault     ${result.files.vault} (${result.vault.records} memories, encrypted)`)
  lines.push(`  trace     ${result.files.trace}`)
  lines.push(`  receipts  ${result.files.receipts}`)
  lines.push('', 'Re-verify independently:')
  for (const command of result.reverify) lines.push(`  ${command}`)
  return lines.join('\n')
}

/**
 * Registers `verity demo`.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerDemoCommands] })
 * ```
 */
export function registerDemoCommands(program: Command): void {
  program
    .command('demo')
    .description(
      'Run the whole flow offline: identity, vault, an agent calling a proven model, a signed trace; then verify everything',
    )
    .option('--home <dir>', 'where the demo keeps its files (default: $VERITY_DEMO_HOME or ./.verity-demo)')
    .option(
      '--model <provider:model>',
      'a LangChain chat model via initChatModel (e.g. openai:gpt-4o-mini); default: the offline planner',
    )
    .option('--json', 'print JSON')
    .action(async (options: { home?: string; json?: boolean; model?: string }) => {
      const home = options.home ?? defaultHome()
      const started = Date.now()
      const result = await runDemo({
        home,
        model: options.model,
        onStep: (message) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`),
      })
      printResult(options, result, () => humanSummary(result))
      if (!result.ok)
        throw new TraceVerificationError('The demo ran but its verification failed', {
          details: JSON.stringify(result.trace.firstFailure ?? result.proven.map((item) => item.verification)),
          hint: `Inspect with: npx verity trace verify ${result.trace.path}`,
          docsPath: 'agent.md',
        })
    })
}
