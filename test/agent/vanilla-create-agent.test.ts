import { createAgent } from 'langchain'
import { describe, expect, it } from 'vitest'
import { createScriptedChatModel } from '../../src/agent/scripted-chat-model.js'
import { createVerityMiddleware } from '../../src/agent/verity-middleware.js'
import { createInMemoryMemoryStore } from '../../src/tools/memory-store.js'
import { createMemoryTools } from '../../src/tools/memory-tools.js'
import { createInMemoryDecisionRecorder } from '../../src/trace/decision-recorder.js'

describe('Verity tools and middleware inside a vanilla LangChain createAgent', () => {
  it('remembers and recalls through the memory tools, with every decision recorded by the middleware', async () => {
    const store = createInMemoryMemoryStore()
    const recorder = createInMemoryDecisionRecorder()
    const tools = createMemoryTools({ store, recorder, namespace: 'agent:vanilla', source: 'vanilla' })
    const agent = createAgent({
      model: createScriptedChatModel(),
      tools,
      middleware: [createVerityMiddleware({ agentName: 'vanilla', recorder, memory: store, namespace: 'agent:vanilla' })],
    })
    await agent.invoke({ messages: [{ role: 'user', content: 'remember that the blue door code is 4512' }] })
    expect(store.size()).toBe(1)
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'what is the blue door code?' }] })
    const answer = String(result.messages.at(-1)?.content)
    expect(answer).toContain('4512')
    const kinds = recorder.entries.map((entry) => entry.kind)
    expect(kinds.filter((kind) => kind === 'run-start')).toHaveLength(2)
    expect(kinds).toContain('memory-write')
    expect(kinds).toContain('memory-read')
    expect(kinds.filter((kind) => kind === 'final-answer')).toHaveLength(2)
    const read = recorder.entries.find((entry) => entry.kind === 'memory-read' && (entry.refs ?? []).length > 0)
    expect(read).toBeDefined()
    expect(recorder.firstBrokenEntry()).toBeUndefined()
  })
})
