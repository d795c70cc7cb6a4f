import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openTokenStore } from '../../src/daemon/index.js'
import { readTraceFile, verifyTrace } from '../../src/trace/index.js'
import { RISK_TASK, startTestDaemon, type TestDaemon } from './daemon-harness.js'
import { type DaemonProcess, spawnDaemon } from './daemon-process.js'

const PASSPHRASE = 'kill test daemon passphrase'
const guard = { kind: 'passphrase', passphrase: 'kill test vault passphrase' }

let daemon: DaemonProcess | undefined
let restarted: TestDaemon | undefined
const home = mkdtempSync(join(tmpdir(), 'verity-daemon-kill-'))

afterAll(async () => {
  daemon?.child.kill('SIGKILL')
  await restarted?.dispose()
  rmSync(home, { recursive: true, force: true })
})

describe('kill -9 of the daemon mid-run, then restart', () => {
  it('loses no acknowledged memory or trace entry; the run is marked interrupted and its trace verifies', async () => {
    const token = openTokenStore({ path: join(home, 'tokens.json') }).create({
      owner: 'alice',
      scopes: ['write:vault', 'write:agent'],
    }).token
    // a slow prover: the run is still waiting for its proof at the kill
    daemon = await spawnDaemon({ home, passphrase: PASSPHRASE, slowProver: true })
    const { child, callOk } = daemon
    const call = (path: string, body?: unknown) => callOk(path, { token, body })
    await call('/v1/vaults', { name: 'notes', guard })
    const acknowledged: string[] = []
    for (let index = 0; index < 20; index++) {
      const { records } = (await call('/v1/vaults/notes/memories', {
        memories: [{ text: `acknowledged memory number ${index}` }],
      })) as {
        records: { id: string }[]
      }
      acknowledged.push(records[0]!.id)
    }
    // A run that waits for its proof: it is in flight for tens of seconds.
    await call('/v1/agents', {
      kind: 'definition',
      name: 'desk',
      definition: { tools: ['transaction-risk'], proofs: 'require-verified' },
    })
    const { runId } = (await call('/v1/agents/desk/runs', { task: RISK_TASK })) as { runId: string }
    let seen: { seq: number; hash: string }[] = []
    for (let attempt = 0; attempt < 600; attempt++) {
      const { entries } = (await call(`/v1/runs/${runId}/entries`)) as { entries: { seq: number; hash: string; kind: string }[] }
      seen = entries
      if (entries.some((entry) => entry.kind === 'tool-result')) break
      await new Promise((done) => setTimeout(done, 200))
    }
    expect(seen.some((entry) => (entry as { kind?: string }).kind === 'tool-result')).toBe(true)

    const killed = new Promise((done) => child.once('exit', done))
    child.kill('SIGKILL')
    await killed
    daemon = undefined

    restarted = await startTestDaemon({ home, identityPassphrase: PASSPHRASE })
    expect(restarted.services.interrupted).toContain(runId)
    const status = await restarted.call(`/v1/runs/${runId}`, { token })
    expect(((await status.json()) as { status: string }).status).toBe('interrupted')

    // Every entry acknowledged before the kill is still there, unchanged; the trace verifies and is ended.
    const path = restarted.services.runs.tracePath(runId)
    const after = readTraceFile(path).lines.flatMap((item) => (item.ok && item.line.type === 'entry' ? [item.line] : []))
    for (const entry of seen) expect(after[entry.seq]?.hash).toBe(entry.hash)
    expect(after.at(-1)?.kind).toBe('run-end')
    const report = await verifyTrace({ path, requireComplete: true, workers: 0 })
    expect(report.firstFailure).toBeUndefined()
    expect(report.ok).toBe(true)

    // Every acknowledged memory survived.
    const opened = await restarted.call('/v1/vaults/notes/open', { token, body: { guard } })
    expect(opened.status).toBe(200)
    const listed = (await (await restarted.call('/v1/vaults/notes/memories?limit=1000', { token })).json()) as {
      records: { id: string }[]
    }
    for (const id of acknowledged) expect(listed.records.map((record) => record.id)).toContain(id)
  }, 300_000)
})
