import { join } from 'node:path'
import { AIMessage, AIMessageChunk, type BaseMessage, SystemMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { describe, expect, it } from 'vitest'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { traceRecorder } from '../../src/agent/trace-recorder.js'
import { vaultMemoryStore } from '../../src/agent/vault-memory-store.js'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { createInMemoryDecisionRecorder } from '../../src/trace/decision-recorder.js'
import { openTrace } from '../../src/trace/open-trace.js'
import { readTraceFile } from '../../src/trace/read-trace.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { useAgentVault } from './helpers/agent-vault.js'
import { answerWithUsage, riskScoreTool, toolCallingModel } from './helpers/tool-calling-model.js'

// The agent driven by a tool-calling chat model that is not Verity's scripted planner:
// LangChain's own fake model (@langchain/core/testing), answering from a queue like a provider would.

describe('createVerityAgent with a real tool-calling model', () => {
  const fixture = useAgentVault('verity-tool-model-')

  it('runs parallel tool calls (memory + a tool), records each in a signed trace that verifies, and recalls later', async () => {
    const { home, vault } = fixture
    const identity = await createAgentIdentity({ home, passphrase: 'correct horse battery', scrypt: { N: 1024 } })
    const tracePath = join(home, 'run.trace.jsonl')
    const trace = await openTrace({ path: tracePath, signer: identity.signer })
    const model = toolCallingModel({
      toolCalls: [
        { name: 'remember', args: { text: 'Payments above 100 need a manual review' }, id: 'call-remember' },
        { name: 'risk_score', args: { amount: 250 }, id: 'call-risk' },
      ],
      answer: answerWithUsage('Amount 250 needs review; I will remember the rule.', { input: 42, output: 11 }),
    }).respond(new AIMessage('The rule: payments above 100 need a manual review.'))
    const agent = createVerityAgent({
      name: 'payments',
      model,
      tools: [riskScoreTool],
      memory: vaultMemoryStore({ vault }),
      recorder: traceRecorder({ trace }),
    })
    const first = await agent.invoke('check the payment risk of amount 250 and remember the rule')
    expect(first.answer).toBe('Amount 250 needs review; I will remember the rule.')
    const toolMessages = first.messages.filter((message) => message.getType() === 'tool')
    expect(toolMessages.map((message) => (message as unknown as { tool_call_id: string }).tool_call_id).sort()).toEqual([
      'call-remember',
      'call-risk',
    ])
    expect(String(toolMessages.find((message) => message.name === 'risk_score')?.content)).toContain('review')
    const usage = (first.messages.at(-1) as unknown as { usage_metadata?: { total_tokens: number } }).usage_metadata
    expect(usage?.total_tokens).toBe(53)
    expect(vault.list({ namespace: 'agent:payments' }).records.map((record) => record.text)).toEqual([
      'Payments above 100 need a manual review',
    ])

    // A new task: the middleware recalls the memory into the system message the model sees.
    await agent.invoke('what is the rule for payments above 100?')
    const system = model.calls[2]?.messages.find((message) => SystemMessage.isInstance(message))
    expect(String(system?.content)).toContain('Payments above 100 need a manual review')
    await trace.end()

    const report = await verifyTrace({ path: tracePath, workers: 0 })
    expect(report.firstFailure).toBeUndefined()
    expect(report.ok).toBe(true)
    const { lines } = readTraceFile(tracePath)
    const entries = lines.flatMap((line) => (line.ok && line.line.type === 'entry' ? [line.line] : []))
    const kinds = entries.map((entry) => entry.kind)
    expect(kinds.filter((kind) => kind === 'tool-call')).toHaveLength(2)
    expect(kinds.filter((kind) => kind === 'tool-result')).toHaveLength(2)
    expect(kinds).toContain('memory-write')
    expect(kinds.filter((kind) => kind === 'answer')).toHaveLength(2)
  })

  it('streams the model answer through the agent (streamMode messages) and still records the final answer', async () => {
    const { vault } = fixture
    const model = fakeModel().respond(new AIMessage('Streaming works.'))
    const recorder = createInMemoryDecisionRecorder()
    const agent = createVerityAgent({ model, memory: vaultMemoryStore({ vault }), recallK: 0, recorder })
    const stream = await agent.stream('say something', { streamMode: 'messages' })
    const chunks: string[] = []
    for await (const item of stream) {
      const [message] = item as [BaseMessage]
      if (AIMessageChunk.isInstance(message) || message.getType() === 'ai') chunks.push(String(message.content))
    }
    expect(chunks.join('')).toContain('Streaming works.')
    expect(recorder.entries.map((entry) => entry.kind)).toContain('final-answer')
  })

  it('a model error surfaces to the caller and is recorded as a run error', async () => {
    const model = fakeModel().respond(new Error('provider unavailable'))
    const recorder = createInMemoryDecisionRecorder()
    const agent = createVerityAgent({ model, recallK: 0, recorder })
    await expect(agent.invoke('hello')).rejects.toThrow('provider unavailable')
    expect(recorder.entries.map((entry) => entry.kind)).toContain('run-error')
  })
})
