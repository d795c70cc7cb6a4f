import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readCommit } from '../../src/memory/vault-files.js'
import { temporaryFolder } from './helpers.js'

/**
 * Issue 10, attacks 3 and 8 at the CLI: memory text kept out of `ps` (`--text-file FILE` and
 * stdin), `vault import` onto an existing file (exit 70 before), and `vault list --json` on a vault
 * whose open fails in the snapshot race (a raw stack before) all end in a typed error, exit 1.
 */

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts')
const folder = temporaryFolder()
afterAll(() => folder.cleanup())

function verity(args: string[], input = '') {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VERITY_PASSPHRASE: 'cli input passphrase',
    VERITY_VAULT_STATE: join(folder.path, 'state'),
  }
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { env, encoding: 'utf8', input })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}
const errorCode = (stderr: string) => JSON.parse(stderr.slice(stderr.indexOf('{'))).error.code as string

describe('vault CLI input and failures', () => {
  it('adds memory text from stdin or a file (never on the command line); refuses both or neither', () => {
    const vault = join(folder.path, 'v')
    expect(verity(['vault', 'create', vault, '--scrypt-log-n', '10']).code).toBe(0)
    const piped = verity(['vault', 'add', vault, '--text-file', '-', '--id', 'piped', '--json'], 'the user likes oolong\n')
    expect(piped.code, piped.stderr).toBe(0)
    const file = join(folder.path, 'note.txt')
    writeFileSync(file, 'meeting on friday')
    expect(verity(['vault', 'add', vault, '--text-file', file, '--id', 'filed']).code).toBe(0)
    expect(JSON.parse(verity(['vault', 'get', vault, 'piped', '--json']).stdout).text).toBe('the user likes oolong')
    expect(JSON.parse(verity(['vault', 'get', vault, 'filed', '--json']).stdout).text).toBe('meeting on friday')
    const both = verity(['vault', 'add', vault, '--text', 'x', '--text-file', file, '--json'])
    expect(both.code).toBe(1)
    expect(errorCode(both.stderr)).toBe('VERITY_INVALID_INPUT')
    expect(verity(['vault', 'add', vault, '--json']).code).toBe(1)
  }, 120_000)

  it('import onto an existing file: typed error, exit 1, the file untouched', () => {
    const vault = join(folder.path, 'source')
    expect(verity(['vault', 'create', vault, '--scrypt-log-n', '10']).code).toBe(0)
    const archive = join(folder.path, 'source.vault')
    expect(verity(['vault', 'export', vault, '--out', archive]).code).toBe(0)
    const existing = join(folder.path, 'existing.txt')
    writeFileSync(existing, 'keep me')
    const result = verity(['vault', 'import', archive, '--to', existing, '--json'])
    expect(result.code).toBe(1)
    expect(errorCode(result.stderr)).toBe('VERITY_INVALID_INPUT')
    expect(readFileSync(existing, 'utf8')).toBe('keep me')
  }, 120_000)

  it('`vault list --json` on a vault whose snapshot and a covered segment are both damaged prints a JSON error, exit 1', () => {
    const vault = join(folder.path, 'damaged')
    expect(verity(['vault', 'create', vault, '--scrypt-log-n', '10']).code).toBe(0)
    expect(verity(['vault', 'add', vault, '--text', 'first']).code).toBe(0)
    expect(verity(['vault', 'compact', vault]).code).toBe(0)
    const { manifest } = readCommit(vault)
    const snapshot = manifest.snapshot
    if (!snapshot) throw new Error('expected a snapshot')
    const snapshotFile = join(vault, 'segments', snapshot.digest.slice(7))
    const bytes = readFileSync(snapshotFile)
    bytes[100] = (bytes[100] as number) ^ 1
    writeFileSync(snapshotFile, bytes)
    const covered = manifest.segments[0]
    if (!covered) throw new Error('expected a segment')
    rmSync(join(vault, 'segments', covered.digest.slice(7)))
    const listed = verity(['vault', 'list', vault, '--json'])
    expect(listed.code).toBe(1)
    expect(errorCode(listed.stderr)).toBe('VERITY_INTEGRITY')
  }, 120_000)
})
