import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { NotFoundError } from '../errors.js'
import { defaultHubDir, type Hub, hubModelResolver, openHub } from '../hub/index.js'
import { AGENT_KEYSTORE_FILE } from '../identity/agent-identity.js'
import { type AgentIdentity, createAgentIdentity, loadAgentIdentity } from '../identity/index.js'
import type { ModelPackageResolver } from '../proofs/model-reference.js'
import { type AgentHost, createAgentHost } from './agent-host.js'
import { type AnchorChecks, createAnchorChecks } from './anchor-checks.js'
import type { DaemonConfig } from './daemon-config.js'
import { createInferenceService, type InferenceService } from './inference-service.js'
import { createMcpTraceLog, type McpTraceLog } from './mcp-trace-log.js'
import { createRateLimiter, type RateLimiter } from './rate-limiter.js'
import { openRunStore, type RunStore } from './run-store.js'
import { createSiweAuthenticator, type SiweAuthenticator } from './siwe-auth.js'
import { openTokenStore, type TokenStore } from './token-store.js'
import { createVaultSessions, type VaultSessions } from './vault-sessions.js'

/**
 * The EIP-4361 domain wallets sign for: the configured one, else the host:port the daemon listens on.
 *
 * @example
 * ```ts
 * siweDomainOf(config) // '127.0.0.1:8787'
 * ```
 */
export function siweDomainOf(config: DaemonConfig): string {
  return config.siweDomain ?? `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`
}

/** Everything the routes, the MCP server and the explorer use: one instance per daemon process. */
export type DaemonServices = {
  readonly config: DaemonConfig
  readonly identity: AgentIdentity
  readonly tokens: TokenStore
  readonly siwe: SiweAuthenticator
  readonly limiter: RateLimiter
  readonly vaults: VaultSessions
  readonly runs: RunStore
  readonly inference: InferenceService
  readonly agents: AgentHost
  readonly mcpTrace: McpTraceLog
  /** The hub the daemon serves (`hubDirectory`, else the default hub folder when it exists); NotFoundError without one. */
  hub(): Promise<Hub>
  /** Anchors recorded beside run traces, checked against `chainRpc`. */
  readonly anchors: AnchorChecks
  /** Runs left `running` by a previous process, now marked interrupted. */
  readonly interrupted: string[]
  /** Drains runs, ends traces and closes vaults and the prover. */
  close(parameters?: { abortRuns?: boolean | undefined }): Promise<void>
}
export type CreateDaemonServicesParameters = { config: DaemonConfig }
export type CreateDaemonServicesReturnType = DaemonServices

/**
 * Opens the daemon's state under its home: identity (encrypted keystore), tokens, runs (recovering interrupted ones),
 * vault sessions, inference and agents.
 *
 * @example
 * ```ts
 * const services = await createDaemonServices({ config: resolveDaemonConfig({ home: '.verity-daemon', identityPassphrase }) })
 * ```
 */
export async function createDaemonServices(parameters: CreateDaemonServicesParameters): Promise<CreateDaemonServicesReturnType> {
  const { config } = parameters
  const home = resolve(config.home)
  mkdirSync(home, { recursive: true, mode: 0o700 })
  const identityHome = join(home, 'identity')
  mkdirSync(identityHome, { recursive: true, mode: 0o700 })
  const identity = existsSync(join(identityHome, AGENT_KEYSTORE_FILE))
    ? await loadAgentIdentity({ home: identityHome, passphrase: config.identityPassphrase })
    : await createAgentIdentity({ home: identityHome, passphrase: config.identityPassphrase })
  const runs = openRunStore({ directory: join(home, 'runs'), signer: identity.signer })
  const interrupted = await runs.recoverInterrupted(identity.signer)
  const vaults = createVaultSessions({ directory: join(home, 'vaults'), maxTtlSeconds: config.maxSessionSeconds })
  const inference = createInferenceService({
    modelDirectories: config.modelDirectories,
    receiptsDirectory: join(home, 'receipts'),
    prover: config.prover,
    redis: config.redis,
    proverWorkers: config.proverWorkers,
    // local proofs are signed by the daemon identity; fleet nodes sign with their own keys
    signer: identity.signer,
  })
  const hubDirectory = config.hubDirectory ?? (existsSync(defaultHubDir()) ? defaultHubDir() : undefined)
  let hub: Promise<Hub> | undefined
  const servedHub = (): Promise<Hub> => {
    if (!hubDirectory)
      return Promise.reject(
        new NotFoundError('This daemon serves no hub', {
          hint: 'Start it with hubDirectory (VERITY_DAEMON_HUB) naming a hub folder (verity hub publish --hub DIR).',
        }),
      )
    hub ??= openHub({ dir: hubDirectory })
    return hub
  }
  // Agent definitions name hub models (`hub:NAME[@VERSION]` or a CID) through the daemon's hub, opened on first use.
  const modelResolver: ModelPackageResolver = {
    specificationVersion: 'v1',
    resolve: async (reference) => hubModelResolver({ hub: await servedHub() }).resolve(reference),
  }
  const agents = createAgentHost({ directory: join(home, 'agents'), identity, runs, vaults, inference, modelResolver })
  const mcpTrace = createMcpTraceLog({ runs, vaults })
  const anchors = createAnchorChecks({ rpc: config.chainRpc })
  // Watched: a request checks the token file only after it changed (or once a second), not with a stat each time.
  const tokens = openTokenStore({ path: join(home, 'tokens.json'), watch: true })
  let closing: Promise<void> | undefined
  return {
    config,
    identity,
    tokens,
    siwe: createSiweAuthenticator({
      domain: () => siweDomainOf(config),
      sessionTtlMs: config.maxSessionSeconds * 1000,
    }),
    limiter: createRateLimiter({ perSecond: config.rateLimitPerSecond }),
    vaults,
    runs,
    inference,
    agents,
    mcpTrace,
    hub: servedHub,
    anchors,
    interrupted,
    close({ abortRuns = true } = {}) {
      closing ??= (async () => {
        await agents.drain({ abort: abortRuns })
        await mcpTrace.endAll()
        await vaults.closeAll()
        await inference.close({ drain: false })
        anchors.close()
        tokens.close()
      })()
      return closing
    },
  }
}
