import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tool } from '@langchain/core/tools'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { passphraseGuard } from '../../src/access/passphrase-guard.js'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { traceRecorder } from '../../src/agent/trace-recorder.js'
import { vaultMemoryStore } from '../../src/agent/vault-memory-store.js'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { createHashingEmbedder } from '../../src/memory/embedders/hashing-embedder.js'
import { createVault } from '../../src/memory/vault.js'
import { openTrace } from '../../src/trace/open-trace.js'
import { readTraceFile } from '../../src/trace/read-trace.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'

const cheap = { logN: 10, r: 8, p: 1 }

const riskScore = tool(async ({ amount }: { amount: number }) => JSON.stringify({ label: amount > 100 ? 'review' : 'approve' }), {
  name: 'risk_score',
  description: 'Score the risk of a payment amount',
  schema: z.object({ amount: z.number() }),
})

describe('createVerityAgent on the real vault and the signed trace', () => {
  let home: string
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'verity-agent-'))
  })
  afterEach(() => rmSync(home, { recursive: true, force: true }))

  it('writes memories to the encrypted vault and every decision to a signed trace that verifies', async () => {
    const identity = await createAgentIdentity({ home, passphrase: 'correct horse battery', scrypt: { N: 1024 } })
    const vault = await createVault({
      path: join(home, 'vault'),
      guards: [passphraseGuard({ passphrase: 'vault pass', cost: cheap })],
      embedder: createHashingEmbedder(),
    })
    const trace = await openTrace({ path: join(home, 'run.trace.jsonl'), signer: identity.signer })
    try {
      const agent = createVerityAgent({
        name: 'payments',
        tools: [riskScore],
        memory: vaultMemoryStore({ vault }),
        recorder: traceRecorder({ trace }),
      })
      await agent.invoke('check the payment risk of amount 250')
      const second = await agent.invoke('what was the payment risk of amount 250?')
      expect(second.answer).toContain('Recalled')
      await trace.end()
    } finally {
      await vault.close()
    }
    const report = await verifyTrace({ path: join(home, 'run.trace.jsonl'), workers: 0 })
    expect(report.firstFailure).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.complete).toBe(true)
    expect(report.agents).toEqual([identity.address])
    const { lines } = readTraceFile(join(home, 'run.trace.jsonl'))
    const entries = lines.flatMap((line) => (line.ok && line.line.type === 'entry' ? [line.line] : []))
    const kinds = entries.map((entry) => entry.kind)
    expect(kinds).toContain('model-call')
    expect(kinds).toContain('memory-write')
    expect(kinds).toContain('answer')
    expect(
      entries.filter((entry) => entry.kind === 'memory-read').some((entry) => entry.refs.some((ref) => ref.type === 'memory')),
    ).toBe(true)
  })
})
