import type { Command } from 'commander'
import { InvalidInputError } from '../errors.js'

/**
 * Which prover backend a command proves with, in one place for `verity infer`, `verity agent run` and
 * `verity daemon start`: the `--prover`/`--redis` options ({@link withProverOptions}) and the
 * `createProver` parameters they resolve to ({@link proverChoiceOf}).
 */

/** The options {@link withProverOptions} adds. */
export type ProverOptions = { prover?: string | undefined; redis?: string | undefined }

/** What {@link proverChoiceOf} returns: `createProver`'s `kind` and `redis`. */
export type ProverChoice = { kind?: 'auto' | 'native' | 'wasm' | 'queue' | undefined; redis?: string | undefined }

const KINDS = ['auto', 'native', 'wasm', 'queue'] as const

/**
 * Adds `--prover KIND` and `--redis URL` to a command.
 *
 * @example
 * ```ts
 * withProverOptions(program.command('infer').argument('<dir>')).action(infer)
 * ```
 */
export function withProverOptions(command: Command): Command {
  return command
    .option(
      '--prover <kind>',
      'prover backend: auto (native if installed, else wasm), native, wasm, queue (default $VERITY_PROVER or auto)',
    )
    .option('--redis <url>', 'enqueue proofs on a prover fleet (`verity prover start --redis URL`; implies --prover queue)')
}

/**
 * The backend the options name: `--redis` means `queue`; an unknown kind, or `--redis` with another kind, is a typed error.
 * Unset options stay unset (`createProver` then reads `$VERITY_PROVER` and `$VERITY_REDIS_URL`).
 *
 * @example
 * ```ts
 * const prover = await createProver({ ...proverChoiceOf(options), workers: 1 })
 * ```
 */
export function proverChoiceOf(options: ProverOptions): ProverChoice {
  const kind = options.prover
  if (kind !== undefined && !(KINDS as readonly string[]).includes(kind))
    throw new InvalidInputError('Unknown prover backend', { details: kind, hint: 'Use --prover auto, native, wasm or queue.' })
  if (options.redis !== undefined && kind !== undefined && kind !== 'queue')
    throw new InvalidInputError('--redis is only used by the queue prover', {
      details: `--prover ${kind}`,
      hint: 'Drop --redis, or use --prover queue.',
    })
  return {
    kind: (kind as ProverChoice['kind']) ?? (options.redis !== undefined ? 'queue' : undefined),
    redis: options.redis,
  }
}
