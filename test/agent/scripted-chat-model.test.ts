import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages'
import { tool } from '@langchain/core/tools'
import fc from 'fast-check'
import { createAgent } from 'langchain'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { RECALL_CONTEXT_HEADER } from '../../src/agent/recall-context.js'
import {
  createScriptedChatModel,
  planNextStep,
  type ScriptedChatModel,
  scriptedDecision,
} from '../../src/agent/scripted-chat-model.js'
import { InvalidInputError } from '../../src/errors.js'

const add = tool(async ({ a, b }: { a: number; b: number }) => JSON.stringify({ sum: a + b }), {
  name: 'add',
  description: 'Add two numbers and return their sum',
  schema: z.object({ a: z.number(), b: z.number() }),
})
const square = tool(async ({ sum }: { sum: number }) => JSON.stringify({ result: sum * sum }), {
  name: 'square',
  description: 'Square the sum of numbers',
  schema: z.object({ sum: z.number() }),
})
const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: 'weather',
  description: 'Current weather for a city',
  schema: z.object({ city: z.string() }),
})
const toolsOf = (model: ScriptedChatModel, tools: Parameters<ScriptedChatModel['bindTools']>[0]) =>
  model.bindTools(tools).boundTools

describe('planNextStep', () => {
  const model = createScriptedChatModel()
  const bound = toolsOf(model, [add, weather])

  it('calls the relevant tool with arguments from the task, ignoring irrelevant tools', () => {
    const step = planNextStep({ messages: [new HumanMessage('Please add 2 and 40')], tools: bound })
    expect(step.rule).toBe('act')
    expect(step.toolCalls).toEqual([{ id: 'call_0_add', name: 'add', args: { a: 2, b: 40 } }])
  })

  it('takes explicit name=value arguments over positional guesses', () => {
    const step = planNextStep({ messages: [new HumanMessage('weather city=Lisbon please')], tools: bound })
    expect(step.toolCalls[0]).toMatchObject({ name: 'weather', args: { city: 'Lisbon' } })
  })

  it('answers from tool results once every relevant tool has run', () => {
    const messages = [
      new HumanMessage('add 1 and 2'),
      new AIMessage({ content: '', tool_calls: [{ id: 'call_0_add', name: 'add', args: { a: 1, b: 2 } }] }),
      new ToolMessage({ content: '{"sum":3}', tool_call_id: 'call_0_add', name: 'add' }),
    ]
    const step = planNextStep({ messages, tools: bound })
    expect(step.rule).toBe('answer')
    expect(step.toolCalls).toEqual([])
    expect(step.text).toContain('add returned {"sum":3}')
    expect(step.text).toContain('Decision: sum = 3')
  })

  it('recalls first when a recall tool is bound, then remembers the outcome', () => {
    const recall = {
      name: 'recall',
      description: 'Search memory',
      parameters: { type: 'object', properties: { query: { type: 'string' } } },
    }
    const remember = {
      name: 'remember',
      description: 'Store',
      parameters: { type: 'object', properties: { text: { type: 'string' } } },
    }
    const tools = [...bound, recall, remember]
    const first = planNextStep({ messages: [new HumanMessage('add 5 and 6')], tools })
    expect(first.toolCalls[0]).toMatchObject({ name: 'recall', args: { query: 'add 5 and 6' } })
    const afterAct = [
      new HumanMessage('add 5 and 6'),
      new AIMessage({ content: '', tool_calls: [{ id: 'r', name: 'recall', args: {} }] }),
      new ToolMessage({ content: '{"memories":[]}', tool_call_id: 'r', name: 'recall' }),
      new AIMessage({ content: '', tool_calls: [{ id: 'a', name: 'add', args: {} }] }),
      new ToolMessage({ content: '{"sum":11}', tool_call_id: 'a', name: 'add' }),
    ]
    const third = planNextStep({ messages: afterAct, tools })
    expect(third.rule).toBe('remember')
    expect(third.toolCalls[0]?.args).toEqual({ text: 'add 5 and 6 -> add: {"sum":11}' })
  })

  it('skips the recall tool when memories were injected automatically, and cites them in the answer', () => {
    const recall = {
      name: 'recall',
      description: 'Search memory',
      parameters: { type: 'object', properties: { query: { type: 'string' } } },
    }
    const messages = [
      new SystemMessage(`Be brief.\n\n${RECALL_CONTEXT_HEADER}\n- [m1] Alice likes tea\n`),
      new HumanMessage('what does Alice like?'),
    ]
    const step = planNextStep({ messages, tools: [recall] })
    expect(step.rule).toBe('answer')
    expect(step.text).toContain('Recalled 1 memory: "Alice likes tea"')
  })

  it('turns a labelled tool output into a decision with a threshold rule recalled from memory', () => {
    const scorer = {
      name: 'risk_score',
      description: 'Score the risk of a payment',
      parameters: { type: 'object', properties: { amount: { type: 'number' } } },
    }
    const rule = 'House rule: a transaction whose risk is 0.8 or more is held for review, never approved automatically.'
    const decide = (risk: number) => {
      const messages = [
        new SystemMessage(`${RECALL_CONTEXT_HEADER}\n- [m1] ${rule}\n`),
        new HumanMessage('risk score of this payment: amount=120'),
        new AIMessage({ content: '', tool_calls: [{ id: 'c1', name: 'risk_score', args: { amount: 120 } }] }),
        new ToolMessage({
          tool_call_id: 'c1',
          name: 'risk_score',
          content: JSON.stringify({ output: [[risk]], labelled: { risk }, receipt: { status: 'pending' } }),
        }),
      ]
      return planNextStep({ messages, tools: [scorer] })
    }
    const high = decide(0.93)
    expect(high.rule).toBe('answer')
    expect(high.text).toContain('risk_score returned risk = 0.93 (proof receipt pending).')
    expect(high.text).toContain('Decision: risk = 0.93 is 0.8 or more, so: held for review (rule recalled from memory)')
    const low = decide(0.12)
    expect(low.text).toContain('Decision: risk = 0.12 is below 0.8, so the recalled rule (held for review) does not apply')
    // The decision is also a value, so nothing needs to parse it back out of the text.
    expect(high.decision).toBe('risk = 0.93 is 0.8 or more, so: held for review (rule recalled from memory)')
    expect(low.decision).toBe('risk = 0.12 is below 0.8, so the recalled rule (held for review) does not apply')
  })

  it('stores "remember that ..." tasks directly', () => {
    const remember = {
      name: 'remember',
      description: 'Store',
      parameters: { type: 'object', properties: { text: { type: 'string' } } },
    }
    const step = planNextStep({
      messages: [new HumanMessage('Remember that the vault key is rotated monthly')],
      tools: [remember],
    })
    expect(step.toolCalls[0]).toMatchObject({ name: 'remember', args: { text: 'the vault key is rotated monthly' } })
  })

  it('property: it only calls bound tools, and the add arguments are the first two numbers of the task', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.string({ maxLength: 20 }),
        (a, b, noise) => {
          const clean = noise.replace(/[-\d.=:]/g, '')
          const step = planNextStep({ messages: [new HumanMessage(`add ${a} and ${b} ${clean}`)], tools: bound })
          for (const call of step.toolCalls) expect(['add', 'weather']).toContain(call.name)
          expect(step.toolCalls[0]).toMatchObject({ name: 'add', args: { a, b } })
          // deterministic
          expect(planNextStep({ messages: [new HumanMessage(`add ${a} and ${b} ${clean}`)], tools: bound })).toEqual(step)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('rejects bad parameters with a typed error', () => {
    expect(() => createScriptedChatModel({ chunkDelayMs: -1 })).toThrow(InvalidInputError)
  })
})

describe('ScriptedChatModel inside a vanilla LangChain createAgent', () => {
  it('chains tools: a later tool receives a field of an earlier result', async () => {
    const agent = createAgent({ model: createScriptedChatModel(), tools: [add, square, weather] })
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'add 3 and 4, then square the sum' }] })
    const toolMessages = result.messages.filter((message) => message.getType() === 'tool')
    expect(toolMessages.map((message) => message.content)).toEqual(['{"sum":7}', '{"result":49}'])
    const answer = result.messages.at(-1)
    expect(answer?.getType()).toBe('ai')
    expect(answer?.content).toContain('Decision: result = 49')
    expect(scriptedDecision(answer)).toBe('result = 49')
    expect(scriptedDecision(toolMessages[0])).toBeUndefined()
  })

  it('streams the final answer token by token (streamMode messages)', async () => {
    const agent = createAgent({ model: createScriptedChatModel(), tools: [add] })
    const stream = await agent.stream({ messages: [{ role: 'user', content: 'add 20 and 22' }] }, { streamMode: 'messages' })
    const aiChunks: string[] = []
    const streamedDecisions: string[] = []
    for await (const [chunk] of stream) {
      if (chunk.getType() === 'ai' && typeof chunk.content === 'string' && chunk.content) aiChunks.push(chunk.content)
      const decision = scriptedDecision(chunk)
      if (decision !== undefined) streamedDecisions.push(decision)
    }
    expect(aiChunks.length).toBeGreaterThan(3)
    expect(aiChunks.join('')).toBe('add returned {"sum":42}. Decision: sum = 42')
    expect(streamedDecisions).toEqual(['sum = 42'])
  })

  it('stops when the caller aborts', async () => {
    const controller = new AbortController()
    const slow = tool(
      async ({ a }: { a: number }) => {
        controller.abort(new Error('user pressed stop'))
        await new Promise((resolve) => setTimeout(resolve, 200))
        return String(a)
      },
      { name: 'slow_echo', description: 'Echo a number slowly', schema: z.object({ a: z.number() }) },
    )
    const agent = createAgent({ model: createScriptedChatModel(), tools: [slow] })
    await expect(
      agent.invoke({ messages: [{ role: 'user', content: 'slow echo 7' }] }, { signal: controller.signal }),
    ).rejects.toThrow()
  })
})
