import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type BaseMessage, ToolMessage } from '@langchain/core/messages'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProofPolicy } from '../../src/agent/policy.js'
import { PolicyError } from '../../src/errors.js'
import { type AgentIdentity, createAgentIdentity } from '../../src/identity/agent-identity.js'
import { createProver } from '../../src/proofs/create-prover.js'
import { loadModelPackage, type ModelPackage } from '../../src/proofs/model-package.js'
import type { ProverBackend } from '../../src/proofs/prover-backend.js'
import type { SettledReceipt } from '../../src/proofs/verifiable-inference.js'
import { provenTool } from '../../src/tools/proven-tool.js'
import { receiptDirectory } from '../../src/tools/receipt-directory.js'
import { createTraceReceiptVerifier } from '../../src/tools/trace-receipt-verifier.js'
import { verifiableInferenceTool } from '../../src/tools/verifiable-inference.js'
import { readTraceFile } from '../../src/trace/read-trace.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { answerWithUsage, toolCallingModel, tracedToolAgent } from './helpers/tool-calling-model.js'

// The proof policy driven by a tool-calling model that is not Verity's planner (LangChain's own
// fake model, @langchain/core/testing), calling the bundled transaction-risk model as a proven tool:
// real EZKL proofs through the default backend (native when the pinned toolchain is installed, else
// wasm), a real signed trace, receipts written beside it.

const MODELS = resolve(import.meta.dirname, '../../models')
const ARGUMENTS = { amount_k: 2.4, hour: 3, merchant_risk: 0.8, velocity_1h: 5, foreign: 1, new_device: 1 }

let home: string
let model: ModelPackage
let prover: ProverBackend
let identity: AgentIdentity

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'verity-proof-policy-'))
  model = loadModelPackage({ dir: join(MODELS, 'transaction-risk') })
  prover = await createProver({ workers: 1 })
  identity = await createAgentIdentity({ home, passphrase: 'correct horse battery', scrypt: { N: 1024 } })
}, 120_000)

afterAll(async () => {
  await prover?.close()
  rmSync(home, { recursive: true, force: true })
})

/** A prover that returns a proof with one byte changed (a faulty or lying prover); it verifies what it returns, honestly. */
function tamperingProver(inner: ProverBackend): ProverBackend {
  return {
    ...inner,
    async prove(parameters) {
      const result = await inner.prove(parameters)
      const proof = new Uint8Array(result.proof)
      const at = proof.length >> 1
      proof[at] = (proof[at] as number) ^ 0x01
      return { ...result, proof, verified: await inner.verify({ package: parameters.package, proof }) }
    },
  }
}

function entriesOf(path: string) {
  const { lines } = readTraceFile(path)
  return lines.flatMap((line) => (line.ok && line.line.type === 'entry' ? [line.line] : []))
}

/** The agent's decision of each entry: the trace kind, or for notes (policy, receipt-failed, run-error) `body.decision`. */
function decisionsOf(path: string): string[] {
  return entriesOf(path).map((entry) => {
    const decision = (entry.body as Record<string, unknown> | null | undefined)?.decision
    return entry.kind === 'note' && typeof decision === 'string' ? decision : entry.kind
  })
}

/** A run folder `home/NAME`, its trace path, and the proven transaction-risk tool on `backend` (receipts written beside the trace with `writeReceipts`), its settled receipts collected. */
function provenRiskRun(name: string, backend: ProverBackend, writeReceipts = false) {
  const runDir = join(home, name)
  mkdirSync(runDir)
  const settled: SettledReceipt[] = []
  const risk = provenTool({
    tool: verifiableInferenceTool({ package: model, prover: backend }),
    ...(writeReceipts ? { receipts: receiptDirectory({ dir: join(runDir, 'receipts') }) } : {}),
    onSettled: (receipt) => settled.push(receipt),
  })
  return { runDir, tracePath: join(runDir, 'trace.jsonl'), settled, risk }
}

function riskCall(id: string) {
  return { name: model.manifest.name, args: ARGUMENTS, id }
}

describe('proof policy with a tool-calling model and a real proven tool', () => {
  it('require-verified: the model sees the tool output only after the EZKL proof verified; the trace links the receipt', async () => {
    const { runDir, tracePath, settled, risk } = provenRiskRun('verified', prover, true)
    const chat = toolCallingModel({
      toolCalls: [riskCall('call-risk')],
      answer: answerWithUsage('The transaction looks risky: hold it for review.', { input: 30, output: 9 }),
    })
    const { agent, trace } = await tracedToolAgent({
      model: chat,
      tools: [risk],
      tracePath,
      signer: identity.signer,
      policy: createProofPolicy({ proofs: 'require-verified', timeoutMs: 600_000 }),
    })
    const result = await agent.invoke('score this card transaction and tell me what to do')
    await agent.settle()
    await trace.end()

    expect(result.answer).toBe('The transaction looks risky: hold it for review.')
    // The proof had settled, verified, before the model's second call.
    expect(settled.map((receipt) => receipt.receipt.status)).toEqual(['verified'])
    expect(chat.calls).toHaveLength(2)
    const seen = (chat.calls[1]?.messages ?? []) as BaseMessage[]
    const toolMessage = seen.find((message) => ToolMessage.isInstance(message)) as ToolMessage | undefined
    expect(toolMessage?.tool_call_id).toBe('call-risk')
    const content = JSON.parse(String(toolMessage?.content))
    expect(content.receipt.id).toBe(settled[0]?.receipt.id)
    expect(content.output).toEqual(settled[0]?.receipt.output)

    const entries = entriesOf(tracePath)
    const kinds = decisionsOf(tracePath)
    const call = kinds.indexOf('tool-call')
    const proven = kinds.indexOf('receipt-proven')
    expect(kinds.slice(call, proven + 1)).toEqual(['tool-call', 'tool-result', 'policy', 'receipt-proven'])
    expect(kinds.indexOf('model-call', proven)).toBeGreaterThan(proven) // the model acted after the proof
    expect(kinds).toContain('answer')
    expect(entries[proven]?.refs).toContainEqual({ type: 'receipt', digest: settled[0]?.receipt.id })
    expect(entries[proven]?.refs).toContainEqual({ type: 'proof', digest: settled[0]?.receipt.proofDigest })

    // Anyone holding the run folder verifies the trace and the EZKL proof it links, offline.
    const receipts = createTraceReceiptVerifier({ receiptDirectories: [join(runDir, 'receipts')], modelDirectories: [MODELS] })
    const report = await verifyTrace({ path: tracePath, workers: 0, verifyReceipt: receipts.verifyReceipt })
    expect(report.firstFailure).toBeUndefined()
    expect(report.ok).toBe(true)
  }, 600_000)

  it('require-verified: a proof that fails verification stops the run before the model sees the output, recorded', async () => {
    const { tracePath, settled, risk } = provenRiskRun('failed', tamperingProver(prover))
    const chat = toolCallingModel({ toolCalls: [riskCall('call-risk')], answer: 'This answer must never be produced.' })
    const { agent, trace } = await tracedToolAgent({
      model: chat,
      tools: [risk],
      tracePath,
      signer: identity.signer,
      policy: createProofPolicy({ proofs: 'require-verified', timeoutMs: 600_000 }),
    })
    const error = await agent.invoke('score this card transaction').catch((caught: unknown) => caught)
    await trace.end()

    expect(error).toBeInstanceOf(PolicyError)
    expect((error as PolicyError).shortMessage).toMatch(/proof for transaction-risk failed/)
    expect(settled.map((receipt) => receipt.receipt.status)).toEqual(['failed'])
    expect(settled[0]?.receipt.error).toBe('the proof did not verify')
    expect(chat.calls).toHaveLength(1) // the model never saw the unproven output
    const kinds = decisionsOf(tracePath)
    expect(kinds).toContain('receipt-failed')
    expect(kinds.indexOf('receipt-failed')).toBeGreaterThan(kinds.indexOf('tool-result'))
    expect(kinds).not.toContain('receipt-proven')
    expect(kinds).not.toContain('answer')
    expect(kinds.at(-2)).toBe('run-error')
    const report = await verifyTrace({ path: tracePath, workers: 0 })
    expect(report.firstFailure).toBeUndefined() // the refusal itself is a valid, signed record
    expect(report.ok).toBe(true)
  }, 600_000)

  it('allow-pending: parallel proven calls are acted on at once; each proof is recorded when it lands', async () => {
    const { tracePath, settled, risk } = provenRiskRun('pending', prover)
    const chat = toolCallingModel({
      toolCalls: [riskCall('call-a'), { ...riskCall('call-b'), args: { ...ARGUMENTS, amount_k: 0.1, foreign: 0 } }],
      answer: 'Scored both; proofs follow.',
    })
    const { agent, trace } = await tracedToolAgent({
      model: chat,
      tools: [risk],
      tracePath,
      signer: identity.signer,
      policy: createProofPolicy({ proofs: 'allow-pending' }),
    })
    const result = await agent.invoke('score these two transactions')
    expect(result.answer).toBe('Scored both; proofs follow.')
    // Acted on at once: both calls recorded as acted on a pending proof, the answer written, no proof yet.
    const atAnswer = decisionsOf(tracePath)
    expect(atAnswer.filter((kind) => kind === 'policy')).toHaveLength(2)
    expect(atAnswer).toContain('answer')
    await agent.settle()
    await trace.end()

    expect(settled.map((receipt) => receipt.receipt.status)).toEqual(['verified', 'verified'])
    const entries = entriesOf(tracePath)
    const provenEntries = entries.filter((entry) => entry.kind === 'receipt-proven')
    expect(provenEntries).toHaveLength(2)
    const linked = provenEntries.flatMap((entry) => entry.refs.filter((ref) => ref.type === 'receipt').map((ref) => ref.digest))
    expect(new Set(linked)).toEqual(new Set(settled.map((receipt) => receipt.receipt.id)))
    expect(entries.filter((entry) => entry.kind === 'tool-call')).toHaveLength(2)
    expect(entries.filter((entry) => entry.kind === 'tool-result')).toHaveLength(2)
    const report = await verifyTrace({ path: tracePath, workers: 0 })
    expect(report.firstFailure).toBeUndefined()
    expect(report.ok).toBe(true)
  }, 600_000)
})
