import { AIMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { tool } from '@langchain/core/tools'
import { type BaseStore, InvalidNamespaceError } from '@langchain/langgraph-checkpoint'
import { createAgent, type ToolRuntime } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { STORE_NAMESPACE, VerityStore } from '../../src/langchain/verity-store.js'
import { createVault, openVault, type Vault } from '../../src/memory/vault.js'
import { exportVault, importVault } from '../../src/memory/vault-archive.js'
import { hashEmbedder, temporaryFolder, testGuard } from '../memory/helpers.js'

const embedder = hashEmbedder(32)
let folder: ReturnType<typeof temporaryFolder>
let vault: Vault

beforeEach(async () => {
  folder = temporaryFolder('verity-store-')
  vault = await createVault({ path: `${folder.path}/vault`, guards: [testGuard()], embedder })
})
afterEach(async () => {
  await vault.close().catch(() => undefined)
  folder.cleanup()
})

describe('VerityStore (LangGraph BaseStore over a vault)', () => {
  it('puts, gets, replaces and deletes items under tuple namespaces, as encrypted vault records', async () => {
    const store = new VerityStore({ vault, fields: ['text'] })
    await store.put(['user-1', 'memories'], 'tea', { text: 'Prefers green tea', strength: 3 })
    const item = await store.get(['user-1', 'memories'], 'tea')
    expect(item?.value).toEqual({ text: 'Prefers green tea', strength: 3 })
    expect(item?.namespace).toEqual(['user-1', 'memories'])
    expect(item?.createdAt).toBeInstanceOf(Date)
    expect(await store.get(['user-2', 'memories'], 'tea')).toBeNull()
    expect(vault.list({ namespace: STORE_NAMESPACE }).total).toBe(1)

    await store.put(['user-1', 'memories'], 'tea', { text: 'Prefers black tea', strength: 5 })
    expect((await store.get(['user-1', 'memories'], 'tea'))?.value.text).toBe('Prefers black tea')
    expect(vault.list({ namespace: STORE_NAMESPACE }).total).toBe(1)

    await store.delete(['user-1', 'memories'], 'tea')
    expect(await store.get(['user-1', 'memories'], 'tea')).toBeNull()
    await expect(store.put([], 'x', { a: 1 })).rejects.toBeInstanceOf(InvalidNamespaceError)
  })

  it('searches a namespace prefix by meaning, with a value filter, limit and offset', async () => {
    const store = new VerityStore({ vault, fields: ['text'] })
    // Items list newest first: a few milliseconds between writes keep their times distinct.
    const tick = () => new Promise((resolve) => setTimeout(resolve, 3))
    await store.put(['user-1', 'food'], 'tea', { text: 'drinks green tea every morning', kind: 'drink', rank: 1 })
    await tick()
    await store.put(['user-1', 'food'], 'soup', { text: 'eats tomato soup at lunch', kind: 'meal', rank: 2 })
    await tick()
    await store.put(['user-1', 'pets'], 'dog', { text: 'walks the dog at noon', kind: 'habit', rank: 3 })
    await store.put(['user-2', 'food'], 'coffee', { text: 'drinks black coffee every morning', kind: 'drink', rank: 4 })

    const ranked = await store.search(['user-1'], { query: 'green tea morning', limit: 3 })
    expect(ranked.map((item) => item.key)[0]).toBe('tea')
    expect(ranked.every((item) => item.namespace[0] === 'user-1')).toBe(true)
    expect(typeof ranked[0]?.score).toBe('number')

    const drinks = await store.search(['user-1'], { query: 'morning', filter: { kind: 'drink' } })
    expect(drinks.map((item) => item.key)).toEqual(['tea'])
    expect((await store.search([], { filter: { rank: { $gte: 3 } } })).map((item) => item.key).sort()).toEqual(['coffee', 'dog'])

    const all = await store.search(['user-1'], { limit: 10 })
    expect(all.map((item) => item.key)).toEqual(['dog', 'soup', 'tea']) // newest first
    expect((await store.search(['user-1'], { limit: 1, offset: 1 })).map((item) => item.key)).toEqual(['soup'])
  })

  it('lists namespaces by prefix, suffix and depth, and batches mixed operations', async () => {
    const store = new VerityStore({ vault })
    await store.put(['a', 'b', 'c'], 'k', { v: 1 })
    await store.put(['a', 'b', 'd'], 'k', { v: 2 })
    await store.put(['a', 'x'], 'k', { v: 3 })
    await store.put(['z'], 'k', { v: 4 })
    expect(await store.listNamespaces()).toEqual([['a', 'b', 'c'], ['a', 'b', 'd'], ['a', 'x'], ['z']])
    expect(await store.listNamespaces({ prefix: ['a', 'b'] })).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'd'],
    ])
    expect(await store.listNamespaces({ suffix: ['d'] })).toEqual([['a', 'b', 'd']])
    expect(await store.listNamespaces({ prefix: ['a'], maxDepth: 2 })).toEqual([
      ['a', 'b'],
      ['a', 'x'],
    ])
    expect(await store.listNamespaces({ limit: 2, offset: 1 })).toEqual([
      ['a', 'b', 'd'],
      ['a', 'x'],
    ])

    const [got, , listed] = await store.batch([
      { namespace: ['z'], key: 'k' },
      { namespace: ['z'], key: 'k2', value: { v: 5 } },
      { namespacePrefix: ['z'], limit: 10, offset: 0 },
    ] as const)
    expect(got?.value).toEqual({ v: 4 })
    expect((listed as { key: string }[]).map((item) => item.key).sort()).toEqual(['k', 'k2'])
  })

  it('items travel with vault export / import and open only with the guard', async () => {
    const store = new VerityStore({ vault })
    await store.put(['user-1'], 'secret', { text: 'the door code is 4512' })
    await vault.close()
    const archive = `${folder.path}/memory.vault`
    await exportVault({ path: `${folder.path}/vault`, out: archive })
    await importVault({ file: archive, to: `${folder.path}/elsewhere` })
    vault = await openVault({ path: `${folder.path}/elsewhere`, guards: [testGuard()], embedder })
    expect((await new VerityStore({ vault }).get(['user-1'], 'secret'))?.value).toEqual({ text: 'the door code is 4512' })
  })

  it('is long-term memory for createAgent({ store }): a tool-calling model writes in one thread and reads in another', async () => {
    const store = new VerityStore({ vault, fields: ['text'] })
    const saveMemory = tool(
      async ({ text }, runtime: ToolRuntime) => {
        await (runtime.store as unknown as BaseStore).put(['user-1', 'memories'], `m-${Date.now()}`, { text })
        return 'saved'
      },
      { name: 'save_memory', description: 'Save a fact about the user', schema: z.object({ text: z.string() }) },
    )
    const searchMemory = tool(
      async ({ query }, runtime: ToolRuntime) => {
        const items = await (runtime.store as unknown as BaseStore).search(['user-1'], { query, limit: 1 })
        return items.map((item) => String(item.value.text)).join('\n')
      },
      { name: 'search_memory', description: 'Search facts about the user', schema: z.object({ query: z.string() }) },
    )
    const model = fakeModel()
      .respondWithTools([{ name: 'save_memory', args: { text: 'The user is allergic to peanuts' }, id: 'call-1' }])
      .respond(new AIMessage('Noted.'))
      .respondWithTools([{ name: 'search_memory', args: { query: 'allergic peanuts' }, id: 'call-2' }])
      .respond((messages) => new AIMessage(`From memory: ${String(messages.at(-1)?.content)}`))
    const agent = createAgent({ model, tools: [saveMemory, searchMemory], store })
    await agent.invoke({ messages: [{ role: 'user', content: 'I am allergic to peanuts' }] })
    expect(vault.list({ namespace: STORE_NAMESPACE }).total).toBe(1)
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'What am I allergic to?' }] })
    expect(String(result.messages.at(-1)?.content)).toBe('From memory: The user is allergic to peanuts')
  })
})
