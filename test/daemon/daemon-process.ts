import type { ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { spawnVerity, stderrTail } from '../e2e/run-process.js'
import { type DaemonClient, type DaemonHarnessOptions, daemonClient, MODELS_DIR, SLOW_PROVER } from './daemon-harness.js'

/** A running `verity daemon start` child process. */
export type DaemonProcess = DaemonClient & {
  child: ChildProcessByStdio<null, Readable, Readable>
  /** The URL it printed. */
  url: string
  /** The tail of its stderr. */
  stderr(): string
}

export type SpawnDaemonParameters = DaemonHarnessOptions & {
  /** Its state folder (`--home`). */
  home: string
  /** Its identity passphrase (`VERITY_DAEMON_PASSPHRASE`). */
  passphrase: string
  /** More flags, e.g. `['--redis', url]` or `['--config', file]` (flags win over the config file). */
  args?: string[] | undefined
  /** How long it may take to print its URL before it is killed (default 120 s). */
  startTimeoutMs?: number | undefined
}

/**
 * `verity daemon start --home HOME --port 0 --models MODELS_DIR ... --json` in a child process (the CLI
 * through tsx); resolves once it printed its URL, rejects (the child killed) if it exits or times out first.
 *
 * @example
 * ```ts
 * const daemon = await spawnDaemon({ home, passphrase: 'daemon passphrase', slowProver: true })
 * daemon.child.kill('SIGTERM')
 * ```
 */
export async function spawnDaemon(parameters: SpawnDaemonParameters): Promise<DaemonProcess> {
  const child = spawnVerity(
    [
      'daemon',
      'start',
      '--home',
      parameters.home,
      '--port',
      '0',
      '--models',
      MODELS_DIR,
      ...(parameters.slowProver ? ['--prover', SLOW_PROVER] : []),
      ...(parameters.args ?? []),
      '--json',
    ],
    { VERITY_DAEMON_PASSPHRASE: parameters.passphrase },
  )
  const stderr = stderrTail(child)
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the daemon printed no URL in time: ${stderr()}`))
    }, parameters.startTimeoutMs ?? 120_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`daemon exited early (${code}): ${stderr()}`))
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"url":\s*"([^"]+)"/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolveUrl(match[1] as string)
      }
    })
  })
  return { ...daemonClient(url), child, url, stderr }
}
