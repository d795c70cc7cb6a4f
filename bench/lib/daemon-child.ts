/**
 * A daemon in its own process, for benchmarks that measure the daemon's memory apart from its clients.
 *
 * Started with `fork` (IPC channel) and `--expose-gc`: starts a daemon on loopback (a port the OS picks) in the
 * home given as argv[2], creates an admin token, opens one run that stays open (the owner's MCP session run) and
 * sends `{ url, token, runId }`. Then it answers `{ type: 'gc' }` with `{ type: 'gc-done', heapUsed, external }` after a full
 * collection, and `{ type: 'stop' }` by stopping the daemon and exiting.
 *
 * @example
 * ```ts
 * const child = fork('bench/lib/daemon-child.ts', [home], { execArgv: ['--expose-gc', '--import', 'tsx'] })
 * ```
 */
import { resolve } from 'node:path'
import { resolveDaemonConfig, startDaemon } from '../../src/daemon/index.js'

const home = process.argv[2]
if (!home || !process.send) throw new Error('usage: fork(daemon-child.ts, [home]) with an IPC channel')
const send = (message: unknown) => process.send?.(message)

const daemon = await startDaemon({
  config: resolveDaemonConfig({
    overrides: {
      home,
      identityPassphrase: 'bench daemon child passphrase',
      port: 0,
      rateLimitPerSecond: 1_000_000,
      modelDirectories: [resolve(import.meta.dirname, '..', '..', 'models')],
    },
  }),
})
const { services } = daemon
const token = services.tokens.create({ owner: 'bench', scopes: ['admin:vault', 'admin:agent'] }).token
await services.mcpTrace.record({ owner: 'bench', tool: 'bench', arguments: {} }, async () => ({ result: null }))
const runId = services.mcpTrace.runOf('bench')
process.on('message', (message: { type?: string }) => {
  if (message.type === 'gc') {
    ;(globalThis as { gc?: () => void }).gc?.()
    const { heapUsed, external } = process.memoryUsage()
    send({ type: 'gc-done', exposed: typeof (globalThis as { gc?: unknown }).gc === 'function', heapUsed, external })
  } else if (message.type === 'stop') {
    void daemon.stop().then(() => process.exit(0))
  }
})
send({ type: 'ready', url: daemon.url, token, runId })
