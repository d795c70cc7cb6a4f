import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type DaemonConfigInput, resolveDaemonConfig, type StartDaemonReturnType, startDaemon } from '../../src/daemon/index.js'

/** The bundled models folder (transaction-risk). */
export const MODELS_DIR = resolve(import.meta.dirname, '..', '..', 'models')

/** A demo task the offline planner turns into a transaction-risk tool call. */
export const RISK_TASK =
  'Assess the transaction risk of this card payment for Alice, then decide: amount_k=0.95 hour=3 merchant_risk=0.8 velocity_1h=6 foreign=1 new_device=1'

export type TestDaemon = StartDaemonReturnType & {
  home: string
  token(owner: string, scopes: string[]): string
  call(path: string, init?: { method?: string; token?: string | undefined; body?: unknown; raw?: string }): Promise<Response>
  dispose(): Promise<void>
}

/**
 * Starts a real daemon on a loopback port the OS picks, with its home in a temp folder.
 */
export async function startTestDaemon(overrides: Partial<DaemonConfigInput> = {}): Promise<TestDaemon> {
  const home = overrides.home ?? mkdtempSync(join(tmpdir(), 'verity-daemon-'))
  const config = resolveDaemonConfig({
    overrides: { home, identityPassphrase: 'test-daemon-passphrase', port: 0, modelDirectories: [MODELS_DIR], ...overrides },
  })
  const daemon = await startDaemon({ config })
  return {
    ...daemon,
    home,
    token: (owner, scopes) => daemon.services.tokens.create({ owner, scopes: scopes as never }).token,
    call(path, init = {}) {
      const headers: Record<string, string> = {}
      if (init.token) headers.authorization = `Bearer ${init.token}`
      if (init.body !== undefined || init.raw !== undefined) headers['content-type'] = 'application/json'
      return fetch(`${daemon.url}${path}`, {
        method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
        headers,
        redirect: 'manual',
        ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      })
    },
    async dispose() {
      await daemon.stop()
      if (!overrides.home) rmSync(home, { recursive: true, force: true })
    },
  }
}
