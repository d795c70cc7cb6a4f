import { spawnSync } from 'node:child_process'
import { generateKeyPairSync, sign } from 'node:crypto'
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { passphraseGuard } from '../../src/access/passphrase-guard.js'
import { canonicalJson } from '../../src/crypto/canonical-json.js'
import { AccessDeniedError, IntegrityError, type VerityError } from '../../src/errors.js'
import { createVault, exactIndexFactory, openVault } from '../../src/memory/index.js'
import { readCommit } from '../../src/memory/vault-files.js'
import { hashEmbedder, TEST_COST, temporaryFolder } from './helpers.js'

/**
 * Issue 10, attack 7: cheap denial of service by whoever can write the vault's files: a scrypt
 * cost raised in the passphrase stanza (used before anything can be authenticated), a segment
 * replaced by a symlink to /dev/zero, and `vault create /proc/x` (Node's recursive mkdir spins).
 */

const folder = temporaryFolder()
const embedder = hashEmbedder(16)
const guard = () => passphraseGuard({ passphrase: 'dos test passphrase', cost: TEST_COST })
process.env.VERITY_VAULT_STATE ??= join(folder.path, 'default-state')
afterAll(() => folder.cleanup())
const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts')

describe('cheap denial of service', () => {
  it('a passphrase stanza whose scrypt cost was raised is refused without running scrypt', async () => {
    const path = join(folder.path, 'cost')
    await (await createVault({ path, guards: [guard()], embedder, index: exactIndexFactory })).close()
    const commit = JSON.parse(readFileSync(join(path, 'vault.json'), 'utf8'))
    const stanza = commit.header.stanzas[0]
    commit.header.stanzas = [0, 1, 2, 3].map(() => ({ ...stanza, params: { ...stanza.params, logN: 21 } }))
    // re-signed with a writer key of the attacker's own (all a machine that never opened the vault can check)
    const attacker = generateKeyPairSync('ed25519')
    commit.header.writer.publicKey = attacker.publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex')
    const message = Buffer.concat([
      Buffer.from('verity/vault/v2/commit\n'),
      Buffer.from(canonicalJson({ header: commit.header, manifest: commit.manifest })),
    ])
    commit.signature = sign(null, message, attacker.privateKey).toString('hex')
    writeFileSync(join(path, 'vault.json'), JSON.stringify(commit))
    // a machine that never opened it: the stanza's cost is over the bound (no scrypt at N = 2^21)
    const started = process.hrtime.bigint()
    const fresh = await openVault({
      path,
      guards: [guard()],
      index: exactIndexFactory,
      stateFolder: join(folder.path, 'fresh'),
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(fresh).toBeInstanceOf(AccessDeniedError)
    expect((fresh as AccessDeniedError).meta).toMatchObject({ reason: 'scrypt-cost', logN: 21 })
    // this machine pinned the writer key: the replaced header is refused before any guard work
    const pinned = await openVault({ path, guards: [guard()], index: exactIndexFactory }).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect((pinned as VerityError).code).toBe('VERITY_VAULT_WRITER_CHANGED')
    // (not a timed assertion: one scrypt at N = 2^21 alone takes seconds and 2 GiB; report what it took)
    console.info('refusals took', Number(process.hrtime.bigint() - started) / 1e6, 'ms')
  })

  it('a segment replaced by a symlink to /dev/zero or a FIFO is refused at once', async () => {
    const path = join(folder.path, 'zero')
    const vault = await createVault({ path, guards: [guard()], embedder, index: exactIndexFactory })
    await vault.add({ text: 'a memory' })
    await vault.close()
    const entry = readCommit(path).manifest.segments[0]
    if (!entry) throw new Error('expected a segment')
    const file = join(path, 'segments', entry.digest.slice(7))
    rmSync(file)
    symlinkSync('/dev/zero', file)
    const error = await openVault({ path, guards: [guard()], index: exactIndexFactory, readOnly: true }).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(IntegrityError)
    expect((error as IntegrityError).meta).toMatchObject({ reason: 'not-a-file' })
    rmSync(join(path, 'vault.json'))
    symlinkSync('/dev/zero', join(path, 'vault.json'))
    await expect(openVault({ path, guards: [guard()], index: exactIndexFactory, readOnly: true })).rejects.toBeInstanceOf(
      IntegrityError,
    )
  }, 30_000)

  it('`vault create /proc/x` fails with a typed error (exit 1) instead of spinning', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', main, 'vault', 'create', '/proc/verity-test/x', '--scrypt-log-n', '10', '--json'],
      { env: { ...process.env, VERITY_PASSPHRASE: 'p' }, encoding: 'utf8', input: '', timeout: 100_000 },
    )
    expect(result.signal).toBeNull() // not killed by the timeout
    expect(result.status).toBe(1)
    expect(JSON.parse(result.stderr.slice(result.stderr.indexOf('{'))).error.code).toMatch(/^VERITY_/)
  }, 150_000)
})
