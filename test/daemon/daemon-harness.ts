import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { expect } from 'vitest'
import { type DaemonConfigInput, resolveDaemonConfig, type StartDaemonReturnType, startDaemon } from '../../src/daemon/index.js'

/** The bundled models folder (transaction-risk). */
export const MODELS_DIR = resolve(import.meta.dirname, '..', '..', 'models')

/** A demo task the offline planner turns into a transaction-risk tool call. */
export const RISK_TASK =
  'Assess the transaction risk of this card payment for Alice, then decide: amount_k=0.95 hour=3 merchant_risk=0.8 velocity_1h=6 foreign=1 new_device=1'

/** What both daemon harnesses take: {@link startTestDaemon} (in process) and `spawnDaemon` (a child process). */
export type DaemonHarnessOptions = {
  /**
   * Prove with the in-process wasm engine, whose proof takes seconds, instead of the default backend (native
   * when the pinned toolchain is installed: ~0.45 s a proof). For the tests that must act while a run is still
   * waiting for its proof: the explorer's live pending -> verified flip, SIGTERM's drain, kill -9's interrupted
   * run. With a fast prover the proof can land before the test acts, and the test then no longer exercises what
   * it names (it failed now and then: the flip never seen, the killed run already completed).
   */
  slowProver?: boolean | undefined
}

/** The prover a {@link DaemonHarnessOptions.slowProver} daemon proves with. */
export const SLOW_PROVER = 'wasm'

/** Calls to a daemon's HTTP API (the bearer token, a JSON body: POST unless `method` says otherwise). */
export type DaemonClient = {
  call(path: string, init?: { method?: string; token?: string | undefined; body?: unknown; raw?: string }): Promise<Response>
  /** {@link DaemonClient.call}, expecting 200 (the path names the failure), and its JSON body. */
  callOk(path: string, init?: { method?: string; token?: string | undefined; body?: unknown }): Promise<Record<string, unknown>>
}

/**
 * A client of the daemon at `url`.
 *
 * @example
 * ```ts
 * const { runId } = await daemonClient(url).callOk('/v1/agents/desk/runs', { token, body: { task: RISK_TASK } })
 * ```
 */
export function daemonClient(url: string): DaemonClient {
  const call: DaemonClient['call'] = (path, init = {}) => {
    const headers: Record<string, string> = {}
    if (init.token) headers.authorization = `Bearer ${init.token}`
    if (init.body !== undefined || init.raw !== undefined) headers['content-type'] = 'application/json'
    return fetch(`${url}${path}`, {
      method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    })
  }
  return {
    call,
    async callOk(path, init) {
      const response = await call(path, init)
      expect(response.status, path).toBe(200)
      return (await response.json()) as Record<string, unknown>
    },
  }
}

export type TestDaemon = StartDaemonReturnType &
  DaemonClient & {
    home: string
    token(owner: string, scopes: string[]): string
    dispose(): Promise<void>
  }

/**
 * Starts a real daemon on a loopback port the OS picks, with its home in a temp folder.
 */
export async function startTestDaemon(options: Partial<DaemonConfigInput> & DaemonHarnessOptions = {}): Promise<TestDaemon> {
  const { slowProver, ...overrides } = options
  const home = overrides.home ?? mkdtempSync(join(tmpdir(), 'verity-daemon-'))
  const config = resolveDaemonConfig({
    overrides: {
      home,
      identityPassphrase: 'test-daemon-passphrase',
      port: 0,
      modelDirectories: [MODELS_DIR],
      ...overrides,
      ...(slowProver ? { prover: SLOW_PROVER } : {}),
    },
  })
  const daemon = await startDaemon({ config })
  return {
    ...daemon,
    ...daemonClient(daemon.url),
    home,
    token: (owner, scopes) => daemon.services.tokens.create({ owner, scopes: scopes as never }).token,
    async dispose() {
      await daemon.stop()
      if (!overrides.home) rmSync(home, { recursive: true, force: true })
    },
  }
}
