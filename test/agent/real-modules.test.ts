import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { traceRecorder } from '../../src/agent/trace-recorder.js'
import { vaultMemoryStore } from '../../src/agent/vault-memory-store.js'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { openTrace } from '../../src/trace/open-trace.js'
import { readTraceFile } from '../../src/trace/read-trace.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { useAgentVault } from './helpers/agent-vault.js'
import { riskScoreTool } from './helpers/tool-calling-model.js'

describe('createVerityAgent on the real vault and the signed trace', () => {
  const fixture = useAgentVault('verity-agent-')

  it('writes memories to the encrypted vault and every decision to a signed trace that verifies', async () => {
    const { home, vault } = fixture
    const identity = await createAgentIdentity({ home, passphrase: 'correct horse battery', scrypt: { N: 1024 } })
    const trace = await openTrace({ path: join(home, 'run.trace.jsonl'), signer: identity.signer })
    try {
      const agent = createVerityAgent({
        name: 'payments',
        tools: [riskScoreTool],
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
