import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createDaemonApp } from './create-daemon-app.js'
import type { DaemonConfig } from './daemon-config.js'
import { createDaemonServices, type DaemonServices } from './daemon-services.js'

export type StartDaemonParameters = {
  config: DaemonConfig
  /** Request log and lifecycle lines (never tokens, keys or bodies). Default: none. */
  log?: ((line: string) => void) | undefined
}
export type StartDaemonReturnType = {
  /** `http://host:port` the daemon listens on (the real port when config.port was 0). */
  url: string
  port: number
  services: DaemonServices
  /** Graceful shutdown: stop accepting, let runs finish for `shutdownGraceMs`, then abort them, end traces, close vaults. */
  stop(): Promise<void>
}

/**
 * Starts the daemon on Node's HTTP server (hono's node adapter), bound to `config.host` (127.0.0.1 by default).
 *
 * @example
 * ```ts
 * const daemon = await startDaemon({ config: resolveDaemonConfig({ overrides: { home, identityPassphrase, port: 0 } }) })
 * console.log(daemon.url)
 * await daemon.stop()
 * ```
 */
export async function startDaemon(parameters: StartDaemonParameters): Promise<StartDaemonReturnType> {
  const { config, log } = parameters
  const services = await createDaemonServices({ config })
  if (services.interrupted.length > 0) log?.(`marked ${services.interrupted.length} interrupted run(s) from the previous process`)
  const app = createDaemonApp({ services, log })
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(started))
    started.once('error', reject)
  })
  const port = (server.address() as AddressInfo).port
  // With port 0 the OS picked one: the SIWE domain follows the real port.
  ;(services.config as { port: number }).port = port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  let stopping: Promise<void> | undefined
  return {
    url: `http://${host}:${port}`,
    port,
    services,
    stop() {
      stopping ??= (async () => {
        log?.('shutting down: draining runs')
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownGraceMs).unref())
        const drained = await Promise.race([services.agents.drain({ abort: false }).then(() => 'drained' as const), grace])
        await services.close({ abortRuns: drained === 'timeout' })
        // Open SSE streams and keep-alive sockets would hold the server open.
        ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
        await closed
        log?.('stopped')
      })()
      return stopping
    },
  }
}
