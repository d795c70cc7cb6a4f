import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import { InvalidInputError } from '../errors.js'
import { parseInput } from '../validation.js'

/** zod schema of the daemon configuration (config file, `VERITY_DAEMON_*` env vars and flags, in rising priority). */
export const daemonConfigSchema = z.object({
  /** Folder of the daemon's state: identity, tokens, vaults, agents, runs, receipts. */
  home: z.string().min(1),
  /** Passphrase of the daemon identity's keystore (the key that signs MCP and agent traces). */
  identityPassphrase: z.string().min(8),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8787),
  /** Model package folders (or folders of packages) for inference and agent tools. */
  modelDirectories: z.array(z.string().min(1)).default([]),
  /** Origins allowed by CORS; empty means CORS is off. */
  corsOrigins: z.array(z.string().url()).default([]),
  /** EIP-4361 domain wallets must sign for (default: host:port). */
  siweDomain: z.string().min(1).optional(),
  rateLimitPerSecond: z.number().positive().max(1_000_000).default(50),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(1024 * 1024),
  maxSessionSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600)
    .default(3600),
  /**
   * Prover backend (issue 12): `auto` (native when the pinned ezkl toolchain is installed, else wasm), `native`,
   * `wasm`, or `queue` (a prover fleet over Redis). Unset: `queue` with `redis`, else `$VERITY_PROVER`, else `auto`.
   */
  prover: z.enum(['auto', 'native', 'wasm', 'queue']).optional(),
  /** Redis URL of a prover fleet (`verity prover start --redis URL`): proofs are enqueued there. */
  redis: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// URL')
    .optional(),
  proverWorkers: z.number().int().min(1).max(64).default(1),
  /** How long a graceful shutdown waits for runs before aborting them. */
  shutdownGraceMs: z.number().int().min(0).max(600_000).default(10_000),
  /**
   * JSON-RPC URL of the EVM chain where run traces are anchored (TraceAnchor): anchor records beside a run's trace
   * are checked against it (transaction, anchored root, RFC 9162 consistency). Without it they are shown unchecked.
   */
  chainRpc: z
    .string()
    .regex(/^https?:\/\//, 'an http(s) JSON-RPC URL')
    .optional(),
  /** Serve the hub's trustless gateway (`GET /ipfs/{cid}`, the signed release index) from this hub folder. */
  hubDirectory: z.string().min(1).optional(),
})
export type DaemonConfig = z.output<typeof daemonConfigSchema>
export type DaemonConfigInput = z.input<typeof daemonConfigSchema>

/** Environment variables the daemon reads, with the config key each sets (shown in `verity daemon --help`). */
export const DAEMON_ENVIRONMENT: Record<string, keyof DaemonConfigInput> = {
  VERITY_DAEMON_HOME: 'home',
  VERITY_DAEMON_HOST: 'host',
  VERITY_DAEMON_PORT: 'port',
  VERITY_DAEMON_MODELS: 'modelDirectories',
  VERITY_DAEMON_CORS_ORIGINS: 'corsOrigins',
  VERITY_DAEMON_SIWE_DOMAIN: 'siweDomain',
  VERITY_DAEMON_RATE_LIMIT: 'rateLimitPerSecond',
  VERITY_DAEMON_MAX_BODY_BYTES: 'maxBodyBytes',
  VERITY_DAEMON_MAX_SESSION_SECONDS: 'maxSessionSeconds',
  VERITY_DAEMON_PROVER: 'prover',
  VERITY_DAEMON_REDIS: 'redis',
  VERITY_DAEMON_PROVER_WORKERS: 'proverWorkers',
  VERITY_DAEMON_CHAIN_RPC: 'chainRpc',
  VERITY_DAEMON_HUB: 'hubDirectory',
}

const listKeys = new Set<keyof DaemonConfigInput>(['modelDirectories', 'corsOrigins'])
const numberKeys = new Set<keyof DaemonConfigInput>([
  'port',
  'rateLimitPerSecond',
  'maxBodyBytes',
  'maxSessionSeconds',
  'proverWorkers',
])

export type ResolveDaemonConfigParameters = {
  /** A JSON config file (keys of `daemonConfigSchema`). */
  file?: string | undefined
  environment?: Record<string, string | undefined> | undefined
  /** Values from flags or code: they win over the file and the environment. */
  overrides?: Partial<DaemonConfigInput> | undefined
}
export type ResolveDaemonConfigReturnType = DaemonConfig

/**
 * Merges the config file, `VERITY_DAEMON_*` environment variables and explicit values, then validates.
 *
 * @example
 * ```ts
 * const config = resolveDaemonConfig({ file: 'daemon.json', environment: process.env, overrides: { port: 0 } })
 * ```
 */
export function resolveDaemonConfig(parameters: ResolveDaemonConfigParameters): ResolveDaemonConfigReturnType {
  let fromFile: Record<string, unknown> = {}
  if (parameters.file) {
    if (!existsSync(parameters.file)) throw new InvalidInputError('Daemon config file not found', { details: parameters.file })
    try {
      fromFile = JSON.parse(readFileSync(parameters.file, 'utf8')) as Record<string, unknown>
    } catch (cause) {
      throw new InvalidInputError('Daemon config file is not JSON', { details: parameters.file, cause })
    }
  }
  const fromEnvironment: Record<string, unknown> = {}
  for (const [name, key] of Object.entries(DAEMON_ENVIRONMENT)) {
    const value = parameters.environment?.[name]
    if (value === undefined || value === '') continue
    fromEnvironment[key] = listKeys.has(key)
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
      : numberKeys.has(key)
        ? Number(value)
        : value
  }
  const defined = Object.fromEntries(Object.entries(parameters.overrides ?? {}).filter(([, value]) => value !== undefined))
  const config = parseInput(
    daemonConfigSchema,
    { ...fromFile, ...fromEnvironment, ...defined },
    {
      what: 'daemon configuration',
      hint: 'See `verity daemon --help` for the keys, flags and VERITY_DAEMON_* variables.',
    },
  )
  if (config.redis && config.prover && config.prover !== 'queue')
    throw new InvalidInputError('A Redis URL is only used by the queue prover', {
      details: `prover ${config.prover}`,
      hint: 'Drop redis (VERITY_DAEMON_REDIS, --redis) or set prover to queue.',
    })
  return config
}
