import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { spawnVerity, stderrTail } from '../e2e/run-process.js'

export type ProverNodeProcess = {
  child: ChildProcess
  /** Every JSON line the node printed (`--json`), in order. */
  lines: Array<Record<string, unknown>>
  /** The node's address, once it printed `node-started`; rejects if it exits first. */
  started: Promise<string>
  /** The tail of its stderr. */
  stderr(): string
}

/**
 * A real `verity prover start --json` process (the CLI through tsx) on `redis`, with the native backend.
 * `onLine` sees each JSON line as it comes; `args` are appended (e.g. `--lock-ms 4000`).
 */
export function spawnProverNode(parameters: {
  redis: string
  models: string
  home: string
  passphrase: string
  args?: string[] | undefined
  onLine?: ((event: Record<string, unknown>) => void) | undefined
}): ProverNodeProcess {
  const child = spawnVerity(
    [
      'prover',
      'start',
      '--redis',
      parameters.redis,
      '--models',
      parameters.models,
      '--home',
      parameters.home,
      '--prover',
      'native',
      '--json',
      ...(parameters.args ?? []),
    ],
    { VERITY_PASSPHRASE: parameters.passphrase },
  )
  const stderr = stderrTail(child)
  const lines: Array<Record<string, unknown>> = []
  const started = new Promise<string>((resolveStarted, reject) => {
    child.once('exit', (code) => reject(new Error(`prover node exited ${code}: ${stderr()}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: Record<string, unknown>
      try {
        event = JSON.parse(line) as Record<string, unknown>
      } catch {
        return // not a JSON line
      }
      lines.push(event)
      if (event.type === 'node-started') resolveStarted(String(event.node))
      parameters.onLine?.(event)
    })
  })
  started.catch(() => {})
  return { child, lines, started, stderr }
}
