import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runTypeScript } from './run-process.js'

// The examples import the public API (`verity/agent`, `verity/memory`...), which resolves through
// package.json `exports` to dist/: build first (`npm run build`; `npm install` does it).
const homes: string[] = []

const runExample = (name: string, args: string[] = []) => runTypeScript(join('examples', name), args)

function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'verity-example-'))
  homes.push(dir)
  return dir
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split('\n').at(-1) ?? ''
  return JSON.parse(line) as Record<string, unknown>
}

beforeAll(async () => {
  // Build dist/ so the subpath imports resolve to the current source.
  const build = await new Promise<number | null>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
    })
    child.on('error', reject)
    child.on('close', resolvePromise)
  })
  expect(build).toBe(0)
}, 300_000)

afterAll(() => {
  for (const dir of homes) rmSync(dir, { recursive: true, force: true })
})

describe('examples/ run as a newcomer would run them', () => {
  it('01: a scripted agent with vault memory, a proven tool and a signed trace that verifies with its receipts', async () => {
    const run = await runExample('01-scripted-agent.ts', [home()])
    expect(run.code, run.stderr).toBe(0)
    const result = lastJsonLine(run.stdout)
    expect(result.traceOk).toBe(true)
    expect(String(result.answer)).toContain('risk = ')
    expect(String(result.answer)).toContain('Recalled')
    // tool-result, policy and receipt-proven entries all link the receipt; the real EZKL proof verified.
    expect(result.receipts).toEqual(['verified', 'verified', 'verified'])
  }, 400_000)

  it('02: a plugin granted one namespace; its tool calls are traced; an over-asking plugin is refused', async () => {
    const run = await runExample('02-plugin.ts')
    expect(run.code, run.stderr).toBe(0)
    const result = lastJsonLine(run.stdout)
    const calls = result.pluginCalls as { tool: string; plugin: string }[]
    expect(calls.map((call) => call.tool)).toContain('notebook_write')
    expect(calls.every((call) => call.plugin === '@verity-plugins/notebook@1.0.0')).toBe(true)
    expect(String((result.answers as string[])[1])).toContain('quarterly report is due on Friday')
    expect(result.refused).toMatch(/^PluginPermissionError: .*did not grant/)
    expect(result.chainIntact).toBe(true)
  }, 120_000)

  it('03: a vault shared between two agents (owner-guard grant); the second recalls what the first remembered', async () => {
    const run = await runExample('03-shared-vault.ts', [home()])
    expect(run.code, run.stderr).toBe(0)
    const result = lastJsonLine(run.stdout)
    expect(String(result.answer)).toContain('Acme invoices on the 3rd')
    expect(result.grants).toEqual(['passphrase', 'owner'])
    const traces = result.traces as { ok: boolean; agent: string }[]
    expect(traces.map((trace) => trace.ok)).toEqual([true, true])
    expect(traces[0]?.agent).not.toBe(traces[1]?.agent)
  }, 120_000)
})
