import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Debian's redis-server on a loopback port with AOF (fsync always) in `dir`; resolves when it accepts connections. */
export async function startRedis(parameters: { port: number; dir: string }): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(parameters.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      parameters.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  await new Promise<void>((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 15_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited ${code}: ${output}`))
    })
  })
  return child
}

/** A redis-server of a test: its loopback port, its URL, the process (the current one, after a restart). */
export type LoopbackRedis = {
  port: number
  /** `redis://127.0.0.1:PORT`. */
  url: string
  readonly child: ChildProcess
  /** Kills it with SIGKILL and starts it again on the same port and AOF folder (what was acknowledged must survive). */
  restart(): Promise<void>
  /** Kills it with SIGKILL. */
  stop(): Promise<void>
}

/**
 * {@link startRedis} on a free loopback port, its AOF in `dir` (created if missing).
 *
 * @example
 * ```ts
 * const redis = await startLoopbackRedis({ dir: join(work, 'redis') })
 * const prover = await createQueueProver({ redis: redis.url })
 * await redis.stop()
 * ```
 */
export async function startLoopbackRedis(parameters: { dir: string }): Promise<LoopbackRedis> {
  const port = await freePort()
  mkdirSync(parameters.dir, { recursive: true })
  let child = await startRedis({ port, dir: parameters.dir })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get child() {
      return child
    },
    async restart() {
      await killHard(child)
      child = await startRedis({ port, dir: parameters.dir })
    },
    stop: () => killHard(child),
  }
}

/** SIGKILLs a child and waits for it to be gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}
