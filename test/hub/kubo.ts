import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The kubo binary scripts/setup-kubo.sh builds (or $VERITY_KUBO), if it is there. */
export function kuboBinaryIfBuilt(): string | undefined {
  const cache = process.env.VERITY_CACHE ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'verity')
  const path = process.env.VERITY_KUBO ?? join(cache, 'kubo-v0.42.0', 'ipfs')
  return existsSync(path) ? path : undefined
}

/** The kubo binary scripts/setup-kubo.sh builds (or $VERITY_KUBO); throws if it is missing. */
export function kuboBinary(): string {
  const path = kuboBinaryIfBuilt()
  if (!path) throw new Error('kubo not found: run bash scripts/setup-kubo.sh (or set VERITY_KUBO)')
  return path
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export type Kubo = {
  repo: string
  gateway: string
  /** Runs `ipfs ARGS` against this repo (through the daemon once it runs); resolves stdout. */
  ipfs(args: string[], options?: { maxBuffer?: number }): Promise<string>
  /** Same, stdout as bytes (e.g. `dag export`). */
  ipfsBytes(args: string[]): Promise<Buffer>
  stop(): Promise<void>
}

/**
 * A kubo node of its own: a temp IPFS_PATH (`ipfs init --profile test`: loopback only, no bootstrap
 * peers, no mDNS), API and gateway on loopback ports picked here, the daemon `--offline` so it never
 * dials out.
 */
export async function startKubo(): Promise<Kubo> {
  const binary = kuboBinary()
  const repo = mkdtempSync(join(tmpdir(), 'verity-kubo-'))
  const env = { ...process.env, IPFS_PATH: repo, IPFS_TELEMETRY: 'off' }
  const ipfs = async (args: string[], options: { maxBuffer?: number } = {}) =>
    (await run(binary, args, { env, maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024 })).stdout
  await ipfs(['init', '--profile', 'test', '--empty-repo'])
  const [apiPort, gatewayPort] = [await freePort(), await freePort()]
  await ipfs(['config', 'Addresses.API', `/ip4/127.0.0.1/tcp/${apiPort}`])
  await ipfs(['config', 'Addresses.Gateway', `/ip4/127.0.0.1/tcp/${gatewayPort}`])
  await ipfs(['config', '--json', 'Addresses.Swarm', '["/ip4/127.0.0.1/tcp/0"]'])
  await ipfs(['config', '--json', 'Bootstrap', '[]'])
  await ipfs(['config', '--json', 'Discovery.MDNS.Enabled', 'false'])
  const daemon: ChildProcess = spawn(binary, ['daemon', '--offline'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubo daemon did not start:\n${output}`)), 60_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Daemon is ready')) {
        clearTimeout(timer)
        resolve()
      }
    }
    daemon.stdout?.on('data', onData)
    daemon.stderr?.on('data', onData)
    daemon.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`kubo daemon exited (${code}):\n${output}`))
    })
  })
  return {
    repo,
    gateway: `http://127.0.0.1:${gatewayPort}`,
    ipfs,
    async ipfsBytes(args) {
      return (await run(binary, args, { env, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 })).stdout
    },
    async stop() {
      if (daemon.exitCode === null) {
        const exited = new Promise((resolve) => daemon.once('exit', resolve))
        daemon.kill('SIGTERM')
        await exited
      }
      rmSync(repo, { recursive: true, force: true })
    },
  }
}
