import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromLangChainEmbeddings } from '../../../src/memory/embedders/index.js'
import { createVault } from '../../../src/memory/vault.js'
import { WordHashEmbeddings } from '../../fixtures/verity-test-embeddings/index.js'
import { temporaryFolder, testGuard } from '../helpers.js'

/**
 * The CLI opens vaults made in code with a LangChain embeddings package (a tiny local package,
 * `test/fixtures/verity-test-embeddings`, installed into a temporary project's node_modules):
 * by default from the spec the vault records, or with `--embedder`.
 */

const root = join(import.meta.dirname, '..', '..', '..')
const main = join(root, 'src', 'cli', 'main.ts')
/** tsx by file URL: the CLI runs with the user's project as working directory, where tsx is not installed. */
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href
const fixturePackage = join(import.meta.dirname, '..', '..', 'fixtures', 'verity-test-embeddings')
const folder = temporaryFolder()
/** A user's project with the embeddings package installed. */
const project = join(folder.path, 'project')
/** A folder where it is not installed. */
const elsewhere = join(folder.path, 'elsewhere')
const stateFolder = join(folder.path, 'state')
const PASSPHRASE = 'correct horse battery staple' // testGuard's
const EMBEDDER = 'langchain:verity-test-embeddings#WordHashEmbeddings'
const spec = {
  kind: 'langchain',
  module: 'verity-test-embeddings',
  export: 'WordHashEmbeddings',
  options: { dimension: 24 },
} as const
const MEMORIES = [
  'the invoice for march was paid by card',
  'flight to lisbon leaves on friday',
  'soup needs more salt and pepper',
]

function verity(args: string[], cwd = project) {
  const env: NodeJS.ProcessEnv = { ...process.env, VERITY_PASSPHRASE: PASSPHRASE, VERITY_VAULT_STATE: stateFolder }
  const result = spawnSync(process.execPath, ['--import', tsx, main, ...args], { env, cwd, encoding: 'utf8', input: '' })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}
/** `verity ARGS --embedder <the test package> --embedder-options OPTIONS --json`, from the project. */
function verityWithEmbedder(args: string[], options: Record<string, unknown>) {
  return verity([...args, '--embedder', EMBEDDER, '--embedder-options', JSON.stringify(options), '--json'])
}
/** `verity vault create --embedder EMBEDDER --json` of a vault that must never be made. */
function createNeverWith(embedder: string) {
  return verity(['vault', 'create', join(folder.path, 'never'), '--embedder', embedder, '--json'])
}
function errorOf(result: { stderr: string }) {
  return JSON.parse(result.stderr.slice(result.stderr.indexOf('{\n'))).error
}

async function makeVault(name: string, withSpec: boolean): Promise<string> {
  const path = join(folder.path, name)
  const embedder = fromLangChainEmbeddings(new WordHashEmbeddings({ dimension: 24 }), {
    id: 'test/word-hash@1',
    dimension: 24,
    ...(withSpec ? { spec } : {}),
  })
  const vault = await createVault({ path, guards: [testGuard()], embedder, stateFolder })
  await vault.add(MEMORIES.map((text) => ({ text })))
  await vault.close()
  return path
}

let recorded: string
let old: string
beforeAll(async () => {
  mkdirSync(join(project, 'node_modules'), { recursive: true })
  writeFileSync(join(project, 'package.json'), '{ "name": "user-project", "private": true, "type": "module" }\n')
  symlinkSync(fixturePackage, join(project, 'node_modules', 'verity-test-embeddings'), 'dir')
  mkdirSync(elsewhere)
  recorded = await makeVault('recorded', true)
  old = await makeVault('old', false)
})
afterAll(() => folder.cleanup())

describe('verity vault --embedder', () => {
  it('lists and searches a vault made with a LangChain embeddings package, from its recorded spec', () => {
    const listed = verity(['vault', 'list', recorded, '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout).total).toBe(3)
    const found = verity(['vault', 'search', recorded, '--query', 'lisbon flight', '-k', '1', '--mode', 'vector', '--json'])
    expect(found.code, found.stderr).toBe(0)
    expect(JSON.parse(found.stdout)[0].text).toBe('flight to lisbon leaves on friday')
    // Adding embeds with the same package (the recorded spec), so the new memory is found by meaning of its words.
    expect(verity(['vault', 'add', recorded, '--text', 'pepper grinder is broken', '--json']).code).toBe(0)
    const again = verity(['vault', 'search', recorded, '--query', 'broken grinder', '-k', '1', '--mode', 'vector', '--json'])
    expect(JSON.parse(again.stdout)[0].text).toBe('pepper grinder is broken')
  }, 300_000)

  it('a vault without a spec (made before specs) lists by default and searches with --embedder', () => {
    expect(JSON.parse(readFileSync(join(old, 'vault.json'), 'utf8')).header.embedder.spec).toBeUndefined()
    const listed = verity(['vault', 'list', old, '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout).total).toBe(3)
    const unembedded = verity(['vault', 'search', old, '--query', 'invoice', '--mode', 'vector', '--json'])
    expect(unembedded.code).toBe(1)
    expect(errorOf(unembedded).hint).toMatch(/--embedder/)
    const found = verityWithEmbedder(['vault', 'search', old, '--query', 'march invoice', '-k', '1'], { dimension: 24 })
    expect(found.code, found.stderr).toBe(0)
    expect(JSON.parse(found.stdout)[0].text).toBe('the invoice for march was paid by card')
  }, 300_000)

  it('a missing package: typed error, exit 1, install hint (listing needs no embedder)', () => {
    const search = verity(['vault', 'search', recorded, '--query', 'invoice', '--json'], elsewhere)
    expect(search.code).toBe(1)
    expect(errorOf(search)).toMatchObject({
      code: 'VERITY_EMBEDDER_UNAVAILABLE',
      shortMessage: 'The embedder package is not installed',
      hint: expect.stringMatching(/^npm install verity-test-embeddings /),
    })
    expect(verity(['vault', 'list', recorded, '--json'], elsewhere).code).toBe(0)
    const create = createNeverWith('langchain:@langchain/not-a-package#X')
    expect(create.code).toBe(1)
    expect(errorOf(create)).toMatchObject({
      code: 'VERITY_EMBEDDER_UNAVAILABLE',
      hint: expect.stringMatching(/^npm install @langchain\/not-a-package /),
    })
    const transformers = createNeverWith('transformers:./no-model')
    expect(transformers.code).toBe(1)
    expect(errorOf(transformers)).toMatchObject({
      code: 'VERITY_EMBEDDER_UNAVAILABLE',
      shortMessage: 'The transformers.js model folder is missing',
    })
    const usage = verity(['vault', 'list', recorded, '--embedder', 'word2vec', '--json'])
    expect(usage.code).toBe(1)
    expect(errorOf(usage).shortMessage).toBe("Unknown embedder 'word2vec'")
  }, 300_000)

  it('refuses another embedder: another spec (both named) or another kind', () => {
    const salted = verityWithEmbedder(['vault', 'list', recorded], { dimension: 24, salt: 'v2' })
    expect(salted.code).toBe(1)
    expect(errorOf(salted).code).toBe('VERITY_EMBEDDER_MISMATCH')
    expect(errorOf(salted).details).toContain('{"dimension":24,"salt":"v2"}')
    expect(errorOf(salted).details).toContain('langchain:verity-test-embeddings#WordHashEmbeddings {"dimension":24}')
    const hashing = verity(['vault', 'search', recorded, '--query', 'invoice', '--embedder', 'hashing', '--json'])
    expect(hashing.code).toBe(1)
    expect(errorOf(hashing).code).toBe('VERITY_EMBEDDER_MISMATCH')
  }, 300_000)

  it('vault create --embedder records the spec and the probed dimension; later commands use it', () => {
    const path = join(folder.path, 'cli-made')
    const created = verityWithEmbedder(['vault', 'create', path, '--scrypt-log-n', '10'], { dimension: 12 })
    expect(created.code, created.stderr).toBe(0)
    expect(JSON.parse(created.stdout).embedder).toEqual({
      id: 'langchain/WordHashEmbeddings:default@1',
      dimension: 12,
      spec: { ...spec, options: { dimension: 12 } },
    })
    expect(verity(['vault', 'add', path, '--text', 'the cat sleeps on the sofa']).code).toBe(0)
    expect(verity(['vault', 'add', path, '--text', 'quarterly taxes are due']).code).toBe(0)
    const found = verity(['vault', 'search', path, '--query', 'sofa cat', '-k', '1', '--mode', 'vector', '--json'])
    expect(found.code, found.stderr).toBe(0)
    expect(JSON.parse(found.stdout)[0].text).toBe('the cat sleeps on the sofa')
  }, 300_000)

  it('agent run --embedder: the home vault is made with it, and the next run reopens it from the recorded spec', () => {
    const script = join(project, 'remember.mjs')
    writeFileSync(
      script,
      `export default async function (context) {
  const vault = await context.openVault()
  await vault.add({ text: context.args.join(' ') })
  const [hit] = await vault.search({ query: 'lisbon', k: 1, mode: 'vector' })
  return { embedder: vault.info().embedder, text: hit.record.text, records: vault.info().records }
}
`,
    )
    const home = join(folder.path, 'agent-home')
    const first = verityWithEmbedder(['agent', 'run', script, 'the', 'lisbon', 'flight', '--home', home], { dimension: 24 })
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout).result).toMatchObject({
      embedder: { dimension: 24, spec },
      text: 'the lisbon flight',
      records: 1,
    })
    const second = verity(['agent', 'run', script, 'soup', 'with', 'salt', '--home', home, '--json'])
    expect(second.code, second.stderr).toBe(0)
    expect(JSON.parse(second.stdout).result).toMatchObject({ embedder: { spec }, text: 'the lisbon flight', records: 2 })
  }, 300_000)
})
