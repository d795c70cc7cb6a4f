import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { encryptKeystoreJsonSync, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ownerGuard } from '../../src/access/owner-guard.js'
import { openVault } from '../../src/memory/index.js'

/** `verity vault grant|grants|access|revoke` and `verity lit-local deal|start`, each run as a child process. */

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts')
const PASSPHRASE = 'owner passphrase for the access CLI test'
const KEYSTORE_PASSWORD = 'friend keystore password'
let folder: string

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'verity-access-cli-'))
})
afterAll(() => {
  rmSync(folder, { recursive: true, force: true })
})

/** Runs the CLI with a private HOME (the Lit key cache lives there) and only the variables given. */
function verity(args: string[], environment: { passphrase?: string; keystorePassword?: string } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: folder }
  delete env.VERITY_PASSPHRASE
  delete env.VERITY_KEYSTORE_PASSWORD
  if (environment.passphrase) env.VERITY_PASSPHRASE = environment.passphrase
  if (environment.keystorePassword) env.VERITY_KEYSTORE_PASSWORD = environment.keystorePassword
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { env, encoding: 'utf8', input: '' })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

const asOwner = { passphrase: PASSPHRASE }
const asFriend = { keystorePassword: KEYSTORE_PASSWORD }

/** The JSON error document `--json` prints on stderr. */
function errorOf(stderr: string): { code: string; name?: string; message?: string } {
  const start = stderr.indexOf('{')
  expect(start, stderr).toBeGreaterThanOrEqual(0)
  return (JSON.parse(stderr.slice(start)) as { error: { code: string } }).error
}

describe('verity vault grant / grants / access / revoke', () => {
  it('grants a wallet by public key, the wallet opens the vault, revoking shuts it out while the owner still reads', async () => {
    const vault = join(folder, 'shared')
    const friend = Wallet.createRandom()
    const keystore = join(folder, 'friend.json')
    writeFileSync(
      keystore,
      encryptKeystoreJsonSync({ address: friend.address, privateKey: friend.privateKey }, KEYSTORE_PASSWORD, {
        scrypt: { N: 1 << 10 },
      }),
    )

    expect(verity(['vault', 'create', vault, '--scrypt-log-n', '10', '--json'], asOwner).code).toBe(0)
    expect(verity(['vault', 'add', vault, '--text', 'before the grant', '--json'], asOwner).code).toBe(0)

    // before the grant the friend's keystore does not open the vault
    const early = verity(['vault', 'access', vault, '--keystore', keystore, '--json'], asFriend)
    expect(early.code).toBe(1)
    expect(errorOf(early.stderr).code).toBe('VERITY_WRONG_KEY')

    const granted = verity(
      ['vault', 'grant', vault, '--to', friend.address, '--public-key', friend.signingKey.publicKey, '--json'],
      asOwner,
    )
    expect(granted.code, granted.stderr).toBe(0)
    expect(JSON.parse(granted.stdout)).toMatchObject({ kind: 'owner', recipient: friend.address })
    expect(verity(['vault', 'add', vault, '--text', 'shared with the friend', '--json'], asOwner).code).toBe(0)

    // the grantee's keystore opens it: through the CLI, and through the API (reading the memories)
    const opened = verity(['vault', 'access', vault, '--keystore', keystore, '--json'], asFriend)
    expect(opened.code, opened.stderr).toBe(0)
    expect(JSON.parse(opened.stdout)).toMatchObject({ openedWith: [friend.address], memories: 2 })
    const listed = verity(['vault', 'grants', vault, '--keystore', keystore, '--json'], asFriend)
    expect(listed.code, listed.stderr).toBe(0)
    expect(
      (JSON.parse(listed.stdout) as { grants: { kind: string; recipient: string }[] }).grants
        .map((grant) => `${grant.kind}:${grant.recipient}`)
        .sort(),
    ).toEqual([`owner:${friend.address}`, 'passphrase:passphrase'].sort())
    const asGrantee = await openVault({
      path: vault,
      guards: [ownerGuard({ keystore: readFileSync(keystore, 'utf8'), password: KEYSTORE_PASSWORD })],
      readOnly: true,
    })
    expect(
      asGrantee
        .list()
        .records.map((record) => record.text)
        .sort(),
    ).toEqual(['before the grant', 'shared with the friend'])
    await asGrantee.close()

    // unknown recipient: typed error, nothing changes
    const unknown = verity(['vault', 'revoke', vault, '--recipient', Wallet.createRandom().address, '--json'], asOwner)
    expect(unknown.code).toBe(1)
    expect(errorOf(unknown.stderr).code).toBe('VERITY_NOT_FOUND')

    const revoked = verity(['vault', 'revoke', vault, '--recipient', friend.address, '--json'], asOwner)
    expect(revoked.code, revoked.stderr).toBe(0)
    const revocation = JSON.parse(revoked.stdout) as { revoked: string; keyId: string; kept: { recipient: string }[] }
    expect(revocation.revoked).toBe(friend.address)
    expect(revocation.kept.map((grant) => grant.recipient)).toEqual(['passphrase'])
    expect(verity(['vault', 'add', vault, '--text', 'after the revocation', '--json'], asOwner).code).toBe(0)

    // the revoked wallet is refused with WrongKeyError on stderr and exit code 1 (also without --json)
    const refused = verity(['vault', 'access', vault, '--keystore', keystore, '--json'], asFriend)
    expect(refused.code).toBe(1)
    expect(refused.stdout).toBe('')
    expect(errorOf(refused.stderr)).toMatchObject({ name: 'WrongKeyError', code: 'VERITY_WRONG_KEY' })

    // the owner still reads everything
    const owner = verity(['vault', 'list', vault, '--json'], asOwner)
    expect(owner.code, owner.stderr).toBe(0)
    expect((JSON.parse(owner.stdout) as { records: { text: string }[] }).records.map((record) => record.text).sort()).toEqual([
      'after the revocation',
      'before the grant',
      'shared with the friend',
    ])
  }, 180_000)

  it('refuses bad grant input with typed errors and a non-zero exit', () => {
    const vault = join(folder, 'bad-input')
    expect(verity(['vault', 'create', vault, '--scrypt-log-n', '10', '--json'], asOwner).code).toBe(0)
    const notJson = join(folder, 'not-json.json')
    writeFileSync(notJson, '{ "accessControlConditions": [ ')
    const malformed = join(folder, 'malformed.json')
    writeFileSync(malformed, JSON.stringify({ accessControlConditions: [{ chain: 'ethereum', method: 'balanceOf' }] }))
    const lit = ['--lit-nodes', 'http://127.0.0.1:9']
    for (const file of [notJson, malformed]) {
      const result = verity(['vault', 'grant', vault, '--conditions', file, ...lit, '--json'], asOwner)
      expect(result.code, result.stderr).toBe(1)
      expect(errorOf(result.stderr).code).toBe('VERITY_INVALID_INPUT')
    }
    const wrongKey = verity(
      [
        'vault',
        'grant',
        vault,
        '--to',
        Wallet.createRandom().address,
        '--public-key',
        Wallet.createRandom().signingKey.publicKey,
        '--json',
      ],
      asOwner,
    )
    expect(wrongKey.code).toBe(1)
    expect(errorOf(wrongKey.stderr).code).toBe('VERITY_INVALID_INPUT')
    const nothing = verity(['vault', 'grant', vault, '--json'], asOwner)
    expect(nothing.code).toBe(1)
    expect(errorOf(nothing.stderr).code).toBe('VERITY_INVALID_INPUT')
    // grants are unchanged by all of the above
    expect(JSON.parse(verity(['vault', 'grants', vault, '--json'], asOwner).stdout).grants).toHaveLength(1)
  }, 120_000)
})

describe('verity lit-local deal / start', () => {
  it('deals a network, starts its nodes as processes that serve, and shuts them down on SIGTERM', async () => {
    const directory = join(folder, 'lit-local')
    const dealt = verity(['lit-local', 'deal', '--dir', directory, '--nodes', '3', '--threshold', '2', '--json'])
    expect(dealt.code, dealt.stderr).toBe(0)
    const { networkPublicKey } = JSON.parse(dealt.stdout) as { networkPublicKey: string }
    expect(networkPublicKey).toMatch(/^[0-9a-f]{96}$/)
    const again = verity(['lit-local', 'deal', '--dir', directory, '--json'])
    expect(again.code).toBe(1) // no silent re-deal over an existing network

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, 'lit-local', 'start', '--dir', directory, '--chain', 'ethereum=http://127.0.0.1:9@1', '--json'],
      { env: { ...process.env, HOME: folder }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      const lines = createInterface({ input: child.stdout })
      let output = ''
      const urls = await new Promise<string[]>((resolve, reject) => {
        lines.on('line', (line) => {
          output += line
          try {
            resolve((JSON.parse(output) as { urls: string[] }).urls)
          } catch {
            // the JSON document spans several lines
          }
        })
        exited.then((code) => reject(new Error(`lit-local start exited early (${code}): ${stderr}`)))
      })
      expect(urls).toHaveLength(3)
      expect(JSON.parse(readFileSync(join(directory, 'nodes.json'), 'utf8')).urls).toEqual(urls)
      const infos = await Promise.all(urls.map(async (url) => (await fetch(`${url}/web/info`)).json()))
      expect(infos.map((info) => (info as { index: number }).index).sort()).toEqual([1, 2, 3])
      for (const info of infos)
        expect(info).toMatchObject({ protocol: 'verity-lit-local/1', networkPublicKey, threshold: 2, chains: ['ethereum'] })
      // no key material on the wire or in the logs
      for (const info of infos) expect(JSON.stringify(info)).not.toMatch(/secret/i)

      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      for (const url of urls) await expect(fetch(`${url}/web/info`)).rejects.toThrow()
      expect(stderr).not.toMatch(/"secret"/)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  }, 120_000)

  it('refuses bad lit-local input with typed errors', () => {
    const bad = verity(['lit-local', 'deal', '--dir', join(folder, 'bad'), '--nodes', '3', '--threshold', '5', '--json'])
    expect(bad.code).toBe(1)
    expect(errorOf(bad.stderr).code).toBe('VERITY_INVALID_INPUT')
    const chain = verity(['lit-local', 'start', '--dir', join(folder, 'lit-local'), '--chain', 'not a chain', '--json'])
    expect(chain.code).toBe(1)
    expect(errorOf(chain.stderr).code).toBe('VERITY_INVALID_INPUT')
  })
})
