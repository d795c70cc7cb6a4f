import { writeFileSync } from 'node:fs'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'
import { exportTraceToOpenTelemetry } from '../../src/trace/export-opentelemetry.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { readLines, writeSampleTrace } from './helpers.js'

function setup() {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { exporter, tracer: provider.getTracer('verity-test') }
}

describe('exportTraceToOpenTelemetry', () => {
  it('emits invoke_agent, chat and execute_tool spans with gen_ai.* and verity.* attributes', async () => {
    const { path, signer } = await writeSampleTrace()
    const { exporter, tracer } = setup()
    const result = await exportTraceToOpenTelemetry({ path, tracer })
    expect(result).toMatchObject({ spans: 3, verified: true })
    const spans = exporter.getFinishedSpans()
    expect(spans.map((span) => span.name).sort()).toEqual([
      'chat scripted',
      'execute_tool calculator',
      'invoke_agent verity-agent',
    ])
    const root = spans.find((span) => span.name.startsWith('invoke_agent'))
    const chat = spans.find((span) => span.name.startsWith('chat'))
    const tool = spans.find((span) => span.name.startsWith('execute_tool'))
    expect(root?.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'verity.trace.verified': true,
      'gen_ai.agent.id': signer.address,
    })
    const lines = readLines(path).map((line) => JSON.parse(line) as { seq: number; hash: string; signature: string })
    expect(chat?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'scripted',
      'verity.entry.seq': 1,
      'verity.entry.hash': lines[1]?.hash,
      'verity.entry.signature': lines[1]?.signature,
    })
    expect(tool?.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'calculator',
      'gen_ai.tool.call.id': 'c1',
      'verity.entry.seq': 2,
      'verity.result.seq': 3,
      'verity.receipt.status': 'proven',
    })
    for (const span of [chat, tool]) expect(span?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId)
    expect(root?.events.map((event) => event.name)).toContain('verity.answer')
  })

  it('marks the run span as an error when the trace does not verify', async () => {
    const { path } = await writeSampleTrace()
    const lines = readLines(path)
    writeFileSync(path, `${lines.slice(0, 2).join('\n')}\n${lines[3]}\n`)
    const report = await verifyTrace({ path })
    const { exporter, tracer } = setup()
    const result = await exportTraceToOpenTelemetry({ path, tracer, report })
    expect(result.verified).toBe(false)
    const root = exporter.getFinishedSpans().find((span) => span.name.startsWith('invoke_agent'))
    expect(root?.status.code).toBe(2)
    expect(root?.attributes['verity.trace.verified']).toBe(false)
  })
})
