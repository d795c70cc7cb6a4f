import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readTraceFile, verifyTrace } from '../../src/trace/index.js'
import { startTestDaemon, type TestDaemon } from './daemon-harness.js'

let daemon: TestDaemon | undefined
afterAll(async () => {
  await daemon?.dispose()
})

const SECRET = 'wire 4,000 EUR to my brother Rui'

describe('a failed daemon run', () => {
  it('ends its trace with codes only (status, no message): the run verifies and neither task nor message is in the log', async () => {
    daemon = await startTestDaemon()
    const script = join(daemon.home, 'failing-agent.mjs')
    writeFileSync(script, 'export default async ({ args }) => { throw new Error(`could not do: ${args[0]}`) }\n')
    const principal = { owner: 'alice', credentialId: 'test', kind: 'token' as const, scopes: ['admin:agent' as const] }
    daemon.services.agents.create(principal, { kind: 'script', name: 'failing', path: script })
    const { runId } = await daemon.services.agents.run(principal, 'failing', SECRET)
    await daemon.services.agents.done(runId)

    const path = daemon.services.runs.tracePath(runId)
    const entries = readTraceFile(path).lines.flatMap((item) => (item.ok && item.line.type === 'entry' ? [item.line] : []))
    const end = entries.at(-1)
    expect(end?.kind).toBe('run-end')
    expect(end?.body).toEqual({ status: 'failed' })
    const report = await verifyTrace({ path, workers: 0 })
    expect(report.firstFailure).toBeUndefined()
    expect(report).toMatchObject({ ok: true, complete: true })
    // the task and the error message are in private notes (blobs, withheld when the trace is shared), not in the log
    expect(readFileSync(path, 'utf8')).not.toContain('my brother Rui')
    const notes = entries.filter((entry) => entry.kind === 'note')
    expect(notes).toHaveLength(2)
  }, 120_000)
})
