import { AIMessage, type BaseMessage, ToolMessage } from '@langchain/core/messages'
import { describe, expect, it } from 'vitest'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { vaultMemoryStore } from '../../src/agent/vault-memory-store.js'
import { createInMemoryDecisionRecorder } from '../../src/trace/decision-recorder.js'
import { useAgentVault } from './helpers/agent-vault.js'
import { toolCallingModel } from './helpers/tool-calling-model.js'

// The three memory tools (remember, recall, forget) called by LangChain's fake tool-calling model,
// not the planner: the model reads recall's result and forgets the memory it found, like a provider's model would.

describe('memory tools with a tool-calling model', () => {
  const fixture = useAgentVault('verity-memory-tools-')

  it('remembers in parallel, recalls, and forgets the recalled memory by id; the vault and the recorder agree', async () => {
    const { vault } = fixture
    const recorder = createInMemoryDecisionRecorder()
    const forgetWhatRecallFound = (messages: BaseMessage[]) => {
      const recalled = messages.filter((message) => ToolMessage.isInstance(message) && message.name === 'recall').at(-1)
      const { memories } = JSON.parse(String(recalled?.content)) as { memories: { id: string; text: string }[] }
      const card = memories.find((memory) => memory.text.includes('card'))
      if (!card) return new Error(`recall did not return the card memory: ${String(recalled?.content)}`)
      return new AIMessage({ content: '', tool_calls: [{ name: 'forget', args: { id: card.id }, id: 'call-forget' }] })
    }
    const model = toolCallingModel({
      toolCalls: [
        { name: 'remember', args: { text: 'The user card ends in 4242' }, id: 'call-card' },
        { name: 'remember', args: { text: 'The user prefers green tea' }, id: 'call-tea' },
      ],
      answer: 'Noted both.',
    })
      .respondWithTools([{ name: 'recall', args: { query: 'user card', k: 2 }, id: 'call-recall' }])
      .respond(forgetWhatRecallFound)
      .respond(new AIMessage('I no longer keep your card number.'))
    const agent = createVerityAgent({ name: 'helper', model, memory: vaultMemoryStore({ vault }), recallK: 0, recorder })

    expect((await agent.invoke('remember my card ending and my tea preference')).answer).toBe('Noted both.')
    const stored = () => vault.list({ namespace: 'agent:helper' }).records.map((record) => record.text)
    expect(stored().sort()).toEqual(['The user card ends in 4242', 'The user prefers green tea'])

    const second = await agent.invoke('forget my card number')
    expect(second.answer).toBe('I no longer keep your card number.')
    expect(stored()).toEqual(['The user prefers green tea'])
    const forgetResult = second.messages.find((message) => ToolMessage.isInstance(message) && message.name === 'forget')
    expect(JSON.parse(String(forgetResult?.content))).toMatchObject({ deleted: true })

    const kinds = recorder.entries.map((entry) => entry.kind)
    expect(kinds.filter((kind) => kind === 'memory-write')).toHaveLength(2)
    const read = recorder.entries.find((entry) => entry.kind === 'memory-read' && entry.body.tool === 'recall')
    expect(read?.body.ids).toHaveLength(2)
    expect(read?.refs).toHaveLength(2)
    const deletion = recorder.entries.find((entry) => entry.kind === 'memory-delete')
    expect(deletion?.body).toMatchObject({ tool: 'forget', namespace: 'agent:helper', deleted: true })
    expect(read?.body.ids).toContain(deletion?.body.id)
    expect(recorder.firstBrokenEntry()).toBeUndefined()
  })
})
