import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { temporaryFolder } from './helpers.js'

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts')
const folder = temporaryFolder()
afterAll(() => folder.cleanup())

/** `passphrase: null` runs with VERITY_PASSPHRASE empty (no passphrase available). */
function verity(args: string[], passphrase: string | null = 'cli test passphrase') {
  const env: NodeJS.ProcessEnv = { ...process.env, VERITY_PASSPHRASE: passphrase ?? '' }
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { env, encoding: 'utf8', input: '' })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('verity vault CLI', () => {
  it('create -> add -> search -> export -> import -> search, with --json', () => {
    const vault = join(folder.path, 'v')
    const created = verity(['vault', 'create', vault, '--guard', 'passphrase', '--scrypt-log-n', '10', '--json'])
    expect(created.code, created.stderr).toBe(0)
    expect(JSON.parse(created.stdout).embedder).toEqual({ id: 'verity/hashing-384@1', dimension: 384, spec: { kind: 'hashing' } })
    const added = verity(['vault', 'add', vault, '--text', 'the user drinks green tea', '--meta', '{"topic":"drinks"}', '--json'])
    expect(added.code, added.stderr).toBe(0)
    const id = JSON.parse(added.stdout).id as string
    expect(verity(['vault', 'add', vault, '--text', 'meeting with Ada on monday', '--namespace', 'work']).code).toBe(0)
    const found = verity(['vault', 'search', vault, '--query', 'green tea', '-k', '1', '--json'])
    expect(found.code, found.stderr).toBe(0)
    expect(JSON.parse(found.stdout)[0].id).toBe(id)
    const archive = join(folder.path, 'm.vault')
    expect(verity(['vault', 'export', vault, '--out', archive, '--json']).code).toBe(0)
    const restored = join(folder.path, 'w')
    expect(verity(['vault', 'import', archive, '--to', restored, '--json']).code).toBe(0)
    const again = verity(['vault', 'search', restored, '--query', 'green tea', '-k', '1', '--json'])
    expect(JSON.parse(again.stdout)[0]).toMatchObject({ id, text: 'the user drinks green tea', metadata: { topic: 'drinks' } })
    const listed = verity(['vault', 'list', restored, '--json'])
    expect(JSON.parse(listed.stdout).total).toBe(2)
    expect(JSON.parse(verity(['vault', 'get', restored, id, '--json']).stdout).text).toBe('the user drinks green tea')
    expect(verity(['vault', 'delete', restored, id, '--json']).code).toBe(0)
    expect(JSON.parse(verity(['vault', 'rotate', restored, '--json']).stdout).segments).toBe(1)
    expect(verity(['vault', 'get', restored, id]).stderr).toMatch(/No memory with this id/)
  }, 120_000)

  it('fails clearly: wrong passphrase, no passphrase and no terminal, unknown id, bad --meta', () => {
    const vault = join(folder.path, 'errors')
    expect(verity(['vault', 'create', vault, '--scrypt-log-n', '10']).code).toBe(0)
    const wrong = verity(['vault', 'list', vault, '--json'], 'not the passphrase')
    expect(wrong.code).toBe(1)
    expect(JSON.parse(wrong.stderr.slice(wrong.stderr.indexOf('{\n'))).error.code).toBe('VERITY_WRONG_KEY')
    const none = verity(['vault', 'list', vault], null)
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/No passphrase available/)
    expect(verity(['vault', 'add', vault, '--text', 'x', '--meta', '[1]']).stderr).toMatch(/--meta is not a JSON object/)
  }, 120_000)
})
