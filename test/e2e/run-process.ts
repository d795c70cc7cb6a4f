import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import type { Readable } from 'node:stream'

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..', '..')

export type ProcessRun = { code: number | null; stdout: string; stderr: string }

/**
 * Starts a TypeScript entry point of the repository in a child Node process (through tsx), from the
 * repository root, its stdout and stderr piped (for a process that keeps running: a server, a node).
 *
 * @example
 * ```ts
 * const child = spawnTypeScript('src/cli/main.ts', ['hub', 'serve', '--port', '0', '--json'])
 * ```
 */
export function spawnTypeScript(
  script: string,
  args: string[],
  environment: Record<string, string> = {},
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/**
 * Runs a TypeScript entry point of the repository in a child Node process (through tsx), from the
 * repository root, and collects its exit code and output.
 */
export function runTypeScript(script: string, args: string[], environment: Record<string, string> = {}): Promise<ProcessRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnTypeScript(script, args, environment)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
  })
}

/** Runs the `verity` CLI from source in a child process. */
export function runVerity(args: string[], environment: Record<string, string> = {}): Promise<ProcessRun> {
  return runTypeScript('src/cli/main.ts', args, environment)
}

/** Starts the `verity` CLI from source in a child process that keeps running ({@link spawnTypeScript}). */
export function spawnVerity(
  args: string[],
  environment: Record<string, string> = {},
): ChildProcessByStdio<null, Readable, Readable> {
  return spawnTypeScript('src/cli/main.ts', args, environment)
}

/**
 * Keeps the tail of what a child process writes to stderr, for the error that says why it failed.
 *
 * @example
 * ```ts
 * const stderr = stderrTail(child)
 * child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr()}`)))
 * ```
 */
export function stderrTail(child: { stderr: Readable }, limit = 4000): () => string {
  let tail = ''
  child.stderr.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-limit)
  })
  return () => tail
}
