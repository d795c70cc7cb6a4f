import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openTokenStore } from '../../src/daemon/index.js'
import { readTraceFile, verifyTrace } from '../../src/trace/index.js'
import { RISK_TASK } from './daemon-harness.js'
import { type DaemonProcess, spawnDaemon } from './daemon-process.js'

const PASSPHRASE = 'graceful test daemon passphrase'
const guard = { kind: 'passphrase', passphrase: 'graceful test vault passphrase' }

let daemon: DaemonProcess | undefined
const home = mkdtempSync(join(tmpdir(), 'verity-daemon-graceful-'))

afterAll(() => {
  if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL')
  rmSync(home, { recursive: true, force: true })
})

/** The plaintext index folders a process keeps in /dev/shm (src/memory/lancedb-tmpfs.ts names them by pid). */
const shmFoldersOf = (pid: number) =>
  readdirSync('/dev/shm').filter((name) => name.startsWith(`verity-index-${pid}-`) || name.startsWith(`verity-index-tmp-${pid}-`))

describe('SIGTERM to a daemon with an open vault session and a running agent run', () => {
  it('drains: the run finishes within the grace, its trace ends (run-end) and verifies, SSE closes, the vault folder is gone, exit 0', async () => {
    // `verity daemon start` in a child process (docs/daemon.md "Reliability"), its grace from a config file
    const config = join(home, 'config.json')
    writeFileSync(config, JSON.stringify({ shutdownGraceMs: 180_000 }))
    const token = openTokenStore({ path: join(home, 'tokens.json') }).create({
      owner: 'alice',
      scopes: ['write:vault', 'write:agent'],
    }).token
    // a slow prover: the run is still waiting for its proof when SIGTERM arrives
    daemon = await spawnDaemon({ home, passphrase: PASSPHRASE, slowProver: true, args: ['--config', config] })
    const { child, url, callOk } = daemon
    const pid = child.pid as number
    const headers = { authorization: `Bearer ${token}` }
    const call = (path: string, body?: unknown) => callOk(path, { token, body })
    await call('/v1/vaults', { name: 'notes', guard })
    await call('/v1/vaults/notes/memories', { memories: [{ text: 'graceful shutdown canary memory' }] })
    // The open vault keeps its plaintext index in /dev/shm while the session lives.
    expect(shmFoldersOf(pid).length).toBeGreaterThan(0)
    await call('/v1/agents', {
      kind: 'definition',
      name: 'desk',
      definition: { tools: ['transaction-risk'], proofs: 'require-verified' },
    })
    const { runId } = (await call('/v1/agents/desk/runs', { task: RISK_TASK })) as { runId: string }
    // Wait until the run is in flight: the tool answered, the run now waits for its EZKL proof.
    let inFlight = false
    for (let attempt = 0; attempt < 600 && !inFlight; attempt++) {
      const { entries } = (await call(`/v1/runs/${runId}/entries`)) as { entries: { kind: string }[] }
      inFlight = entries.some((entry) => entry.kind === 'tool-result')
      if (!inFlight) await new Promise((done) => setTimeout(done, 200))
    }
    expect(inFlight).toBe(true)
    // A live event stream on the run, open across the shutdown.
    const stream = await fetch(`${url}/v1/runs/${runId}/events`, { headers, signal: AbortSignal.timeout(240_000) })
    expect(stream.status).toBe(200)
    const streamed = stream.text().catch((error: Error) => `stream error: ${error.message}`)

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once('exit', (code, signal) => done({ code, signal })),
    )
    child.kill('SIGTERM')
    // Draining: the listener is closed to new connections.
    await new Promise((done) => setTimeout(done, 500))
    await expect(fetch(`${url}/v1/runs/${runId}`, { headers })).rejects.toThrow()

    const { code, signal } = await exited
    expect(signal).toBeNull()
    expect(code).toBe(0)
    // The SSE stream ended, its last event the run's final status (completed, not aborted).
    const events = await streamed
    expect(events).not.toMatch(/^stream error/)
    expect(events).toMatch(/event: status\ndata: \{"type":"status","status":"completed"\}/)

    // The run finished within the grace: its trace ends with run-end and verifies complete, proof included.
    const runs = readdirSync(join(home, 'runs'), { recursive: true }).map(String)
    const traceFile = runs.find((name) => name.includes(runId) && name.endsWith('.jsonl'))
    expect(traceFile, runs.join(', ')).toBeDefined()
    const path = join(home, 'runs', traceFile as string)
    const entries = readTraceFile(path).lines.flatMap((item) => (item.ok && item.line.type === 'entry' ? [item.line] : []))
    const kinds = entries.map((entry) => entry.kind)
    expect(kinds).toContain('receipt-proven')
    expect(kinds).toContain('answer')
    expect(kinds.at(-1)).toBe('run-end')
    const report = await verifyTrace({ path, requireComplete: true, workers: 0 })
    expect(report.firstFailure).toBeUndefined()
    expect(report.ok).toBe(true)
    // The vault session was closed: no plaintext index folder of the daemon is left in /dev/shm.
    expect(shmFoldersOf(pid)).toEqual([])
  }, 300_000)
})
