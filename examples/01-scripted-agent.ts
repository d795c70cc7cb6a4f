/**
 * Example 1: a scripted agent with vault memory, a verifiable (EZKL-proven) tool and a signed trace.
 *
 * Run:  npm run build && node --import tsx examples/01-scripted-agent.ts [home]
 *
 * Uses only the public API. Swap the offline planner for a real model in one line:
 *   model: await initChatModel('openai:gpt-4o')   // import { initChatModel } from 'langchain'
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { passphraseGuard } from 'verity/access'
import { createProofPolicy, createScriptedChatModel, createVerityAgent, traceRecorder, vaultMemoryStore } from 'verity/agent'
import { createAgentIdentity } from 'verity/identity'
import { createHashingEmbedder, createVault } from 'verity/memory'
import { createProverPool, loadModelPackage } from 'verity/proofs'
import { createTraceReceiptVerifier, provenTool, receiptDirectory, verifiableInferenceTool } from 'verity/tools'
import { openTrace, verifyTrace } from 'verity/trace'

const home = resolve(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'verity-example-1-')))
const passphrase = process.env.VERITY_PASSPHRASE ?? 'example passphrase, change me'
const models = resolve(import.meta.dirname, '..', 'models')

// 1. Who the agent is, and what it remembers (an encrypted vault).
const identity = await createAgentIdentity({ home, passphrase })
const vault = await createVault({
  path: join(home, 'vault'),
  guards: [passphraseGuard({ passphrase })],
  embedder: createHashingEmbedder(),
})
await vault.add({ text: 'Payments at night from a new device were fraudulent twice last year.', namespace: 'agent:payments' })

// 2. A proven model as a tool: the output comes with a receipt; the proof is made in a worker.
const pool = createProverPool({ workers: 1 })
const risk = provenTool({
  tool: verifiableInferenceTool({ package: loadModelPackage({ dir: join(models, 'transaction-risk') }), pool }),
  receipts: receiptDirectory({ dir: join(home, 'receipts') }),
})

// 3. The agent: every decision goes to the signed trace. 'allow-pending' acts at once and records
//    the proof when it lands ('require-verified' would wait for it).
const trace = await openTrace({ path: join(home, 'trace.jsonl'), signer: identity.signer })
const agent = createVerityAgent({
  name: 'payments',
  model: createScriptedChatModel(),
  tools: [risk],
  memory: vaultMemoryStore({ vault }),
  recorder: traceRecorder({ trace }),
  policy: createProofPolicy({ proofs: 'allow-pending' }),
})
const { answer } = await agent.invoke(
  'Check the transaction risk: amount_k=0.4 hour=2 merchant_risk=0.5 velocity_1h=2 foreign=0 new_device=1',
)
await agent.settle() // wait for the background proof and its receipt-proven entry
await trace.end()
await vault.close()
await pool.close()

// 4. Anyone with the files can check it all.
const receipts = createTraceReceiptVerifier({ receiptDirectories: [join(home, 'receipts')], modelDirectories: [models] })
const report = await verifyTrace({ path: join(home, 'trace.jsonl'), verifyReceipt: receipts.verifyReceipt })
console.log(
  JSON.stringify({
    answer,
    agent: identity.address,
    trace: join(home, 'trace.jsonl'),
    traceOk: report.ok,
    entries: report.entries,
    receipts: report.receipts.map((receipt) => receipt.status),
  }),
)
