import { z } from 'zod'
import { InvalidInputError, ToolchainError } from '../errors.js'
import { parseInput } from '../validation.js'
import type { ProverBackend, ProverBackendOptions, ProverKind } from './prover-backend.js'

export type CreateProverParameters = ProverBackendOptions & {
  /** `auto` (default, or `$VERITY_PROVER`): `native` when the pinned toolchain is installed, else `wasm`. */
  kind?: ProverKind | 'auto' | undefined
  /** Redis URL for `queue` (default `$VERITY_REDIS_URL`). */
  redis?: string | undefined
  /** Worker threads of the `wasm` backend. */
  workers?: number | undefined
}

const schema = z.object({
  kind: z.enum(['auto', 'wasm', 'native', 'queue']).optional(),
  redis: z.string().optional(),
  workers: z.number().int().min(1).max(64).optional(),
  signer: z
    .custom<NonNullable<ProverBackendOptions['signer']>>((value) => typeof value === 'object' && value !== null)
    .optional(),
})

/**
 * Creates the prover backend to use: `kind`, else `$VERITY_PROVER`, else `auto` (`native` when the
 * pinned `ezkl` toolchain answers, else `wasm`). `queue` needs a Redis URL.
 *
 * @example
 * ```ts
 * const prover = await createProver({ kind: process.env.CI ? 'wasm' : 'auto' })
 * prover.kind // 'native' on a machine with .venv
 * ```
 */
export async function createProver(parameters: CreateProverParameters = {}): Promise<ProverBackend> {
  const options = parseInput(schema, parameters, { what: 'createProver parameters' })
  const requested = options.kind ?? process.env.VERITY_PROVER ?? 'auto'
  if (!['auto', 'wasm', 'native', 'queue'].includes(requested))
    throw new InvalidInputError('Unknown prover backend', {
      details: requested,
      hint: 'Use --prover (or VERITY_PROVER) auto, native, wasm or queue.',
    })
  if (requested === 'queue') {
    const redis = options.redis ?? process.env.VERITY_REDIS_URL
    if (!redis) throw new InvalidInputError('The queue prover needs a Redis URL', { hint: 'Pass --redis redis://HOST:PORT.' })
    const { createQueueProver } = await import('./queue-backend.js')
    return createQueueProver({ redis })
  }
  if (requested === 'native' || requested === 'auto') {
    const { createNativeProver } = await import('./native-backend.js')
    try {
      return await createNativeProver({ signer: options.signer })
    } catch (error) {
      if (requested === 'native' || !(error instanceof ToolchainError)) throw error
    }
  }
  const { createWasmProver } = await import('./wasm-backend.js')
  return createWasmProver({ workers: options.workers, signer: options.signer })
}
