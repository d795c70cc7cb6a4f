import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { AIMessage, type BaseMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { MemorySaver } from '@langchain/langgraph-checkpoint'
import { toolStrategy } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { vaultMemoryStore } from '../../src/agent/vault-memory-store.js'
import { InvalidInputError } from '../../src/errors.js'
import { CHECKPOINT_NAMESPACE, VerityCheckpointSaver } from '../../src/langchain/verity-checkpoint-saver.js'
import { VerityStore } from '../../src/langchain/verity-store.js'
import { createVault, openVault, type Vault } from '../../src/memory/vault.js'
import { exportVault, importVault } from '../../src/memory/vault-archive.js'
import { hashEmbedder, temporaryFolder, testGuard } from '../memory/helpers.js'

const embedder = hashEmbedder(16)
let folder: ReturnType<typeof temporaryFolder>
let vault: Vault

beforeEach(async () => {
  folder = temporaryFolder('verity-agent-threads-')
  vault = await createVault({ path: `${folder.path}/vault`, guards: [testGuard()], embedder })
})
afterEach(async () => {
  await vault.close().catch(() => undefined)
  folder.cleanup()
})

const texts = (messages: BaseMessage[]) => messages.map((message) => String(message.content))

function filesUnder(path: string): string[] {
  return readdirSync(path).flatMap((name) => {
    const child = join(path, name)
    return statSync(child).isDirectory() ? filesUnder(child) : [child]
  })
}

describe('createVerityAgent passes createAgent options through', () => {
  it('refuses an unknown option with a typed error naming it', () => {
    expect(() => createVerityAgent({ checkpointr: new MemorySaver() } as never)).toThrow(InvalidInputError)
    try {
      createVerityAgent({ checkpointr: new MemorySaver() } as never)
    } catch (error) {
      expect((error as InvalidInputError).details).toContain('checkpointr')
    }
  })

  it('a given checkpointer keeps the thread: the second turn sees the first', async () => {
    const saver = new MemorySaver()
    const model = fakeModel().respond(new AIMessage('Hello Ada.')).respond(new AIMessage('Your name is Ada.'))
    const agent = createVerityAgent({ model, checkpointer: saver, recallK: 0 })
    expect(agent.checkpointer).toBe(saver)
    const thread = { configurable: { thread_id: 'chat-1' } }
    await agent.invoke('My name is Ada.', thread)
    const second = await agent.invoke('What is my name?', thread)
    expect(second.answer).toBe('Your name is Ada.')
    const seen = texts(model.calls[1]?.messages ?? [])
    expect(seen).toContain('My name is Ada.')
    expect(seen).toContain('Hello Ada.')
    expect(seen).toContain('What is my name?')
    expect((await saver.getTuple(thread))?.checkpoint.channel_values).toBeDefined()
  })

  it('passes responseFormat and store through to createAgent', async () => {
    const report = z.object({ city: z.string(), sky: z.string() }).meta({ title: 'WeatherReport' })
    const model = fakeModel().respondWithTools([{ name: 'WeatherReport', args: { city: 'Paris', sky: 'sunny' } }])
    const store = new VerityStore({ vault })
    const agent = createVerityAgent({ model, responseFormat: toolStrategy(report), store, checkpointer: false })
    const result = await agent.invoke('Weather in Paris?')
    expect(result.structuredResponse).toEqual({ city: 'Paris', sky: 'sunny' })
    expect(agent.checkpointer).toBeUndefined()
  })
})

describe('threads kept in the vault by VerityCheckpointSaver', () => {
  it('with a vault and no checkpointer, the second turn of a thread sees the history, stored encrypted', async () => {
    const model = fakeModel()
      .respond(new AIMessage('Noted: the locker code is canary-7731.'))
      .respond(new AIMessage('It is canary-7731.'))
    const agent = createVerityAgent({ model, memory: vaultMemoryStore({ vault }), recallK: 0, memoryTools: false })
    expect(agent.checkpointer).toBeInstanceOf(VerityCheckpointSaver)
    const thread = { configurable: { thread_id: 'locker' } }
    await agent.invoke('The locker code is canary-7731.', thread)
    await agent.invoke('What is the locker code?', thread)
    const seen = texts(model.calls[1]?.messages ?? [])
    expect(seen.length).toBeGreaterThan(1)
    expect(seen).toContain('The locker code is canary-7731.')
    expect(vault.list({ namespace: CHECKPOINT_NAMESPACE }).total).toBeGreaterThan(0)
    // The conversation is in the vault, and nowhere on disk in plaintext.
    for (const file of filesUnder(`${folder.path}/vault`))
      expect(readFileSync(file).includes(Buffer.from('canary-7731')), file).toBe(false)
  })

  it('a run without a thread id is a one-off that keeps nothing', async () => {
    const model = fakeModel().respond(new AIMessage('ok'))
    const agent = createVerityAgent({ model, vault, recallK: 0 })
    await agent.invoke('hello')
    expect(vault.list({ namespace: CHECKPOINT_NAMESPACE }).total).toBe(0)
  })

  it('a thread begun on one machine continues after vault export -> import elsewhere', async () => {
    const first = fakeModel().respond(new AIMessage('I will remember that your flight is BA-117.'))
    const here = createVerityAgent({ model: first, vault, recallK: 0, memoryTools: false })
    const thread = { configurable: { thread_id: 'trip' } }
    await here.invoke('My flight is BA-117.', thread)
    await vault.close()

    const archive = `${folder.path}/memory.vault`
    await exportVault({ path: `${folder.path}/vault`, out: archive })
    await importVault({ file: archive, to: `${folder.path}/other-machine` })
    vault = await openVault({ path: `${folder.path}/other-machine`, guards: [testGuard()], embedder })

    const second = fakeModel().respond(new AIMessage('Your flight is BA-117.'))
    const there = createVerityAgent({ model: second, vault, recallK: 0, memoryTools: false })
    const result = await there.invoke('Which flight am I on?', thread)
    expect(result.answer).toBe('Your flight is BA-117.')
    const seen = texts(second.calls[0]?.messages ?? [])
    expect(seen).toContain('My flight is BA-117.')
    expect(seen).toContain('I will remember that your flight is BA-117.')
    expect(result.messages).toHaveLength(4)
  })
})
