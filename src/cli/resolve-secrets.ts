import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Guard } from '../access/guard.js'
import { toHex } from '../crypto/bytes.js'
import { randomBytes } from '../crypto/random.js'
import { InvalidInputError, StorageError } from '../errors.js'
import { writeFileAtomic } from '../storage/atomic-file.js'

/**
 * Where every `verity` command gets its passphrases and vault guards: one order, one set of errors.
 *
 * A passphrase is the first of:
 * 1. the command's own variables, in the order it names them (`VERITY_DAEMON_PASSPHRASE` for the daemon's
 *    identity, `VERITY_VAULT_PASSPHRASE` for `verity mcp --vault`), when set and not empty;
 * 2. `VERITY_PASSPHRASE`, when set and not empty;
 * 3. the command's fallback: `home` reads `<home>/passphrase` (24 random bytes, hex, generated with mode 0600
 *    on first use); `prompt` asks on the terminal without echo (twice with `confirm`), and only when stdin is a
 *    terminal; `none` has no fallback (`verity mcp` speaks MCP on stdin, so it cannot prompt).
 *
 * With none of them: an {@link InvalidInputError} `No passphrase available`, naming the variables read.
 *
 * Vault guards ({@link resolveVaultGuards}): `--keystore FILE` gives an owner guard whose keystore password is
 * `VERITY_KEYSTORE_PASSWORD` (set, even empty), else a terminal prompt; the passphrase above gives a
 * passphrase guard. With `--keystore` the passphrase is optional (only the variables are read, no prompt);
 * without it the passphrase is required.
 */

/** The variable every command reads for the passphrase, after its own ones. */
export const PASSPHRASE_VARIABLE = 'VERITY_PASSPHRASE'
/** The variable that holds the password of a `--keystore` file. */
export const KEYSTORE_PASSWORD_VARIABLE = 'VERITY_KEYSTORE_PASSWORD'
/** The file in a home folder that keeps its generated passphrase. */
export const HOME_PASSPHRASE_FILE = 'passphrase'

/** A terminal to prompt on (the process's own by default; a test passes a stream it types into). */
export type SecretTerminal = {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown }
  output: NodeJS.WritableStream
}

/** What a command does when no variable holds the passphrase. */
export type PassphraseFallback =
  | { from: 'home'; home: string }
  | { from: 'prompt'; question?: string | undefined; confirm?: boolean | undefined }
  | { from: 'none' }

export type ResolvePassphraseParameters = {
  fallback: PassphraseFallback
  /** The command's own variables, read before `VERITY_PASSPHRASE` (first set and not empty wins). */
  variables?: readonly string[] | undefined
  /** Default `process.env`. */
  environment?: NodeJS.ProcessEnv | undefined
  /** Default the process's stdin and stderr. */
  terminal?: SecretTerminal | undefined
  /** Added to the error's hint when nothing is found (e.g. the command's `--keystore` alternative). */
  alternative?: string | undefined
}

export type ResolvePassphraseReturnType = Promise<{
  passphrase: string
  /** Where it came from: a variable's name, `home` or `prompt`. */
  source: string
  /** With `home`: the passphrase file (also when it was just generated). */
  file: string | undefined
}>

/**
 * Resolves a passphrase in the one documented order (see the module comment).
 *
 * @example
 * ```ts
 * const { passphrase } = await resolvePassphrase({ fallback: { from: 'home', home: '.verity-demo' } })
 * const { passphrase: secret } = await resolvePassphrase({ fallback: { from: 'prompt', confirm: true } })
 * ```
 */
export async function resolvePassphrase(parameters: ResolvePassphraseParameters): ResolvePassphraseReturnType {
  const variables = passphraseVariables(parameters.variables)
  const found = fromVariables(variables, parameters.environment ?? process.env)
  if (found) return { passphrase: found.value, source: found.variable, file: undefined }
  const { fallback } = parameters
  if (fallback.from === 'home') return { ...homePassphraseFile(fallback.home), source: 'home' }
  const terminal = parameters.terminal ?? defaultTerminal()
  if (fallback.from === 'none' || !terminal.input.isTTY) throw noPassphrase(variables, fallback, parameters.alternative)
  const first = await promptSecret(terminal, fallback.question ?? 'Vault passphrase: ')
  if (!first) throw new InvalidInputError('Empty passphrase', { hint: 'Type a non-empty passphrase.' })
  if (fallback.confirm && first !== (await promptSecret(terminal, 'Repeat passphrase: ')))
    throw new InvalidInputError('The passphrases do not match', { hint: 'Run the command again.' })
  return { passphrase: first, source: 'prompt', file: undefined }
}

export type ResolveVaultGuardsParameters = {
  /** `--keystore FILE`: the owner's encrypted JSON keystore. */
  keystore?: string | undefined
  /** Without `--keystore`, prompt for the passphrase on a terminal (default true). */
  prompt?: boolean | undefined
  variables?: readonly string[] | undefined
  environment?: NodeJS.ProcessEnv | undefined
  terminal?: SecretTerminal | undefined
}

export type ResolveVaultGuardsReturnType = Promise<Guard[]>

/**
 * The guards a CLI caller opens a vault with: an owner guard from `--keystore`, a passphrase guard from the
 * resolved passphrase, or both. The guard modules load here, so `verity --help` does not pay for scrypt.
 *
 * @example
 * ```ts
 * const guards = await resolveVaultGuards({ keystore: options.keystore })
 * const vault = await openVault({ path, guards })
 * ```
 */
export async function resolveVaultGuards(parameters: ResolveVaultGuardsParameters = {}): ResolveVaultGuardsReturnType {
  const environment = parameters.environment ?? process.env
  const guards: Guard[] = []
  if (parameters.keystore !== undefined) {
    const keystore = readKeystore(parameters.keystore)
    const password = await keystorePassword(environment, parameters.terminal)
    const { ownerGuard } = await import('../access/owner-guard.js')
    guards.push(ownerGuard({ keystore, password }))
    // with a keystore, a passphrase guard is added only when a variable holds one: no prompt
    if (!fromVariables(passphraseVariables(parameters.variables), environment)) return guards
  }
  const { passphrase } = await resolvePassphrase({
    variables: parameters.variables,
    environment,
    terminal: parameters.terminal,
    fallback: guards.length > 0 || parameters.prompt === false ? { from: 'none' } : { from: 'prompt' },
    alternative: `pass --keystore FILE with ${KEYSTORE_PASSWORD_VARIABLE}`,
  })
  const { passphraseGuard } = await import('../access/passphrase-guard.js')
  guards.push(passphraseGuard({ passphrase }))
  return guards
}

/** `VERITY_KEYSTORE_PASSWORD` when set (even empty: a keystore may have no password), else a terminal prompt. */
async function keystorePassword(environment: NodeJS.ProcessEnv, terminal: SecretTerminal | undefined): Promise<string> {
  const value = environment[KEYSTORE_PASSWORD_VARIABLE]
  if (value !== undefined) return value
  const prompt = terminal ?? defaultTerminal()
  if (!prompt.input.isTTY)
    throw new InvalidInputError('No keystore password available', {
      details: `${KEYSTORE_PASSWORD_VARIABLE} is not set and stdin is not a terminal, so Verity cannot prompt`,
      hint: `Set ${KEYSTORE_PASSWORD_VARIABLE} (empty for a keystore without a password), or run in a terminal.`,
      docsPath: 'access.md',
    })
  return promptSecret(prompt, 'Keystore password: ')
}

function passphraseVariables(own: readonly string[] | undefined): string[] {
  return [...(own ?? []).filter((variable) => variable !== PASSPHRASE_VARIABLE), PASSPHRASE_VARIABLE]
}

function fromVariables(variables: readonly string[], environment: NodeJS.ProcessEnv) {
  for (const variable of variables) {
    const value = environment[variable]
    if (value) return { variable, value }
  }
  return undefined
}

function noPassphrase(variables: readonly string[], fallback: PassphraseFallback, alternative: string | undefined) {
  const set = variables.join(' or ')
  const cannotPrompt = fallback.from === 'prompt' ? ' and stdin is not a terminal, so Verity cannot prompt' : ''
  return new InvalidInputError('No passphrase available', {
    details: `${set} ${variables.length > 1 ? 'are' : 'is'} not set${cannotPrompt}`,
    hint: `Set ${set}${alternative ? `, ${alternative}` : ''}${fallback.from === 'prompt' ? ', or run the command in an interactive terminal' : ''}.`,
    docsPath: 'access.md',
  })
}

/** `<home>/passphrase`, generated (24 random bytes, hex) with mode 0600 on first use. */
function homePassphraseFile(home: string): { passphrase: string; file: string } {
  mkdirSync(home, { recursive: true, mode: 0o700 })
  const file = join(home, HOME_PASSPHRASE_FILE)
  let passphrase: string
  if (existsSync(file)) passphrase = readFileSync(file, 'utf8').trim()
  else {
    passphrase = toHex(randomBytes(24))
    writeFileAtomic({ path: file, data: `${passphrase}\n`, mode: 0o600 })
  }
  chmodSync(file, 0o600)
  return { passphrase, file }
}

function readKeystore(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (cause) {
    throw new StorageError(`Cannot read keystore ${path}`, { cause, hint: 'Pass the path of an encrypted JSON keystore.' })
  }
}

function defaultTerminal(): SecretTerminal {
  return { input: process.stdin, output: process.stderr }
}

/** Reads one line from a raw-mode terminal without echo (backspace edits, Ctrl-C cancels). */
function promptSecret(terminal: SecretTerminal, question: string): Promise<string> {
  const { input, output } = terminal
  output.write(question)
  input.setRawMode?.(true)
  input.resume()
  input.setEncoding('utf8')
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = () => {
      input.setRawMode?.(false)
      input.pause()
      input.off('data', onData)
    }
    const onData = (chunk: string | Buffer) => {
      for (const character of String(chunk)) {
        if (character === '\r' || character === '\n' || character === '\u0004') {
          finish()
          output.write('\n')
          resolve(value)
          return
        }
        if (character === '\u0003') {
          finish()
          reject(new InvalidInputError('Passphrase entry cancelled'))
          return
        }
        if (character === '\u007f') value = value.slice(0, -1)
        else value += character
      }
    }
    input.on('data', onData)
  })
}
