import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createVaultSessions } from '../../src/daemon/vault-sessions.js'
import { createHashingEmbedder, fromLangChainEmbeddings } from '../../src/memory/embedders/index.js'
import { createVault } from '../../src/memory/vault.js'
import { WordHashEmbeddings } from '../fixtures/verity-test-embeddings/index.js'
import { temporaryFolder } from '../memory/helpers.js'

const folder = temporaryFolder()
afterAll(() => folder.cleanup())
const passphrase = 'daemon embedder passphrase'

describe('daemon vault sessions and the recorded embedder spec', () => {
  it('opens a vault made with another embedder from its spec; a module path in a header is never loaded', async () => {
    process.env.VERITY_VAULT_STATE = join(folder.path, 'state')
    const sessions = createVaultSessions({ directory: join(folder.path, 'vaults') })
    const { passphraseGuard } = await import('../../src/access/passphrase-guard.js')
    const guard = passphraseGuard({ passphrase, cost: { logN: 10, r: 8, p: 1 } })
    // A 32-dimension hashing vault made in code: the daemon used to open every vault with the 384-dimension embedder.
    const hashed = sessions.pathOf('alice', 'hashed')
    mkdirSync(dirname(hashed), { recursive: true })
    const made = await createVault({ path: hashed, guards: [guard], embedder: createHashingEmbedder({ dimension: 32 }) })
    await made.add([{ text: 'the invoice was paid' }, { text: 'flight to lisbon' }])
    await made.close()
    await sessions.open({ owner: 'alice', name: 'hashed', guard: { kind: 'passphrase', passphrase }, ttlSeconds: 60 })
    const hits = await sessions.use('alice', 'hashed', (vault) => vault.search({ query: 'lisbon flight', k: 1, mode: 'vector' }))
    expect(hits[0]?.record.text).toBe('flight to lisbon')
    // A header naming a module path: the vault opens (listing needs no embedder), embedding is refused.
    const pathed = sessions.pathOf('alice', 'pathed')
    const module = join(import.meta.dirname, '..', 'fixtures', 'verity-test-embeddings', 'index.js')
    const spec = { kind: 'langchain', module, export: 'WordHashEmbeddings', options: { dimension: 24 } } as const
    const embedder = fromLangChainEmbeddings(new WordHashEmbeddings({ dimension: 24 }), {
      id: 'test/word-hash@1',
      dimension: 24,
      spec,
    })
    await (await createVault({ path: pathed, guards: [guard], embedder })).close()
    await sessions.open({ owner: 'alice', name: 'pathed', guard: { kind: 'passphrase', passphrase }, ttlSeconds: 60 })
    expect(await sessions.use('alice', 'pathed', (vault) => vault.list({}).total)).toBe(0)
    await expect(sessions.use('alice', 'pathed', (vault) => vault.add({ text: 'x' }))).rejects.toMatchObject({
      code: 'VERITY_EMBEDDER_UNAVAILABLE',
    })
    await sessions.closeAll()
  }, 120_000)
})
