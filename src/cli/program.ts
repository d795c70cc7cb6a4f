import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { ExitCode, reportError } from './output.js'

/** A command module: adds its commands to the program. */
export type CommandRegistration = (program: Command) => void

function packageVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url)
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    return '0.0.0'
  }
}

export type CreateProgramParameters = { registrations: CommandRegistration[] }

/**
 * Builds the `verity` commander program from command modules.
 *
 * @example
 * ```ts
 * const program = createProgram({ registrations: [registerVaultCommands] })
 * await runProgram(program, process.argv)
 * ```
 */
export function createProgram(parameters: CreateProgramParameters): Command {
  const program = new Command()
    .name('verity')
    .description('Agents whose memory belongs to their user and whose decisions anyone can check.')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  for (const register of parameters.registrations) register(program)
  return program
}

/**
 * Parses argv and runs the matching command; sets `process.exitCode` from the outcome.
 *
 * @example
 * ```ts
 * await runProgram(program, process.argv)
 * ```
 */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  const json = argv.includes('--json')
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help')
        return ExitCode.ok
      return ExitCode.usage
    }
    return reportError(error, { json })
  }
}
