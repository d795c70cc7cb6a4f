import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { openTrace } from '../../src/trace/open-trace.js'
import { readTraceFile } from '../../src/trace/read-trace.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { temporaryDirectory } from './helpers.js'

const child = join(import.meta.dirname, 'fixtures', 'append-child.ts')
const passphrase = 'crash test passphrase'

/** Runs the child until it has acknowledged `acks` entries (plus a random delay), then kill -9s it. */
function runAndKill(path: string, home: string, acks: number, delayMs: number): Promise<{ acknowledged: number[] }> {
  return new Promise((resolve, reject) => {
    const process_: ChildProcess = spawn(process.execPath, ['--import', 'tsx', child, path, home], {
      env: { ...process.env, VERITY_TEST_PASSPHRASE: passphrase },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const acknowledged: number[] = []
    let buffer = ''
    let stderr = ''
    let killing = false
    process_.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    process_.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      let newline = buffer.indexOf('\n')
      while (newline >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (line.startsWith('ack ')) acknowledged.push(Number(line.slice(4)))
        newline = buffer.indexOf('\n')
      }
      if (!killing && acknowledged.length >= acks) {
        killing = true
        setTimeout(() => process_.kill('SIGKILL'), delayMs)
      }
    })
    process_.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve({ acknowledged })
      else reject(new Error(`child exited without being killed: ${stderr}`))
    })
  })
}

describe('crash safety', () => {
  it('kill -9 during appends never loses an acknowledged entry', async () => {
    const directory = temporaryDirectory()
    const home = join(directory, 'agent')
    const identity = await createAgentIdentity({ home, passphrase, scrypt: { N: 1024 } })
    const path = join(directory, 'run.trace.jsonl')
    let maxAcknowledged = -1
    const rounds = 8
    for (let round = 0; round < rounds; round++) {
      const { acknowledged } = await runAndKill(path, home, 5 + ((round * 13) % 40), (round * 7) % 25)
      expect(acknowledged.length).toBeGreaterThan(0)
      maxAcknowledged = Math.max(maxAcknowledged, ...acknowledged)
      // A torn tail (an unacknowledged, half-written line) may be present; the child repairs it on reopen.
      const { lines } = readTraceFile(path)
      const seqs = new Set(lines.flatMap((item) => (item.ok && item.line.type === 'entry' ? [item.line.seq] : [])))
      for (const seq of acknowledged) expect(seqs.has(seq), `acknowledged seq ${seq} after round ${round}`).toBe(true)
      for (let seq = 0; seq <= maxAcknowledged; seq++) expect(seqs.has(seq)).toBe(true)
      expect(lines.every((item) => item.ok)).toBe(true)
    }
    const trace = await openTrace({ path, signer: identity.signer, repair: true })
    await trace.end()
    const report = await verifyTrace({ path })
    expect(report.failures).toEqual([])
    expect(report.entries).toBeGreaterThan(maxAcknowledged + 1)
  }, 180_000)
})
