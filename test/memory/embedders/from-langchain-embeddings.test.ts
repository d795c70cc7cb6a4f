import { Embeddings } from '@langchain/core/embeddings'
import { describe, expect, it } from 'vitest'
import { EmbedderMismatchError, InvalidInputError } from '../../../src/errors.js'
import { fromLangChainEmbeddings } from '../../../src/memory/embedders/index.js'

/** A real LangChain Embeddings subclass (character histogram), as an integration would be. */
class LetterEmbeddings extends Embeddings {
  constructor(private readonly size: number) {
    super({})
  }
  async embedDocuments(documents: string[]): Promise<number[][]> {
    return Promise.all(documents.map((document) => this.embedQuery(document)))
  }
  async embedQuery(document: string): Promise<number[]> {
    const out = new Array<number>(this.size).fill(0)
    for (const char of document.toLowerCase()) out[char.charCodeAt(0) % this.size]! += 1
    return out
  }
}

describe('fromLangChainEmbeddings', () => {
  it('wraps any LangChain embeddings with an id and dimension', async () => {
    const embedder = fromLangChainEmbeddings(new LetterEmbeddings(26), { id: 'test/letters@1', dimension: 26 })
    expect(embedder.id).toBe('test/letters@1')
    expect(embedder.dimension).toBe(26)
    const [a, b] = await embedder.embedDocuments(['abc', 'zzz'])
    expect(a).toHaveLength(26)
    expect(b).toEqual(await embedder.embedQuery('zzz'))
  })

  it('refuses a dimension the model does not produce, and bad parameters', async () => {
    const wrong = fromLangChainEmbeddings(new LetterEmbeddings(10), { id: 'test/letters@1', dimension: 26 })
    await expect(wrong.embedQuery('abc')).rejects.toBeInstanceOf(EmbedderMismatchError)
    await expect(wrong.embedDocuments(['abc'])).rejects.toBeInstanceOf(EmbedderMismatchError)
    expect(() => fromLangChainEmbeddings(new LetterEmbeddings(10), { id: 'no-version', dimension: 10 })).toThrow(
      InvalidInputError,
    )
    expect(() => fromLangChainEmbeddings({} as never, { id: 'test/x@1', dimension: 10 })).toThrow(InvalidInputError)
    const broken = fromLangChainEmbeddings(
      { embedDocuments: async () => [[Number.NaN]], embedQuery: async () => [Number.NaN] },
      { id: 'test/nan@1', dimension: 1 },
    )
    await expect(broken.embedQuery('x')).rejects.toBeInstanceOf(InvalidInputError)
  })
})
