import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { encryptKeystoreJsonSync, Wallet } from 'ethers'
import { afterAll, describe, expect, it } from 'vitest'
import { ownerGuard } from '../../src/access/owner-guard.js'
import {
  HOME_PASSPHRASE_FILE,
  resolvePassphrase,
  resolveVaultGuards,
  type SecretTerminal,
} from '../../src/cli/resolve-secrets.js'
import { InvalidInputError, WrongKeyError } from '../../src/errors.js'
import { createHashingEmbedder } from '../../src/memory/embedders/index.js'
import { createVault, openVault } from '../../src/memory/vault.js'
import { testGuard } from '../memory/helpers.js'

const folder = mkdtempSync(join(tmpdir(), 'verity-secrets-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))
const vaultPath = join(folder, 'vault')

/** A terminal whose keystrokes the test types: `lines` are sent one at a time, each after the prompt asks. */
function typedTerminal(lines: string[], isTTY = true): SecretTerminal & { prompts: () => string } {
  const input = Object.assign(new PassThrough({ encoding: 'utf8' }), { isTTY, setRawMode: () => undefined })
  const output = new PassThrough({ encoding: 'utf8' })
  let written = ''
  output.on('data', (chunk: string) => {
    written += chunk
    if (chunk.endsWith(': ')) {
      const line = lines.shift()
      if (line !== undefined) setImmediate(() => input.write(line))
    }
  })
  return { input, output, prompts: () => written }
}

/** The InvalidInputError a promise rejects with. */
async function refusal(promise: Promise<unknown>): Promise<InvalidInputError> {
  const error: unknown = await promise.catch((caught: unknown) => caught)
  expect(error).toBeInstanceOf(InvalidInputError)
  return error as InvalidInputError
}

describe('resolvePassphrase: one order for every command', () => {
  it("reads the command's own variables, then VERITY_PASSPHRASE, skipping empty ones", async () => {
    const environment = { VERITY_DAEMON_PASSPHRASE: 'daemon', VERITY_PASSPHRASE: 'shared' }
    const home = { from: 'home', home: join(folder, 'unused') } as const
    expect(await resolvePassphrase({ variables: ['VERITY_DAEMON_PASSPHRASE'], environment, fallback: home })).toEqual({
      passphrase: 'daemon',
      source: 'VERITY_DAEMON_PASSPHRASE',
      file: undefined,
    })
    const empty = { VERITY_DAEMON_PASSPHRASE: '', VERITY_PASSPHRASE: 'shared' }
    const shared = await resolvePassphrase({ variables: ['VERITY_DAEMON_PASSPHRASE'], environment: empty, fallback: home })
    expect(shared).toMatchObject({ passphrase: 'shared', source: 'VERITY_PASSPHRASE' })
    // a variable wins over the home file and the prompt
    const terminal = typedTerminal(['typed\r'])
    expect((await resolvePassphrase({ environment: empty, terminal, fallback: { from: 'prompt' } })).passphrase).toBe('shared')
    expect(terminal.prompts()).toBe('')
  })

  it('home fallback: generates <home>/passphrase with mode 0600 once, then reads it back', async () => {
    const home = join(folder, 'home')
    const first = await resolvePassphrase({ environment: {}, fallback: { from: 'home', home } })
    expect(first.source).toBe('home')
    expect(first.file).toBe(join(home, HOME_PASSPHRASE_FILE))
    expect(first.passphrase).toMatch(/^[0-9a-f]{48}$/)
    expect(statSync(join(home, HOME_PASSPHRASE_FILE)).mode & 0o777).toBe(0o600)
    const second = await resolvePassphrase({ environment: {}, fallback: { from: 'home', home } })
    expect(second.passphrase).toBe(first.passphrase)
    expect(readFileSync(join(home, HOME_PASSPHRASE_FILE), 'utf8').trim()).toBe(first.passphrase)
  })

  it('prompt fallback: reads a line without echo, with backspace; confirm refuses a mismatch, an empty one is refused', async () => {
    const terminal = typedTerminal(['secrex\u007ft\r', 'secret\r'])
    const typed = await resolvePassphrase({ environment: {}, terminal, fallback: { from: 'prompt', confirm: true } })
    expect(typed).toEqual({ passphrase: 'secret', source: 'prompt', file: undefined })
    expect(terminal.prompts()).toBe('Vault passphrase: \nRepeat passphrase: \n')
    const mismatch = typedTerminal(['one\r', 'two\r'])
    const error = await refusal(
      resolvePassphrase({ environment: {}, terminal: mismatch, fallback: { from: 'prompt', confirm: true } }),
    )
    expect(error.shortMessage).toBe('The passphrases do not match')
    const empty = await refusal(
      resolvePassphrase({ environment: {}, terminal: typedTerminal(['\r']), fallback: { from: 'prompt' } }),
    )
    expect(empty.shortMessage).toBe('Empty passphrase')
    const cancelled = await refusal(
      resolvePassphrase({ environment: {}, terminal: typedTerminal(['ab\u0003']), fallback: { from: 'prompt' } }),
    )
    expect(cancelled.shortMessage).toBe('Passphrase entry cancelled')
  })

  it('no variable and stdin not a terminal: a typed error naming the variables, never a prompt', async () => {
    const terminal = typedTerminal(['never read\r'], false)
    const error = await refusal(
      resolvePassphrase({ variables: ['VERITY_VAULT_PASSPHRASE'], environment: {}, terminal, fallback: { from: 'prompt' } }),
    )
    expect(error.shortMessage).toBe('No passphrase available')
    expect(error.details).toContain('stdin is not a terminal')
    expect(error.hint).toContain('VERITY_VAULT_PASSPHRASE or VERITY_PASSPHRASE')
    expect(terminal.prompts()).toBe('')
    // `none` (verity mcp: stdin carries the protocol) never prompts, even on a terminal
    const none = await refusal(
      resolvePassphrase({ environment: {}, terminal: typedTerminal(['x\r']), fallback: { from: 'none' } }),
    )
    expect(none.shortMessage).toBe('No passphrase available')
    expect(none.hint).not.toContain('terminal')
  })
})

describe('resolveVaultGuards: --keystore and/or the passphrase', () => {
  const owner = Wallet.createRandom()
  const keystoreFile = join(folder, 'owner.json')
  writeFileSync(
    keystoreFile,
    encryptKeystoreJsonSync({ address: owner.address, privateKey: owner.privateKey }, 'keystore password', {
      scrypt: { N: 1 << 10 },
    }),
  )

  it('opens a vault with the owner guard from --keystore, the passphrase guard, or both', async () => {
    const embedder = createHashingEmbedder()
    const created = await createVault({
      path: vaultPath,
      guards: [testGuard('vault passphrase'), ownerGuard({ wallet: owner })],
      embedder,
    })
    await created.add({ text: 'kept for the resolver test' })
    await created.close()

    const noTerminal = typedTerminal([], false)
    const byKeystore = await resolveVaultGuards({
      keystore: keystoreFile,
      environment: { VERITY_KEYSTORE_PASSWORD: 'keystore password' },
      terminal: noTerminal,
    })
    expect(byKeystore.map((guard) => guard.kind)).toEqual(['owner'])
    const both = await resolveVaultGuards({
      keystore: keystoreFile,
      environment: { VERITY_KEYSTORE_PASSWORD: 'keystore password', VERITY_PASSPHRASE: 'vault passphrase' },
      terminal: noTerminal,
    })
    expect(both.map((guard) => guard.kind)).toEqual(['owner', 'passphrase'])
    const byPassphrase = await resolveVaultGuards({
      environment: { VERITY_PASSPHRASE: 'vault passphrase' },
      terminal: noTerminal,
    })
    expect(byPassphrase.map((guard) => guard.kind)).toEqual(['passphrase'])
    for (const guards of [byKeystore, both, byPassphrase]) {
      const vault = await openVault({ path: vaultPath, guards, embedder, readOnly: true })
      expect((await vault.list()).total).toBe(1)
      await vault.close()
    }
    const wrong = await resolveVaultGuards({ environment: { VERITY_PASSPHRASE: 'not it' }, terminal: noTerminal })
    await expect(openVault({ path: vaultPath, guards: wrong, embedder, readOnly: true })).rejects.toBeInstanceOf(WrongKeyError)
  }, 60_000)

  it('the keystore password comes from VERITY_KEYSTORE_PASSWORD or a prompt, else a typed error', async () => {
    const typed = typedTerminal(['keystore password\r'])
    const guards = await resolveVaultGuards({ keystore: keystoreFile, environment: {}, terminal: typed })
    expect(typed.prompts()).toBe('Keystore password: \n')
    const vault = await openVault({ path: vaultPath, guards, embedder: createHashingEmbedder(), readOnly: true })
    await vault.close()
    const error = await refusal(
      resolveVaultGuards({ keystore: keystoreFile, environment: {}, terminal: typedTerminal([], false) }),
    )
    expect(error.shortMessage).toBe('No keystore password available')
    expect(error.hint).toContain('VERITY_KEYSTORE_PASSWORD')
  }, 60_000)

  it('nothing given and no terminal: the error offers the variable and --keystore', async () => {
    const error = await refusal(resolveVaultGuards({ environment: {}, terminal: typedTerminal([], false) }))
    expect(error.shortMessage).toBe('No passphrase available')
    expect(error.hint).toContain('VERITY_PASSPHRASE')
    expect(error.hint).toContain('--keystore FILE')
  })
})

describe('the commands use it', () => {
  const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts')
  it('`vault access` and `vault list` without a key and without a terminal fail the same typed way', () => {
    const environment: NodeJS.ProcessEnv = { ...process.env }
    delete environment.VERITY_PASSPHRASE
    delete environment.VERITY_KEYSTORE_PASSWORD
    for (const command of ['access', 'list']) {
      const result = spawnSync(process.execPath, ['--import', 'tsx', main, 'vault', command, vaultPath, '--json'], {
        env: environment,
        encoding: 'utf8',
        input: '',
      })
      expect(result.status, result.stderr).toBe(1)
      const { error } = JSON.parse(result.stderr.slice(result.stderr.indexOf('{')))
      expect(error).toMatchObject({ code: 'VERITY_INVALID_INPUT', shortMessage: 'No passphrase available' })
    }
  }, 60_000)
})
