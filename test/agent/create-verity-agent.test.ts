import { tool } from '@langchain/core/tools'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { createProofPolicy } from '../../src/agent/policy.js'
import { AbortedError, InvalidInputError, PolicyError } from '../../src/errors.js'
import { createInMemoryMemoryStore } from '../../src/tools/memory-store.js'
import type { PendingProof, ProofOutcome } from '../../src/tools/pending-proof.js'
import { createInMemoryDecisionRecorder, type InMemoryDecisionEntry } from '../../src/trace/decision-recorder.js'

const riskScore = tool(
  async ({ amount }: { amount: number }) => JSON.stringify({ label: amount > 100 ? 'review' : 'approve', amount }),
  {
    name: 'risk_score',
    description: 'Score the risk of a payment amount',
    schema: z.object({ amount: z.number() }),
  },
)

const kinds = (entries: readonly InMemoryDecisionEntry[]) => entries.map((entry) => entry.kind)

describe('createVerityAgent', () => {
  it('records every decision of a run in a hash-chained trace without the caller doing anything', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const memory = createInMemoryMemoryStore()
    const agent = createVerityAgent({ name: 'payments', tools: [riskScore], memory, recorder })
    const { answer } = await agent.invoke('check the payment risk of amount 250')
    expect(answer).toContain('Decision: label = "review"')
    expect(kinds(recorder.entries)).toEqual([
      'run-start',
      'memory-read', // automatic recall (nothing yet)
      'model-turn',
      'tool-call', // risk_score
      'tool-result',
      'model-turn',
      'tool-call', // remember
      'memory-write',
      'tool-result',
      'model-turn',
      'final-answer',
    ])
    expect(recorder.firstBrokenEntry()).toBeUndefined()
    const call = recorder.entries[3] as InMemoryDecisionEntry
    expect(call.body).toMatchObject({ tool: 'risk_score', args: { amount: 250 } })
    const result = recorder.entries[4] as InMemoryDecisionEntry
    expect(result.body).toMatchObject({ tool: 'risk_score', content: '{"label":"review","amount":250}' })
    expect(result.outputDigest).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('gives written memories the trace entry that wrote them as provenance, and recalls them next time with digests in the trace', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const memory = createInMemoryMemoryStore()
    const agent = createVerityAgent({ name: 'payments', tools: [riskScore], memory, recorder })
    await agent.invoke('check the payment risk of amount 250')
    const write = recorder.entries.find((entry) => entry.kind === 'memory-write') as InMemoryDecisionEntry
    const rememberCall = recorder.entries.find(
      (entry) => entry.kind === 'tool-call' && entry.body.tool === 'remember',
    ) as InMemoryDecisionEntry
    expect(write.body.writtenBy).toBe(rememberCall.hash)
    const stored = await memory.search({ query: 'payment risk amount', namespace: 'agent:payments', k: 1 })
    expect(stored[0]?.provenance).toEqual({ traceEntry: rememberCall.hash, source: 'payments' })

    const before = recorder.entries.length
    const second = await agent.invoke('what was the payment risk of amount 250?')
    const reads = recorder.entries.slice(before).filter((entry) => entry.kind === 'memory-read')
    expect(reads[0]?.body.automatic).toBe(true)
    expect(reads[0]?.refs).toEqual([{ type: 'memory', digest: write.outputDigest }])
    // the model turn that saw the memory cites it
    const turn = recorder.entries.slice(before).find((entry) => entry.kind === 'model-turn') as InMemoryDecisionEntry
    expect(turn.refs).toEqual([{ type: 'memory', digest: write.outputDigest }])
    expect(second.answer).toContain('Recalled 1 memory')
  })

  it('keeps per-user namespaces apart and refuses a run whose user is unknown', async () => {
    const memory = createInMemoryMemoryStore()
    const agent = createVerityAgent({ name: 'assistant', memory, namespace: 'user', recallK: 0 })
    await agent.invoke('Remember that my favourite colour is green', { context: { userId: 'alice' } })
    const alice = await memory.search({ query: 'favourite colour', namespace: 'user:alice', k: 5 })
    const bob = await memory.search({ query: 'favourite colour', namespace: 'user:bob', k: 5 })
    expect(alice.map((hit) => hit.text)).toEqual(['my favourite colour is green'])
    expect(bob).toEqual([])
    await expect(agent.invoke('Remember that I like jazz')).rejects.toThrow(InvalidInputError)
  })

  it('records only digests in digests mode', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const agent = createVerityAgent({ tools: [riskScore], recorder, content: 'digests' })
    await agent.invoke('check the payment risk of amount 5')
    const serialized = JSON.stringify(recorder.entries)
    expect(serialized).not.toContain('payment risk')
    expect(serialized).not.toContain('approve')
    expect(recorder.entries.find((entry) => entry.kind === 'final-answer')?.body.textDigest).toMatch(/^sha256:/)
  })

  it('detects a changed entry', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const agent = createVerityAgent({ tools: [riskScore], recorder })
    await agent.invoke('check the payment risk of amount 5')
    const entry = recorder.entries[4] as InMemoryDecisionEntry
    ;(entry.body as Record<string, unknown>).content = '{"label":"approve","amount":1}'
    expect(recorder.firstBrokenEntry()).toBe(4)
  })

  it('streams like LangChain and still records the run', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const agent = createVerityAgent({ tools: [riskScore], recorder })
    const stream = await agent.stream('check the payment risk of amount 7', { streamMode: 'messages' })
    let text = ''
    for await (const item of stream) {
      const [chunk] = item as [{ getType(): string; content: unknown }]
      if (chunk.getType() === 'ai' && typeof chunk.content === 'string') text += chunk.content
    }
    expect(text).toContain('Decision: label = "approve"')
    expect(kinds(recorder.entries).at(-1)).toBe('final-answer')
  })

  it('aborts with a typed error and records the aborted run', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const controller = new AbortController()
    const slow = tool(
      async () => {
        controller.abort()
        await new Promise((resolve) => setTimeout(resolve, 100))
        return 'late'
      },
      { name: 'slow_lookup', description: 'A slow lookup', schema: z.object({ key: z.string() }) },
    )
    const agent = createVerityAgent({ tools: [slow], recorder })
    await expect(agent.invoke('slow lookup of key=x', { signal: controller.signal })).rejects.toThrow(AbortedError)
    expect(recorder.entries.at(-1)?.kind).toBe('run-error')
    expect(recorder.entries.at(-1)?.body.aborted).toBe(true)
  })

  it('rejects invalid parameters and duplicate tool names with typed errors', () => {
    expect(() => createVerityAgent({ name: 'bad name!' })).toThrow(InvalidInputError)
    expect(() => createVerityAgent({ tools: [riskScore, riskScore] })).toThrow(/Two tools are named "risk_score"/)
  })
})

/** A verifiable tool whose proof settles after `delayMs` with `outcome` (stands in for the prover pool until it lands). */
function verifiableTool(delayMs: number, status: 'verified' | 'failed') {
  const waits: number[] = []
  const classify = tool(
    async ({ amount }: { amount: number }) => {
      const receiptDigest = `sha256:${String(amount).padStart(64, '0')}`
      const settled = new Promise<ProofOutcome>((resolve) =>
        setTimeout(
          () =>
            resolve(
              status === 'verified'
                ? { status, receiptDigest, proofDigest: `sha256:${'f'.repeat(64)}` }
                : { status, receiptDigest, reason: 'proof did not verify' },
            ),
          delayMs,
        ),
      )
      const pendingProof: PendingProof = {
        specificationVersion: 'v1',
        receiptDigest,
        wait: () => {
          waits.push(Date.now())
          return settled
        },
      }
      return [JSON.stringify({ label: 'fraud', amount }), { pendingProof }]
    },
    {
      name: 'fraud_model',
      description: 'Classify fraud for a payment amount',
      schema: z.object({ amount: z.number() }),
      responseFormat: 'content_and_artifact',
    },
  )
  return { classify, waits }
}

describe('proof policy', () => {
  it('require-verified: the model sees the output only after the receipt is verified', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const { classify } = verifiableTool(30, 'verified')
    const agent = createVerityAgent({
      tools: [classify],
      recorder,
      policy: createProofPolicy({ proofs: 'require-verified', timeoutMs: 5000 }),
    })
    await agent.invoke('run the fraud model on amount 12')
    const sequence = kinds(recorder.entries)
    const proven = sequence.indexOf('receipt-proven')
    expect(sequence.slice(sequence.indexOf('tool-call'), proven + 1)).toEqual([
      'tool-call',
      'tool-result',
      'policy',
      'receipt-proven',
    ])
    expect(sequence.indexOf('model-turn', proven)).toBeGreaterThan(proven)
    expect(recorder.entries[proven]?.refs).toContainEqual({ type: 'receipt', digest: `sha256:${'12'.padStart(64, '0')}` })
  })

  it('require-verified: a proof that does not arrive in time stops the run with PolicyError, recorded', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const { classify } = verifiableTool(5_000, 'verified')
    const agent = createVerityAgent({
      tools: [classify],
      recorder,
      policy: createProofPolicy({ proofs: 'require-verified', timeoutMs: 50 }),
    })
    const error = await agent.invoke('run the fraud model on amount 3').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(PolicyError)
    expect((error as PolicyError).shortMessage).toMatch(/did not arrive within 50 ms/)
    const refusal = recorder.entries.find((entry) => entry.body.outcome === 'refused-proof-timeout')
    expect(refusal?.kind).toBe('policy')
    expect(recorder.entries.some((entry) => entry.kind === 'final-answer')).toBe(false)
  })

  it('require-verified: a failed proof stops the run with PolicyError', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const { classify } = verifiableTool(10, 'failed')
    const agent = createVerityAgent({ tools: [classify], recorder })
    await expect(agent.invoke('run the fraud model on amount 3')).rejects.toThrow(PolicyError)
    expect(kinds(recorder.entries)).toContain('receipt-failed')
  })

  it('allow-pending: acts at once, records it, and records the proof when it lands', async () => {
    const recorder = createInMemoryDecisionRecorder()
    const { classify } = verifiableTool(80, 'verified')
    const agent = createVerityAgent({ tools: [classify], recorder, policy: createProofPolicy({ proofs: 'allow-pending' }) })
    await agent.invoke('run the fraud model on amount 9')
    const sequence = kinds(recorder.entries)
    expect(sequence).toContain('final-answer')
    expect(recorder.entries.find((entry) => entry.kind === 'policy')?.body.outcome).toBe('acted-on-pending-proof')
    expect(sequence).not.toContain('receipt-proven')
    await agent.settle()
    expect(kinds(recorder.entries).at(-1)).toBe('receipt-proven')
    expect(recorder.firstBrokenEntry()).toBeUndefined()
  })

  it('rejects an invalid policy', () => {
    expect(() => createProofPolicy({ proofs: 'sometimes' as 'allow-pending' })).toThrow(InvalidInputError)
  })
})
