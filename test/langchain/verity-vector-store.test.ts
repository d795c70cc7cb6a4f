import { Document } from '@langchain/core/documents'
import { StringOutputParser } from '@langchain/core/output_parsers'
import { ChatPromptTemplate } from '@langchain/core/prompts'
import { RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables'
import { FakeChatModel } from '@langchain/core/utils/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EmbedderMismatchError, InvalidInputError } from '../../src/errors.js'
import { VerityVectorStore } from '../../src/langchain/verity-vector-store.js'
import { createVault, openVault, type Vault } from '../../src/memory/vault.js'
import { hashEmbedder, temporaryFolder, testGuard } from '../memory/helpers.js'

const embedder = hashEmbedder(32)
let folder: ReturnType<typeof temporaryFolder>
let vault: Vault

beforeEach(async () => {
  folder = temporaryFolder('verity-vector-store-')
  vault = await createVault({ path: `${folder.path}/vault`, guards: [testGuard()], embedder })
})
afterEach(async () => {
  await vault.close().catch(() => undefined)
  folder.cleanup()
})

const facts = [
  new Document({ pageContent: 'The user drinks green tea every morning', metadata: { topic: 'drinks' } }),
  new Document({ pageContent: 'The user walks the dog in the park at noon', metadata: { topic: 'pets' } }),
  new Document({ pageContent: 'The user pays the electricity bill by card', metadata: { topic: 'billing' } }),
]

describe('VerityVectorStore', () => {
  it('adds documents as vault memories and finds them by meaning, with scores and metadata filters', async () => {
    const store = new VerityVectorStore(embedder, { vault })
    const ids = await store.addDocuments(facts)
    expect(ids).toHaveLength(3)
    expect(vault.get(ids[0] as string)?.text).toBe(facts[0]?.pageContent)

    const [top] = await store.similaritySearch('green tea every morning', 1)
    expect(top?.pageContent).toBe('The user drinks green tea every morning')
    expect(top?.metadata).toEqual({ topic: 'drinks' })
    expect(top?.id).toBe(ids[0])

    const scored = await store.similaritySearchWithScore('dog park', 3)
    expect(scored[0]?.[0].pageContent).toContain('dog')
    const scores = scored.map(([, score]) => score)
    expect([...scores].sort((a, b) => b - a)).toEqual(scores)

    const billingOnly = await store.similaritySearch('green tea morning', 3, { metadata: { topic: 'billing' } })
    expect(billingOnly.map((document) => document.metadata.topic)).toEqual(['billing'])

    const byVector = await store.similaritySearchVectorWithScore(await embedder.embedQuery('electricity bill'), 1)
    expect(byVector[0]?.[0].pageContent).toContain('electricity')
  })

  it('keeps namespaces apart and validates filters with a typed error', async () => {
    const work = new VerityVectorStore(embedder, { vault, namespace: 'work' })
    const home = new VerityVectorStore(embedder, { vault, namespace: 'home' })
    await work.addDocuments([new Document({ pageContent: 'The quarterly report is due Friday', metadata: {} })])
    await home.addDocuments([new Document({ pageContent: 'The quarterly garden report is due in spring', metadata: {} })])
    expect((await work.similaritySearch('quarterly report', 5)).map((document) => document.pageContent)).toEqual([
      'The quarterly report is due Friday',
    ])
    expect(await work.similaritySearch('quarterly report', 5, { namespace: 'home' })).toHaveLength(1)
    expect(vault.get((await home.similaritySearch('garden', 1))[0]?.id as string)?.namespace).toBe('home')
    await expect(work.similaritySearch('x', 1, { topic: 'billing' } as never)).rejects.toBeInstanceOf(InvalidInputError)
  })

  it('adds vectors with caller ids, deletes by id and by filter, and the memories survive close/open', async () => {
    const store = new VerityVectorStore(embedder, { vault })
    const vectors = await embedder.embedDocuments(facts.map((document) => document.pageContent))
    expect(await store.addVectors(vectors, facts, { ids: ['tea', 'dog', 'bill'] })).toEqual(['tea', 'dog', 'bill'])
    await store.delete({ ids: ['dog'] })
    await store.delete({ filter: { metadata: { topic: 'billing' } } })
    await vault.close()
    vault = await openVault({ path: `${folder.path}/vault`, guards: [testGuard()], embedder })
    const reopened = new VerityVectorStore(embedder, { vault })
    expect((await reopened.similaritySearch('anything the user does', 10)).map((document) => document.id)).toEqual(['tea'])
  })

  it('maxMarginalRelevanceSearch trades a near-duplicate for a diverse memory', async () => {
    const store = await VerityVectorStore.fromTexts(
      [
        'green tea in the morning with honey',
        'green tea in the morning with honey and lemon',
        'green tea at night with milk',
        'black coffee in the morning',
      ],
      { kind: 'habit' },
      embedder,
      { vault },
    )
    const plain = await store.similaritySearch('green tea in the morning with honey', 2)
    expect(plain.map((document) => document.pageContent)).toEqual([
      'green tea in the morning with honey',
      'green tea in the morning with honey and lemon',
    ])
    const diverse = await store.maxMarginalRelevanceSearch('green tea in the morning with honey', {
      k: 2,
      fetchK: 4,
      lambda: 0.2,
    })
    expect(diverse[0]?.pageContent).toBe('green tea in the morning with honey')
    expect(diverse[1]?.pageContent).not.toBe('green tea in the morning with honey and lemon')
    expect(diverse.every((document) => document.metadata.kind === 'habit')).toBe(true)
  })

  it('refuses embeddings that differ from the vault with a typed error', () => {
    expect(() => new VerityVectorStore(hashEmbedder(32, 'other/embedder'), { vault })).toThrow(EmbedderMismatchError)
  })

  it('a retriever -> prompt -> model chain answers from vault memories', async () => {
    const store = await VerityVectorStore.fromDocuments(facts, embedder, { vault })
    const retriever = store.asRetriever({ k: 1 })
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'Answer from these memories only:\n{context}'],
      ['human', '{question}'],
    ])
    // FakeChatModel answers with the prompt it was given: the answer shows what the chain retrieved.
    const chain = RunnableSequence.from([
      {
        context: retriever.pipe((documents) => documents.map((document) => document.pageContent).join('\n')),
        question: new RunnablePassthrough(),
      },
      prompt,
      new FakeChatModel({}),
      new StringOutputParser(),
    ])
    const answer = await chain.invoke('When does the user walk the dog?')
    expect(answer).toContain('The user walks the dog in the park at noon')
    expect(answer).not.toContain('green tea')
    expect(answer).toContain('When does the user walk the dog?')
  })
})
