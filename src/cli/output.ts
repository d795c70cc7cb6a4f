import { isVerityError } from '../errors.js'

/**
 * How every command talks to the terminal: results to stdout (human text, or one JSON
 * document with `--json`), diagnostics and errors to stderr, exit codes that scripts can trust.
 */

/** Exit codes of the `verity` command. */
export const ExitCode = {
  ok: 0,
  /** A VerityError: bad input, failed verification, wrong key... */
  failure: 1,
  /** Commander usage errors (unknown option, missing argument). */
  usage: 2,
  /** A bug: an error that is not a VerityError. */
  internal: 70,
} as const

export type OutputOptions = { json?: boolean | undefined }

/**
 * Prints a command's result: `json` is printed as JSON with `--json`, otherwise `human()` is printed.
 *
 * @example
 * ```ts
 * printResult(options, { count }, () => `${count} memories`)
 * ```
 */
export function printResult(options: OutputOptions, json: unknown, human: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  else {
    const text = human()
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }
}

/**
 * Reports an error on stderr (as JSON with `--json`) and returns the exit code to use.
 *
 * @example
 * ```ts
 * process.exitCode = reportError(error, { json: true })
 * ```
 */
export function reportError(error: unknown, options: OutputOptions): number {
  if (isVerityError(error)) {
    if (options.json) process.stderr.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`)
    else {
      process.stderr.write(`error: ${error.shortMessage}\n`)
      if (error.details) process.stderr.write(`  details: ${error.details}\n`)
      if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`)
      if (error.docsPath) process.stderr.write(`  docs: docs/${error.docsPath}\n`)
    }
    return ExitCode.failure
  }
  const message = error instanceof Error ? error.message : String(error)
  if (options.json) process.stderr.write(`${JSON.stringify({ error: { name: 'InternalError', shortMessage: message } })}\n`)
  else {
    process.stderr.write(`internal error: ${message}\n`)
    if (process.env.VERITY_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`)
    else process.stderr.write('  hint: this is a bug in Verity; rerun with VERITY_DEBUG=1 and report the stack trace.\n')
  }
  return ExitCode.internal
}
