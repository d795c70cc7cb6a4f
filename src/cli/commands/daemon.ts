import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { InvalidInputError } from '../../errors.js'
import { BUNDLED_MODELS_DIR } from '../home.js'
import { printResult } from '../output.js'
import { type ProverOptions, proverChoiceOf, withProverOptions } from '../prover-options.js'
import { resolvePassphrase } from '../resolve-secrets.js'

/**
 * `verity daemon start|token` and `verity mcp`: the agent runtime daemon (HTTP API, MCP over Streamable HTTP,
 * web trace explorer) and the MCP server over stdio. The daemon's modules load only when these commands run.
 */

type DaemonOptions = ProverOptions & {
  home?: string
  config?: string
  host?: string
  port?: string
  models?: string[]
  corsOrigin?: string[]
  json?: boolean
}

const DEFAULT_HOME = '.verity-daemon'

function portNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidInputError(`Bad port '${value}'`, { hint: 'Use 0-65535.' })
  return port
}

async function configFrom(options: DaemonOptions) {
  const { resolveDaemonConfig } = await import('../../daemon/index.js')
  const home = options.home ?? process.env.VERITY_DAEMON_HOME ?? DEFAULT_HOME
  const modelDirectories =
    options.models ??
    (process.env.VERITY_DAEMON_MODELS ? undefined : ['models', BUNDLED_MODELS_DIR].filter((dir) => existsSync(dir)))
  const prover = proverChoiceOf(options)
  return resolveDaemonConfig({
    file: options.config ?? process.env.VERITY_DAEMON_CONFIG,
    environment: process.env,
    overrides: {
      home,
      identityPassphrase: (await resolvePassphrase({ variables: ['VERITY_DAEMON_PASSPHRASE'], fallback: { from: 'home', home } }))
        .passphrase,
      host: options.host,
      port: portNumber(options.port),
      modelDirectories,
      corsOrigins: options.corsOrigin,
      prover: prover.kind,
      redis: prover.redis,
    },
  })
}

const ENVIRONMENT_HELP = `
Configuration (a JSON file via --config or VERITY_DAEMON_CONFIG; then environment; then flags):
  key                 env var                            default
  home                VERITY_DAEMON_HOME                 ${DEFAULT_HOME}
  host                VERITY_DAEMON_HOST                 127.0.0.1
  port                VERITY_DAEMON_PORT                 8787
  modelDirectories    VERITY_DAEMON_MODELS (comma list)  ./models + bundled models
  corsOrigins         VERITY_DAEMON_CORS_ORIGINS         none (CORS off)
  siweDomain          VERITY_DAEMON_SIWE_DOMAIN          host:port
  rateLimitPerSecond  VERITY_DAEMON_RATE_LIMIT           50 per token
  maxBodyBytes        VERITY_DAEMON_MAX_BODY_BYTES       1048576
  maxSessionSeconds   VERITY_DAEMON_MAX_SESSION_SECONDS  3600
  prover              VERITY_DAEMON_PROVER               queue with redis, else $VERITY_PROVER, else auto
                                                         (auto: native when the ezkl toolchain is installed, else wasm)
  redis               VERITY_DAEMON_REDIS                none (a prover fleet's Redis URL: proofs go to the fleet)
  proverWorkers       VERITY_DAEMON_PROVER_WORKERS       1
  shutdownGraceMs     (file only)                        10000
  chainRpc            VERITY_DAEMON_CHAIN_RPC            none (anchors shown unchecked)
  hubDirectory        VERITY_DAEMON_HUB                  the default hub folder when it exists
The daemon identity's keystore passphrase: VERITY_DAEMON_PASSPHRASE, else VERITY_PASSPHRASE, else <home>/passphrase (0600).
Docs: docs/daemon.md`

/**
 * Registers `verity daemon start` and `verity daemon token create|list|revoke`.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerDaemonCommands] })
 * ```
 */
export function registerDaemonCommands(program: Command): void {
  const daemon = program
    .command('daemon')
    .description('The agent runtime daemon: HTTP API, MCP over Streamable HTTP, web trace explorer')
    .addHelpText('after', ENVIRONMENT_HELP)

  const start = daemon
    .command('start')
    .description('Start the daemon (127.0.0.1 by default); stops gracefully on SIGINT/SIGTERM')
    .option('--home <dir>', `daemon state folder (default ${DEFAULT_HOME})`)
    .option('--config <file>', 'JSON config file')
    .option('--host <host>', 'interface to bind (default 127.0.0.1)')
    .option('--port <port>', 'port (default 8787; 0 picks one)')
    .option('--models <dir...>', 'model package folders')
    .option('--cors-origin <origin...>', 'allow these browser origins (CORS is off by default)')
  withProverOptions(start)
    .option('--json', 'print JSON lines')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action(async (options: DaemonOptions) => {
      const { startDaemon } = await import('../../daemon/index.js')
      const config = await configFrom(options)
      const log = (line: string) =>
        process.stderr.write(`${options.json ? JSON.stringify({ log: line }) : `[verity daemon] ${line}`}\n`)
      const running = await startDaemon({ config, log })
      printResult(
        options,
        { url: running.url, pid: process.pid, home: config.home, interrupted: running.services.interrupted },
        () =>
          [
            `verity daemon listening on ${running.url} (pid ${process.pid})`,
            `explorer: ${running.url}/explorer   OpenAPI: ${running.url}/openapi.json   MCP: ${running.url}/mcp`,
            `get a token: verity daemon token create --home ${config.home} --owner you --scope admin:vault,admin:agent`,
          ].join('\n'),
      )
      await new Promise<void>((resolve) => {
        // The listeners stay until the daemon has stopped: removing them inside the handler would leave the
        // vault's signal hook (src/memory/lancedb-tmpfs.ts) as the only listener, which then re-raises the
        // signal and kills the process mid-drain. A second signal finds the same stop() under way.
        const stop = () => {
          void running.stop().then(() => {
            process.off('SIGINT', stop)
            process.off('SIGTERM', stop)
            resolve()
          })
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
    })

  const token = daemon.command('token').description('API tokens (stored hashed; the token is shown once)')
  token
    .command('create')
    .description('Create an API token for an owner with scopes read|write|admin × vault|agent')
    .requiredOption('--owner <name>', 'whose vaults, agents and runs the token reaches')
    .requiredOption('--scope <scopes>', 'comma separated, e.g. read:vault,write:agent')
    .option('--label <text>', 'a note for humans')
    .option('--home <dir>', `daemon state folder (default ${DEFAULT_HOME})`)
    .option('--json', 'print JSON')
    .action(async (options: { owner: string; scope: string; label?: string; home?: string; json?: boolean }) => {
      const { openTokenStore, parseScopes } = await import('../../daemon/index.js')
      const { join } = await import('node:path')
      const { mkdirSync } = await import('node:fs')
      const home = options.home ?? process.env.VERITY_DAEMON_HOME ?? DEFAULT_HOME
      mkdirSync(home, { recursive: true, mode: 0o700 })
      const created = openTokenStore({ path: join(home, 'tokens.json') }).create({
        owner: options.owner,
        scopes: parseScopes(options.scope),
        label: options.label,
      })
      printResult(options, created, () =>
        [
          `token ${created.id} for ${created.owner} (${created.scopes.join(', ')}); shown once, store it now:`,
          created.token,
        ].join('\n'),
      )
    })
  token
    .command('list')
    .description('List tokens (ids, owners, scopes; never secrets)')
    .option('--home <dir>', `daemon state folder (default ${DEFAULT_HOME})`)
    .option('--json', 'print JSON')
    .action(async (options: { home?: string; json?: boolean }) => {
      const { openTokenStore } = await import('../../daemon/index.js')
      const { join } = await import('node:path')
      const tokens = openTokenStore({
        path: join(options.home ?? process.env.VERITY_DAEMON_HOME ?? DEFAULT_HOME, 'tokens.json'),
      }).list()
      printResult(options, { tokens }, () =>
        tokens.map((item) => `${item.id}  ${item.owner}  ${item.scopes.join(',')}${item.revoked ? '  revoked' : ''}`).join('\n'),
      )
    })
  token
    .command('revoke')
    .argument('<id>', 'token id')
    .description('Revoke a token')
    .option('--home <dir>', `daemon state folder (default ${DEFAULT_HOME})`)
    .option('--json', 'print JSON')
    .action(async (id: string, options: { home?: string; json?: boolean }) => {
      const { openTokenStore } = await import('../../daemon/index.js')
      const { join } = await import('node:path')
      const revoked = openTokenStore({
        path: join(options.home ?? process.env.VERITY_DAEMON_HOME ?? DEFAULT_HOME, 'tokens.json'),
      }).revoke(id)
      if (!revoked) throw new InvalidInputError('No such token', { details: id })
      printResult(options, { revoked: id }, () => `revoked ${id}`)
    })
}

/**
 * Registers `verity mcp` (the MCP server over stdio).
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerMcpCommand] })
 * ```
 */
export function registerMcpCommand(program: Command): void {
  const mcp = program
    .command('mcp')
    .description('MCP server over stdio (for desktop MCP clients): memory, verifiable inference, trace verification')
    .option('--home <dir>', `daemon state folder (default ${DEFAULT_HOME})`)
    .option(
      '--vault <name>',
      'vault to open (created when missing); passphrase from VERITY_VAULT_PASSPHRASE or VERITY_PASSPHRASE',
    )
    .option('--owner <name>', 'owner the tools act for', 'local')
    .option('--models <dir...>', 'model package folders')
  withProverOptions(mcp)
    .addHelpText('after', ENVIRONMENT_HELP)
    .action(async (options: DaemonOptions & { vault?: string; owner: string }) => {
      const [{ createDaemonServices, createVerityMcpServer, DAEMON_VERSION }, { StdioServerTransport }] = await Promise.all([
        import('../../daemon/index.js'),
        import('@modelcontextprotocol/sdk/server/stdio.js'),
      ])
      const services = await createDaemonServices({ config: await configFrom(options) })
      if (options.vault) {
        // stdin carries MCP: no prompt
        const { passphrase } = await resolvePassphrase({ variables: ['VERITY_VAULT_PASSPHRASE'], fallback: { from: 'none' } })
        const exists = services.vaults.list(options.owner).some((vault) => vault.name === options.vault)
        const request = {
          owner: options.owner,
          name: options.vault,
          guard: { kind: 'passphrase' as const, passphrase },
          ttlSeconds: services.config.maxSessionSeconds,
        }
        await (exists ? services.vaults.open(request) : services.vaults.create(request))
      }
      const server = createVerityMcpServer({
        services,
        principal: { owner: options.owner, credentialId: 'stdio', kind: 'token', scopes: ['admin:vault', 'admin:agent'] },
        version: DAEMON_VERSION,
      })
      const transport = new StdioServerTransport()
      await server.connect(transport)
      await new Promise<void>((resolve) => {
        let done = false
        const stop = () => {
          if (done) return
          done = true
          void server
            .close()
            .catch(() => undefined)
            .then(() => services.close())
            .then(resolve)
        }
        transport.onclose = stop
        process.stdin.on('end', stop)
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
    })
}
