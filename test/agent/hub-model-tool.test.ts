import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProofPolicy } from '../../src/agent/policy.js'
import { InvalidInputError, ModelNotInHubError } from '../../src/errors.js'
import { hubModelResolver } from '../../src/hub/hub-model-resolver.js'
import { type Hub, openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import type { Release } from '../../src/hub/release.js'
import { type AgentIdentity, createAgentIdentity } from '../../src/identity/agent-identity.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { createProver } from '../../src/proofs/create-prover.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { loadModelReference } from '../../src/proofs/model-reference.js'
import type { ProverBackend } from '../../src/proofs/prover-backend.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import type { SettledReceipt } from '../../src/proofs/verifiable-inference.js'
import { createProvenTool } from '../../src/tools/create-proven-tool.js'
import { receiptDirectory } from '../../src/tools/receipt-directory.js'
import { createTraceReceiptVerifier } from '../../src/tools/trace-receipt-verifier.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { toolCallingModel, tracedToolAgent } from './helpers/tool-calling-model.js'

// An agent whose proven tool names the bundled transaction-risk model by hub name and, separately,
// by CID: the package is published into a temp hub with the real hub code, resolved through
// hubModelResolver, proven with real EZKL, and the receipt verifies against the bundled package.

const MODEL_DIR = resolve(import.meta.dirname, '../../models/transaction-risk')
const ARGUMENTS = { amount_k: 2.4, hour: 3, merchant_risk: 0.8, velocity_1h: 5, foreign: 1, new_device: 1 }
const bundled = loadModelPackage({ dir: MODEL_DIR })

let work: string
let hub: Hub
let release: Release
let prover: ProverBackend
let identity: AgentIdentity

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'verity-hub-agent-'))
  hub = await openHub({ dir: join(work, 'hub') })
  ;({ release } = await publishRelease({
    hub,
    dir: MODEL_DIR,
    signer: createKeySigner({ privateKey: `0x${'42'.repeat(32)}` }),
  }))
  prover = await createProver({ workers: 1 })
  identity = await createAgentIdentity({ home: join(work, 'agent'), passphrase: 'correct horse battery', scrypt: { N: 1024 } })
}, 120_000)

afterAll(async () => {
  await prover?.close()
  rmSync(work, { recursive: true, force: true })
})

async function runAgentWith(model: string, label: string) {
  const runDir = join(work, label)
  mkdirSync(runDir)
  const settled: SettledReceipt[] = []
  const risk = await createProvenTool({
    model,
    resolver: hubModelResolver({ hub }),
    prover,
    receipts: receiptDirectory({ dir: join(runDir, 'receipts') }),
    onSettled: (outcome) => settled.push(outcome),
  })
  const tracePath = join(runDir, 'trace.jsonl')
  const { agent, trace } = await tracedToolAgent({
    model: toolCallingModel({
      toolCalls: [{ name: risk.name, args: ARGUMENTS, id: `call-${label}` }],
      answer: 'Hold the transaction for review.',
    }),
    tools: [risk],
    tracePath,
    signer: identity.signer,
    policy: createProofPolicy({ proofs: 'require-verified', timeoutMs: 600_000 }),
  })
  const result = await agent.invoke('score this card transaction')
  await agent.settle()
  await trace.end()
  return { risk, settled, result, tracePath, runDir }
}

describe('an agent names a model by hub name or CID', () => {
  for (const [label, reference] of [
    ['name', () => 'hub:transaction-risk@1.0.0'],
    ['cid', () => release.packageCid],
  ] as const)
    it(`by ${label}: the proven tool resolves through the hub, proves with EZKL, and the receipt names the bundled model`, async () => {
      const { risk, settled, result, tracePath, runDir } = await runAgentWith(reference(), label)
      expect(result.answer).toBe('Hold the transaction for review.')
      expect(risk.modelCid).toBe(release.packageCid)
      expect(risk.modelDigest).toBe(bundled.digest)
      expect(settled).toHaveLength(1)
      const outcome = settled[0] as SettledReceipt
      expect(outcome.receipt.status).toBe('verified')
      expect(outcome.receipt.model.digest).toBe(bundled.digest)
      // The receipt verifies against the bundled package, not only the copy the hub wrote out.
      expect(verifyReceipt({ receipt: outcome.receipt, proof: outcome.proof as Uint8Array, package: bundled }).valid).toBe(true)
      const receipts = createTraceReceiptVerifier({
        receiptDirectories: [join(runDir, 'receipts')],
        modelDirectories: [join(hub.dir, 'packages')],
      })
      const report = await verifyTrace({ path: tracePath, workers: 0, verifyReceipt: receipts.verifyReceipt })
      expect(report.firstFailure).toBeUndefined()
      expect(report.ok).toBe(true)
    }, 600_000)

  it('a name with no release, or a CID the hub does not hold, is a typed error naming `verity hub pull`', async () => {
    const resolver = hubModelResolver({ hub })
    const missingName = await createProvenTool({ model: 'hub:no-such-model@1.0.0', resolver, prover }).catch((error) => error)
    expect(missingName).toBeInstanceOf(ModelNotInHubError)
    expect((missingName as ModelNotInHubError).hint).toMatch(/verity hub pull no-such-model@1\.0\.0/)
    const empty = await openHub({ dir: join(work, 'empty-hub') })
    const missingCid = await loadModelReference({
      model: release.packageCid,
      resolver: hubModelResolver({ hub: empty }),
    }).catch((error) => error)
    expect(missingCid).toBeInstanceOf(ModelNotInHubError)
    expect((missingCid as ModelNotInHubError).hint).toMatch(`verity hub pull ${release.packageCid}`)
    // A hub name without a hub to resolve it.
    await expect(loadModelReference({ model: 'hub:transaction-risk' })).rejects.toThrow(InvalidInputError)
  })
})
