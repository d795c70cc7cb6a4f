import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { canonicalJson } from '../../../src/crypto/canonical-json.js'
import {
  createHashingEmbedder,
  type EmbedderSpec,
  parseEmbedderOption,
  resolveEmbedder,
} from '../../../src/memory/embedders/index.js'
import { createVault, openVault } from '../../../src/memory/vault.js'
import { hashEmbedder, temporaryFolder, testGuard } from '../helpers.js'

const folder = temporaryFolder()
const stateFolder = join(folder.path, 'state')
afterAll(() => folder.cleanup())

const fixturePackage = join(import.meta.dirname, '..', '..', 'fixtures', 'verity-test-embeddings', 'index.js')
const pathSpec = (
  options: Record<string, number | string> = { dimension: 24 },
): Extract<EmbedderSpec, { kind: 'langchain' }> => ({
  kind: 'langchain',
  module: fixturePackage,
  export: 'WordHashEmbeddings',
  options,
})

describe('embedder specs', () => {
  it('parses --embedder values and refuses unknown kinds, bad exports and secrets in options', () => {
    expect(parseEmbedderOption({ value: 'hashing' })).toEqual({ kind: 'hashing' })
    expect(
      parseEmbedderOption({
        value: 'langchain:@langchain/openai#OpenAIEmbeddings',
        options: '{"model":"text-embedding-3-small"}',
      }),
    ).toEqual({
      kind: 'langchain',
      module: '@langchain/openai',
      export: 'OpenAIEmbeddings',
      options: { model: 'text-embedding-3-small' },
    })
    expect(parseEmbedderOption({ value: 'transformers:./models/all-MiniLM-L6-v2/' })).toEqual({
      kind: 'transformers',
      model: 'all-MiniLM-L6-v2',
      folder: './models/all-MiniLM-L6-v2/',
      pooling: 'mean',
      normalize: true,
    })
    expect(() => parseEmbedderOption({ value: 'word2vec' })).toThrow(/Unknown embedder/)
    expect(() => parseEmbedderOption({ value: 'langchain:@langchain/openai' })).toThrow(/MODULE#ExportName/)
    expect(() => parseEmbedderOption({ value: 'langchain:pkg#not-an-identifier' })).toThrow(/identifier/)
    expect(() =>
      parseEmbedderOption({ value: 'langchain:@langchain/openai#OpenAIEmbeddings', options: '{"apiKey":"sk-1"}' }),
    ).toThrow(/must not hold secrets/)
    expect(() => parseEmbedderOption({ value: 'langchain:pkg#E', options: '{"configuration":{"authToken":"x"}}' })).toThrow(
      /must not hold secrets/,
    )
    expect(() => parseEmbedderOption({ value: 'langchain:pkg#E', options: '[1]' })).toThrow(/not a JSON object/)
  })

  it('records the spec in the authenticated header; a changed spec fails the signature', async () => {
    const path = join(folder.path, 'recorded')
    const embedder = await resolveEmbedder({ spec: pathSpec() })
    expect(embedder).toMatchObject({ id: 'langchain/WordHashEmbeddings:default@1', dimension: 24 })
    const vault = await createVault({ path, guards: [testGuard()], embedder, stateFolder })
    await vault.add({ text: 'the invoice was paid on monday' })
    expect(vault.info().embedder).toEqual({ id: 'langchain/WordHashEmbeddings:default@1', dimension: 24, spec: pathSpec() })
    await vault.close()
    const commitPath = join(path, 'vault.json')
    const original = readFileSync(commitPath, 'utf8')
    const commit = JSON.parse(original)
    expect(commit.header.embedder.spec).toEqual(pathSpec())
    commit.header.embedder.spec.module = '/tmp/attacker.js'
    writeFileSync(commitPath, canonicalJson(commit))
    await expect(openVault({ path, guards: [testGuard()], stateFolder, readOnly: true })).rejects.toMatchObject({
      code: 'VERITY_INTEGRITY',
    })
    writeFileSync(commitPath, original)
    // Opened with a resolver, the embedder comes from the recorded spec (a path: only when the user names it).
    await expect(
      openVault({
        path,
        guards: [testGuard()],
        stateFolder,
        readOnly: true,
        embedderResolver: (recorded) => resolveEmbedder({ recorded }),
      }),
    ).rejects.toMatchObject({ code: 'VERITY_EMBEDDER_UNAVAILABLE', shortMessage: expect.stringMatching(/by path/) })
    const reopened = await openVault({
      path,
      guards: [testGuard()],
      stateFolder,
      readOnly: true,
      embedderResolver: (recorded) => resolveEmbedder({ recorded, spec: pathSpec() }),
    })
    const [hit] = await reopened.search({ query: 'invoice paid', k: 1, mode: 'vector' })
    expect(hit?.record.text).toBe('the invoice was paid on monday')
    await reopened.close()
  })

  it('refuses another spec (naming both) or another dimension at open', async () => {
    const path = join(folder.path, 'mismatch')
    const vault = await createVault({
      path,
      guards: [testGuard()],
      embedder: await resolveEmbedder({ spec: pathSpec() }),
      stateFolder,
    })
    await vault.close()
    const salted = await resolveEmbedder({ spec: pathSpec({ dimension: 24, salt: 'other model' }) })
    const sameIdOtherSpec = { ...salted, id: 'langchain/WordHashEmbeddings:default@1' }
    const refused = openVault({ path, guards: [testGuard()], stateFolder, embedder: sameIdOtherSpec, readOnly: true })
    await expect(refused).rejects.toMatchObject({ code: 'VERITY_EMBEDDER_MISMATCH' })
    await expect(refused).rejects.toHaveProperty('details', expect.stringMatching(/"salt":"other model"/))
    await expect(refused).rejects.toHaveProperty('details', expect.stringMatching(/\{"dimension":24\}/))
    const wider = await resolveEmbedder({ spec: pathSpec({ dimension: 32 }) })
    await expect(openVault({ path, guards: [testGuard()], stateFolder, embedder: wider, readOnly: true })).rejects.toMatchObject({
      code: 'VERITY_EMBEDDER_MISMATCH',
      details: expect.stringMatching(/24 dimensions.*32 dimensions/),
    })
    await expect(
      openVault({ path, guards: [testGuard()], stateFolder, embedder: createHashingEmbedder(), readOnly: true }),
    ).rejects.toMatchObject({ code: 'VERITY_EMBEDDER_MISMATCH' })
  })

  it('an old vault without a spec opens with the id and dimension rules', async () => {
    const path = join(folder.path, 'old')
    const embedder = hashEmbedder(16) // no spec, as every embedder before specs were recorded
    const vault = await createVault({ path, guards: [testGuard()], embedder, stateFolder })
    await vault.add({ text: 'green tea in the morning' })
    await vault.close()
    expect(JSON.parse(readFileSync(join(path, 'vault.json'), 'utf8')).header.embedder).toEqual({ id: embedder.id, dimension: 16 })
    const reopened = await openVault({ path, guards: [testGuard()], stateFolder, embedder, readOnly: true })
    expect((await reopened.search({ query: 'green tea', k: 1 }))[0]?.record.text).toBe('green tea in the morning')
    await reopened.close()
    // Any embedder with a spec but the same id and dimension is accepted (nothing recorded to compare with) ...
    const withSpec = { ...embedder, spec: { kind: 'hashing' } as const }
    await (await openVault({ path, guards: [testGuard()], stateFolder, embedder: withSpec, readOnly: true })).close()
    // ... another id is not.
    await expect(
      openVault({ path, guards: [testGuard()], stateFolder, embedder: hashEmbedder(16, 'test/other@1'), readOnly: true }),
    ).rejects.toMatchObject({ code: 'VERITY_EMBEDDER_MISMATCH' })
    // The resolver has no spec to follow: the vault opens with its id and dimension only (lists, no text search).
    const described = await openVault({
      path,
      guards: [testGuard()],
      stateFolder,
      readOnly: true,
      embedderResolver: (recorded) => resolveEmbedder({ recorded }),
    })
    expect(described.list({}).total).toBe(1)
    await expect(described.search({ query: 'green tea', k: 1, mode: 'vector' })).rejects.toMatchObject({
      code: 'VERITY_INVALID_INPUT',
      hint: expect.stringMatching(/--embedder/),
    })
    await described.close()
  })

  it('a missing package or model folder is a typed error with a hint', async () => {
    const missingPackage = resolveEmbedder({
      spec: { kind: 'langchain', module: '@verity-test/not-installed/embeddings', export: 'Nope', options: {} },
      directory: folder.path,
    })
    await expect(missingPackage).rejects.toMatchObject({
      code: 'VERITY_EMBEDDER_UNAVAILABLE',
      hint: expect.stringMatching(/^npm install @verity-test\/not-installed /),
    })
    await expect(resolveEmbedder({ spec: { ...pathSpec(), export: 'NoSuchClass' } })).rejects.toMatchObject({
      code: 'VERITY_EMBEDDER_UNAVAILABLE',
      details: expect.stringMatching(/exports: WordHashEmbeddings/),
    })
    await expect(
      resolveEmbedder({ spec: parseEmbedderOption({ value: `transformers:${folder.path}/no-model` }) }),
    ).rejects.toMatchObject({
      code: 'VERITY_EMBEDDER_UNAVAILABLE',
      shortMessage: 'The transformers.js model folder is missing',
    })
  })
})
