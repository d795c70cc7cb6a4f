import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportTraceToOpenTelemetry } from '../../src/trace/export-opentelemetry.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { runVerity } from '../e2e/run-process.js'
import { readLines } from './helpers.js'

/**
 * Readers on what users produce: the trace comes from a real agent run WITH a vault (`verity demo`
 * in a fresh home: it recalls memories, calls the EZKL-proven model, waits for the proof and
 * remembers the outcome), so memory-read / memory-write entries and sealed bodies go through
 * `trace show` and the OpenTelemetry export exactly as users write them.
 */
const home = mkdtempSync(join(tmpdir(), 'verity-otel-real-run-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

/** Plaintext the run handled (seeded memories, the task's arguments): never in a sealed view. */
const PRIVATE_TEXTS = ['stolen once', 'Alice', 'amount_k', 'merchant_risk']

type Line = { type: string; seq: number; kind: string; hash: string; signature: string; body?: Record<string, unknown> }
type ShownEntry = { seq: number; kind: string; summary: string; sealed: boolean; hash: string; receiptStatus?: string }

let tracePath = ''
let lines: Line[] = []
let passphrase = ''
let vaultPath = ''

function setup() {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { exporter, tracer: provider.getTracer('verity-test') }
}

beforeAll(async () => {
  const demo = await runVerity(['demo', '--home', home, '--json'], { VERITY_PASSPHRASE: '' })
  expect(demo.code, demo.stderr).toBe(0)
  const summary = JSON.parse(demo.stdout) as { ok: boolean; files: { trace: string; vault: string; passphrase: string } }
  expect(summary.ok).toBe(true)
  tracePath = summary.files.trace
  vaultPath = summary.files.vault
  passphrase = readFileSync(summary.files.passphrase, 'utf8').trim()
  lines = readLines(tracePath).map((line) => JSON.parse(line) as Line)
}, 240_000)

const entriesOf = (kind: string) => lines.filter((line) => line.type === 'entry' && line.kind === kind)

describe('trace show on a trace written by a real agent run with a vault', () => {
  it('without the key: memory reads/writes, tool calls and results shown, their private fields shown as sealed, no plaintext', async () => {
    const shown = await runVerity(['trace', 'show', tracePath, '--json'])
    expect(shown.code, shown.stderr).toBe(0)
    const report = JSON.parse(shown.stdout) as { verification: { ok: boolean; complete: boolean }; entries: ShownEntry[] }
    expect(report.verification).toMatchObject({ ok: true, complete: true })
    const kinds = report.entries.map((entry) => entry.kind)
    for (const kind of [
      'memory-read',
      'model-call',
      'tool-call',
      'tool-result',
      'receipt-proven',
      'memory-write',
      'answer',
      'run-end',
    ])
      expect(kinds).toContain(kind)
    // Memory reads happen before the first model call; the write after the receipt was proven.
    expect(kinds.indexOf('memory-read')).toBeLessThan(kinds.indexOf('model-call'))
    expect(kinds.indexOf('receipt-proven')).toBeLessThan(kinds.indexOf('memory-write'))
    for (const kind of ['memory-read', 'memory-write', 'tool-call', 'tool-result', 'answer']) {
      const rows = report.entries.filter((entry) => entry.kind === kind)
      expect(rows.length, kind).toBeGreaterThan(0)
      for (const row of rows) {
        expect(row.sealed, `${kind} seq ${row.seq}`).toBe(true)
        expect(row.summary, `${kind} seq ${row.seq}`).toContain('[sealed]')
      }
    }
    // Public fields stay readable: tool names and call ids.
    const summaries = report.entries.map((entry) => `${entry.kind} ${entry.summary}`)
    expect(summaries).toContain('tool-call transaction-risk(…) #call_0_transaction-risk [sealed]')
    expect(summaries).toContain('tool-call remember(…) #call_1_remember [sealed]')
    // Each row carries the hash of its line on disk.
    for (const entry of report.entries) expect(entry.hash).toBe(lines.find((line) => line.seq === entry.seq)?.hash)
    for (const text of PRIVATE_TEXTS) expect(shown.stdout).not.toContain(text)
  })

  it("with the owner's vault: the same entries shown revealed (the recalled memory, the tool's arguments and the remembered id)", async () => {
    const shown = await runVerity(['trace', 'show', tracePath, '--vault', vaultPath, '--json'], { VERITY_PASSPHRASE: passphrase })
    expect(shown.code, shown.stderr).toBe(0)
    const entries = (JSON.parse(shown.stdout) as { entries: ShownEntry[] }).entries
    const summary = (seq: number | undefined) => entries.find((entry) => entry.seq === seq)?.summary ?? ''
    const toolCall = entriesOf('tool-call').find((line) => line.body?.tool === 'transaction-risk')
    expect(summary(toolCall?.seq)).toContain('"merchant_risk":0.8')
    expect(summary(toolCall?.seq)).not.toContain('[sealed]')
    const write = entriesOf('memory-write')[0]
    expect(summary(write?.seq)).toMatch(/"id":"[0-9a-f]{8}/)
    expect(summary(write?.seq)).not.toContain('[sealed]')
    expect(entries.find((entry) => entry.kind === 'answer')?.summary).toContain('stolen once')
  })
})

describe('exportTraceToOpenTelemetry on a trace written by a real agent run with a vault', () => {
  it('tool spans (names, call ids, parent links, receipt status), chat spans, memory events; sealed bodies marked, no plaintext', async () => {
    const { exporter, tracer } = setup()
    const result = await exportTraceToOpenTelemetry({ path: tracePath, tracer })
    expect(result.verified).toBe(true)
    const spans = exporter.getFinishedSpans()
    const root = spans.find((span) => span.name === 'invoke_agent risk-desk')
    expect(root).toBeDefined()
    expect(root?.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'verity.trace.verified': true,
      'verity.trace.complete': true,
      'verity.trace.entries': lines.filter((line) => line.type === 'entry').length,
    })
    const tools = spans.filter((span) => span.attributes['gen_ai.operation.name'] === 'execute_tool')
    expect(tools.map((span) => [span.name, span.attributes['gen_ai.tool.call.id']])).toEqual([
      ['execute_tool transaction-risk', 'call_0_transaction-risk'],
      ['execute_tool remember', 'call_1_remember'],
    ])
    for (const span of tools) {
      const call = entriesOf('tool-call').find((line) => line.body?.toolCallId === span.attributes['gen_ai.tool.call.id'])
      const result = entriesOf('tool-result').find((line) => line.body?.toolCallId === span.attributes['gen_ai.tool.call.id'])
      expect(span.attributes).toMatchObject({
        'verity.entry.seq': call?.seq,
        'verity.entry.hash': call?.hash,
        'verity.entry.signature': call?.signature,
        'verity.result.seq': result?.seq,
        'verity.result.hash': result?.hash,
        'verity.body.sealed': true,
      })
      expect(span.status.code).not.toBe(2)
    }
    // The proven tool's span carries the receipt status the trace proved later (receipt-proven entry).
    expect(tools[0]?.attributes['verity.receipt.status']).toBe('proven')
    const chats = spans.filter((span) => span.attributes['gen_ai.operation.name'] === 'chat')
    expect(chats).toHaveLength(entriesOf('model-call').length)
    for (const span of chats) expect(span.attributes['verity.body.sealed']).toBe(true)
    for (const span of [...chats, ...tools]) {
      expect(span.parentSpanContext?.spanId).toBe(root?.spanContext().spanId)
      expect(span.spanContext().traceId).toBe(root?.spanContext().traceId)
    }
    // Memory reads and writes are events of the run span, sealed, with their entry's hash.
    const events = root?.events ?? []
    for (const kind of ['memory-read', 'memory-write']) {
      const entry = entriesOf(kind)[0]
      const event = events.find((item) => item.name === `verity.${kind}`)
      expect(event?.attributes, kind).toMatchObject({
        'verity.entry.seq': entry?.seq,
        'verity.entry.hash': entry?.hash,
        'verity.body.sealed': true,
      })
    }
    const names = events.map((event) => event.name)
    expect(names.indexOf('verity.memory-read')).toBeLessThan(names.indexOf('verity.receipt-proven'))
    expect(names.indexOf('verity.receipt-proven')).toBeLessThan(names.indexOf('verity.memory-write'))
    expect(names).toContain('verity.answer')
    // Nothing private leaks into the exported telemetry.
    const exported = JSON.stringify(spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })))
    for (const text of PRIVATE_TEXTS) expect(exported).not.toContain(text)
  })

  it('marks the run span as an error when the real trace does not verify (a line removed)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'verity-otel-cut-'))
    try {
      const path = join(folder, 'trace.jsonl')
      copyFileSync(tracePath, path)
      const original = readLines(path)
      const index = original.findIndex((line) => line.includes('"kind":"memory-write"'))
      expect(index).toBeGreaterThan(0)
      writeFileSync(path, `${[...original.slice(0, index), ...original.slice(index + 1)].join('\n')}\n`)
      const report = await verifyTrace({ path, allowIncomplete: true })
      const { exporter, tracer } = setup()
      const result = await exportTraceToOpenTelemetry({ path, tracer, report })
      expect(result.verified).toBe(false)
      const root = exporter.getFinishedSpans().find((span) => span.name.startsWith('invoke_agent'))
      expect(root?.status.code).toBe(2)
      expect(root?.attributes['verity.trace.verified']).toBe(false)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})
