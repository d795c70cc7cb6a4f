import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, describe, expect, it } from 'vitest'
import { MCP_TOOL_NAMES, type RunRecord } from '../../src/daemon/index.js'
import { readTraceFile, verifyTrace } from '../../src/trace/index.js'
import { MODELS_DIR, startTestDaemon, type TestDaemon } from './daemon-harness.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const INPUT = [[0.95, 3 / 23, 0.8, 0.6, 1, 1]]

type ToolResult = { structuredContent?: Record<string, unknown>; isError?: boolean; content: { type: string; text: string }[] }

/** Calls every tool the way an MCP client would, checking each answer; returns the tool names called. */
async function exerciseEveryTool(client: Client): Promise<string[]> {
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = (await client.callTool({ name, arguments: args })) as ToolResult
    expect(result.isError, `${name}: ${result.content[0]?.text}`).toBeFalsy()
    return result.structuredContent as Record<string, unknown>
  }
  const listed = await client.listTools()
  expect(listed.tools.map((tool) => tool.name).sort()).toEqual([...MCP_TOOL_NAMES].sort())

  const remembered = await call('remember', { text: 'Alice prefers to be contacted by email about card alerts.' })
  const recalled = (await call('recall', { query: 'how to contact Alice about card alerts', k: 3 })) as {
    memories: { id: string; text: string }[]
  }
  expect(recalled.memories.map((memory) => memory.id)).toContain(remembered.id)
  expect(await call('forget', { id: remembered.id })).toEqual({ deleted: [remembered.id] })
  const afterForget = (await call('recall', { query: 'how to contact Alice about card alerts', k: 3 })) as {
    memories: { id: string }[]
  }
  expect(afterForget.memories.map((memory) => memory.id)).not.toContain(remembered.id)

  const inferred = (await call('infer', { model: 'transaction-risk', input: INPUT, waitForProof: true })) as {
    output: number[][]
    receipt: { id: string; status: string; proofDigest: string }
  }
  expect(inferred.receipt.status).toBe('verified')
  expect(inferred.output[0]!.length).toBeGreaterThan(0)
  const verified = (await call('verify_receipt', { receiptId: inferred.receipt.id })) as { valid: boolean }
  expect(verified.valid).toBe(true)
  const trace = (await call('verify_trace', {})) as { ok: boolean; runId: string; entries: number }
  expect(trace.ok).toBe(true)

  // Resources: the runs list and this session's run, and the receipt.
  const runs = JSON.parse(
    ((await client.readResource({ uri: 'verity://runs' })).contents[0] as { text: string }).text,
  ) as RunRecord[]
  expect(runs.map((run) => run.id)).toContain(trace.runId)
  const timeline = JSON.parse(
    ((await client.readResource({ uri: `verity://runs/${trace.runId}` })).contents[0] as { text: string }).text,
  ) as { entries: { kind: string }[] }
  expect(timeline.entries.filter((entry) => entry.kind === 'tool-call').length).toBeGreaterThanOrEqual(7)
  const receipt = JSON.parse(
    (
      (await client.readResource({ uri: `verity://receipts/${encodeURIComponent(inferred.receipt.id)}` })).contents[0] as {
        text: string
      }
    ).text,
  ) as { receipt: { status: string }; proof?: string }
  expect(receipt.receipt.status).toBe('verified')
  expect(receipt.proof).toBeTruthy()
  return ['remember', 'recall', 'forget', 'recall', 'infer', 'verify_receipt', 'verify_trace']
}

/** After the server ended its run: the MCP trace verifies, is complete, and holds one call/result pair per tool call. */
async function expectTraceOfCalls(home: string, calls: string[]) {
  const runsDirectory = join(home, 'runs')
  const mcpRuns = readdirSync(runsDirectory).filter(
    (id) => readTraceFile(join(runsDirectory, id, 'trace.jsonl')).lines.length > 0,
  )
  expect(mcpRuns.length).toBe(1)
  const path = join(runsDirectory, mcpRuns[0]!, 'trace.jsonl')
  const report = await verifyTrace({ path, requireComplete: true, workers: 0 })
  expect(report.firstFailure).toBeUndefined()
  expect(report.ok).toBe(true)
  const entries = readTraceFile(path).lines.flatMap((item) => (item.ok && item.line.type === 'entry' ? [item.line] : []))
  const toolCalls = entries.filter((entry) => entry.kind === 'tool-call')
  expect(toolCalls.length).toBe(calls.length)
  expect(entries.filter((entry) => entry.kind === 'tool-result').length).toBe(calls.length)
  // Arguments are sealed out of the trace file (private bodies), their digests signed.
  for (const entry of toolCalls) {
    expect(entry.body).toBeUndefined()
    expect(entry.inputDigest).toMatch(/^sha256:/)
  }
  // The infer result links its receipt.
  expect(entries.some((entry) => entry.kind === 'tool-result' && entry.refs.some((ref) => ref.type === 'receipt'))).toBe(true)
}

describe('MCP over Streamable HTTP on the daemon', () => {
  let daemon: TestDaemon | undefined
  afterAll(async () => {
    await daemon?.dispose()
  })

  it('refuses a client without a token', async () => {
    daemon = await startTestDaemon()
    const client = new Client({ name: 'verity-test', version: '1.0.0' })
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(`${daemon.url}/mcp`)))).rejects.toThrow()
  }, 60_000)

  it("calls every tool with the SDK's client; the calls land in a signed trace that verifies", async () => {
    daemon ??= await startTestDaemon()
    const token = daemon.token('alice', ['write:vault', 'write:agent'])
    const created = await daemon.call('/v1/vaults', {
      token,
      body: { name: 'notes', guard: { kind: 'passphrase', passphrase: 'notes passphrase' } },
    })
    expect(created.status).toBe(200)
    const client = new Client({ name: 'verity-test', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${daemon.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    )
    const calls = await exerciseEveryTool(client)
    await client.close()
    const home = daemon.home
    await daemon.stop()
    await expectTraceOfCalls(home, calls)
  }, 300_000)
})

describe('MCP over stdio (verity mcp)', () => {
  it("calls every tool with the SDK's client; the calls land in a signed trace that verifies", async () => {
    const home = mkdtempSync(join(tmpdir(), 'verity-mcp-stdio-'))
    try {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [
          '--import',
          'tsx',
          join(ROOT, 'src/cli/main.ts'),
          'mcp',
          '--home',
          home,
          '--vault',
          'notes',
          '--models',
          MODELS_DIR,
        ],
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? home,
          VERITY_DAEMON_PASSPHRASE: 'stdio daemon passphrase',
          VERITY_VAULT_PASSPHRASE: 'stdio vault passphrase',
        },
        stderr: 'pipe',
      })
      const client = new Client({ name: 'verity-test', version: '1.0.0' })
      await client.connect(transport)
      const calls = await exerciseEveryTool(client)
      await client.close()
      // Closing stdin ends the server: it ends its trace, then exits.
      for (let attempt = 0; attempt < 100; attempt++) {
        const runs = readdirSync(join(home, 'runs'))
        const ended = runs.some((id) =>
          readTraceFile(join(home, 'runs', id, 'trace.jsonl')).lines.some(
            (item) => item.ok && item.line.type === 'entry' && item.line.kind === 'run-end',
          ),
        )
        if (ended) break
        await new Promise((done) => setTimeout(done, 100))
      }
      await expectTraceOfCalls(home, calls)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  }, 300_000)
})
