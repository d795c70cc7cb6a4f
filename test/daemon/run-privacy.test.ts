import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomId } from '../../src/crypto/random.js'
import { readTraceFile, verifyTrace } from '../../src/trace/index.js'
import { runVerity } from '../e2e/run-process.js'
import { startTestDaemon, type TestDaemon } from './daemon-harness.js'

/**
 * Personal data of daemon runs (tasks, answers, MCP remember/recall arguments and results) is sealed under a key
 * kept in the owner's vault, revealed only to the owner with that vault open, and never found in plaintext in any
 * file the daemon leaves behind.
 */
const PASSPHRASE = 'alice vault passphrase for the canary'
const guard = { kind: 'passphrase', passphrase: PASSPHRASE }
const unique = randomId().slice(0, 16)
const CANARY_TASK = `canary-task-${unique} Remember that Alice pays rent on the 3rd`
const CANARY_MEMORY = `canary-memory-${unique} Alice's locker code is 4412`
const CANARY_QUERY = `canary-query-${unique} locker code`
const CANARY_LOOSE = `canary-loose-${unique} a task run with no vault open`
const CANARIES = [`canary-task-${unique}`, `canary-memory-${unique}`, `canary-query-${unique}`, `canary-loose-${unique}`]

let home: string
let daemon: TestDaemon
let alice: string
let aliceReader: string
let bob: string
let agentRun: string
let looseRun: string
let mcpRun: string

const shmBefore = new Set(existsSync('/dev/shm') ? readdirSync('/dev/shm') : [])

/** Every regular file under `root` (symlinks not followed). */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return []
  const stat = lstatSync(root)
  if (stat.isFile()) return [root]
  if (!stat.isDirectory()) return []
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return []
  }
  return names.flatMap((name) => filesUnder(join(root, name)))
}

function filesContaining(files: string[], needles: string[]): string[] {
  const hits: string[] = []
  for (const file of files) {
    let bytes: Buffer
    try {
      bytes = readFileSync(file)
    } catch {
      continue
    }
    for (const needle of needles) if (bytes.includes(needle)) hits.push(`${file}: ${needle}`)
  }
  return hits
}

async function reveal(runId: string, seq: number, token: string) {
  return daemon.call(`/v1/runs/${runId}/reveal`, { token, body: { seq } })
}

/** The seqs of the entries of one kind in a run trace. */
function seqsOf(runId: string, kind: string): number[] {
  return readTraceFile(daemon.services.runs.tracePath(runId))
    .lines.filter((item) => item.ok && item.line.type === 'entry' && item.line.kind === kind)
    .map((item) => (item.ok && item.line.type === 'entry' ? item.line.seq : -1))
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'verity-daemon-privacy-'))
  daemon = await startTestDaemon({ home })
  alice = daemon.token('alice', ['admin:vault', 'admin:agent'])
  aliceReader = daemon.token('alice', ['read:vault', 'read:agent'])
  bob = daemon.token('bob', ['admin:vault', 'admin:agent'])
  expect((await daemon.call('/v1/vaults', { token: alice, body: { name: 'notes', guard } })).status).toBe(200)

  // An agent run with the vault open: the task and answer are sealed under the run's key, kept in the vault.
  const agent = { kind: 'definition', name: 'desk', definition: { vault: 'notes' } }
  expect((await daemon.call('/v1/agents', { token: alice, body: agent })).status).toBe(200)
  agentRun = (
    (await (await daemon.call('/v1/agents/desk/runs', { token: alice, body: { task: CANARY_TASK } })).json()) as {
      runId: string
    }
  ).runId
  await daemon.services.agents.done(agentRun)

  // MCP remember / recall through the SDK's client over HTTP.
  const client = new Client({ name: 'privacy-test', version: '1.0.0' })
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${daemon.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${alice}` } },
    }),
  )
  const remembered = (await client.callTool({ name: 'remember', arguments: { text: CANARY_MEMORY } })) as unknown as {
    structuredContent: { id: string }
  }
  const recalled = (await client.callTool({ name: 'recall', arguments: { query: CANARY_QUERY, k: 3 } })) as unknown as {
    structuredContent: { memories: { id: string; text: string }[] }
  }
  expect(recalled.structuredContent.memories.map((memory) => memory.id)).toContain(remembered.structuredContent.id)
  // The vault also keeps the runs' body keys: recall never returns them as memories.
  expect(recalled.structuredContent.memories.every((memory) => memory.text.includes('canary'))).toBe(true)
  await client.close()
  mcpRun = daemon.services.mcpTrace.runOf('alice')!

  // A run while no vault is open: nothing can seal, so private fields are withheld (digest only).
  expect((await daemon.call('/v1/vaults/notes/close', { token: alice, body: {} })).status).toBe(200)
  const loose = { kind: 'definition', name: 'loose', definition: {} }
  expect((await daemon.call('/v1/agents', { token: alice, body: loose })).status).toBe(200)
  looseRun = (
    (await (await daemon.call('/v1/agents/loose/runs', { token: alice, body: { task: CANARY_LOOSE } })).json()) as {
      runId: string
    }
  ).runId
  await daemon.services.agents.done(looseRun)
  expect((await daemon.call('/v1/vaults/notes/open', { token: alice, body: { guard } })).status).toBe(200)
}, 180_000)

afterAll(async () => {
  await daemon?.dispose()
  rmSync(home, { recursive: true, force: true })
})

describe('daemon run traces: personal data sealed, revealed to the owner only', () => {
  it('records the vault that holds each run key; every run trace verifies without the key', async () => {
    expect(daemon.services.runs.get(agentRun)?.sealedIn).toBe('notes')
    expect(daemon.services.runs.get(mcpRun)?.sealedIn).toBe('notes')
    expect(daemon.services.runs.get(looseRun)?.sealedIn).toBeUndefined()
    for (const runId of [agentRun, looseRun]) {
      const report = await verifyTrace({ path: daemon.services.runs.tracePath(runId), workers: 0 })
      expect(report.ok, JSON.stringify(report.firstFailure)).toBe(true)
    }
  })

  it('reveals the sealed task and the MCP arguments to the owner with the vault open', async () => {
    const [taskSeq] = seqsOf(agentRun, 'note')
    const task = await reveal(agentRun, taskSeq!, alice)
    expect(task.status).toBe(200)
    const revealed = (await task.json()) as { body: { task: string }; state: string }
    expect(revealed).toMatchObject({ state: 'sealed', body: { event: 'task', task: CANARY_TASK } })

    const calls = seqsOf(mcpRun, 'tool-call')
    const bodies = await Promise.all(calls.map(async (seq) => (await (await reveal(mcpRun, seq, alice)).json()) as unknown))
    expect(bodies).toContainEqual(
      expect.objectContaining({ state: 'sealed', body: { tool: 'remember', arguments: { text: CANARY_MEMORY } } }),
    )
    expect(JSON.stringify(bodies)).toContain(CANARY_QUERY)
  })

  it('refuses a read-only token, another owner, and an owner whose vault is closed', async () => {
    const [taskSeq] = seqsOf(agentRun, 'note')
    const readOnly = await reveal(agentRun, taskSeq!, aliceReader)
    expect(readOnly.status).toBe(403)
    const other = await reveal(agentRun, taskSeq!, bob)
    expect(other.status).toBe(404)
    expect(await other.text()).not.toContain('canary')

    expect((await daemon.call('/v1/vaults/notes/close', { token: alice, body: {} })).status).toBe(200)
    const closed = await reveal(agentRun, taskSeq!, alice)
    expect(closed.status).toBe(409)
    const text = await closed.text()
    expect(JSON.parse(text).error.code).toBe('VERITY_INVALID_STATE')
    expect(text).not.toContain('canary')
    expect((await daemon.call('/v1/vaults/notes/open', { token: alice, body: { guard } })).status).toBe(200)

    // Nor can a read-only token fetch the run keys from the vault instead: they are not listed nor searchable.
    const listed = (await (await daemon.call('/v1/vaults/notes/memories', { token: aliceReader })).json()) as {
      records: { namespace: string }[]
    }
    expect(listed.records.length).toBeGreaterThan(0)
    expect(listed.records.map((record) => record.namespace)).not.toContain('verity:trace-keys')
    const searched = (await (
      await daemon.call('/v1/vaults/notes/search', {
        token: aliceReader,
        body: { query: 'trace key', namespace: 'verity:trace-keys', k: 10 },
      })
    ).json()) as { results: unknown[] }
    expect(searched.results).toEqual([])
    expect(daemon.services.vaults.list('alice')[0]?.records).toBeGreaterThan(listed.records.length)
  })

  it('a run made with no vault open keeps only digests: nobody can reveal it', async () => {
    const [taskSeq] = seqsOf(looseRun, 'note')
    const response = await reveal(looseRun, taskSeq!, alice)
    expect(response.status).toBe(200)
    const revealed = (await response.json()) as { state: string; body: { withheldDigest?: string } }
    expect(revealed.state).toBe('withheld')
    expect(revealed.body.withheldDigest).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('`verity trace reveal` opens a daemon run folder with the owner vault and its passphrase', async () => {
    // The CLI opens the vault itself: the daemon's session must let go of it first.
    expect((await daemon.call('/v1/vaults/notes/close', { token: alice, body: {} })).status).toBe(200)
    const [taskSeq] = seqsOf(agentRun, 'note')
    const result = await runVerity(
      [
        'trace',
        'reveal',
        daemon.services.runs.tracePath(agentRun),
        '--vault',
        daemon.services.vaults.pathOf('alice', 'notes'),
        '--seq',
        String(taskSeq),
        '--json',
      ],
      { VERITY_PASSPHRASE: PASSPHRASE },
    )
    expect(result.code, result.stderr).toBe(0)
    const output = JSON.parse(result.stdout) as { entries: { seq: number; sealed: boolean; body: { task: string } }[] }
    expect(output.entries[0]).toMatchObject({ seq: taskSeq, sealed: true, body: { task: CANARY_TASK } })

    const wrong = await runVerity(
      ['trace', 'reveal', daemon.services.runs.tracePath(agentRun), '--vault', daemon.services.vaults.pathOf('alice', 'notes')],
      { VERITY_PASSPHRASE: 'not the passphrase' },
    )
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).not.toContain('canary')
  }, 120_000)

  it('canary: no file under the daemon home, nor any /dev/shm leftover after close, holds the personal texts', async () => {
    // While running: the home holds traces, blobs, run records, agents and the vault.
    const whileRunning = filesUnder(home)
    expect(whileRunning.some((file) => file.includes(join(agentRun, 'trace.jsonl')))).toBe(true)
    expect(filesContaining(whileRunning, CANARIES)).toEqual([])
    await daemon.stop()
    const after = filesUnder(home)
    expect(after.length).toBeGreaterThan(whileRunning.length / 2)
    expect(filesContaining(after, CANARIES)).toEqual([])
    const leftovers = (existsSync('/dev/shm') ? readdirSync('/dev/shm') : [])
      .filter((name) => !shmBefore.has(name))
      .flatMap((name) => filesUnder(join('/dev/shm', name)))
    expect(filesContaining(leftovers, CANARIES)).toEqual([])
  }, 120_000)
})
