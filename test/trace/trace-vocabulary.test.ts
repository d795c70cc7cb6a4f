import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AIMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { tool } from '@langchain/core/tools'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { traceRecorder } from '../../src/agent/trace-recorder.js'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { exportTraceToOpenTelemetry } from '../../src/trace/export-opentelemetry.js'
import { openTrace } from '../../src/trace/open-trace.js'
import { readTraceFile } from '../../src/trace/read-trace.js'
import { sendTraceToOtlp } from '../../src/trace/send-otlp.js'
import { traceTimeline } from '../../src/trace/trace-timeline.js'
import { runVerity } from '../e2e/run-process.js'

const home = mkdtempSync(join(tmpdir(), 'verity-vocabulary-'))
const tracePath = join(home, 'run.trace.jsonl')
afterAll(() => rmSync(home, { recursive: true, force: true }))

const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}, 21 C`, {
  name: 'weather',
  description: 'Weather of a city',
  schema: z.object({ city: z.string() }),
})

/** An AIMessage with tool calls, usage and response metadata (LangChain's field types are stricter than its runtime). */
const aiMessage = (fields: Record<string, unknown>) => new AIMessage(fields as never)

/**
 * A real agent run: createVerityAgent with a tool-calling fake chat model (two parallel tool
 * calls, token usage and a provider model name), writing the signed trace through the middleware.
 */
beforeAll(async () => {
  const identity = await createAgentIdentity({ home, passphrase: 'vocabulary test', scrypt: { N: 1024 } })
  const model = fakeModel()
    .respond(
      aiMessage({
        content: '',
        tool_calls: [
          { id: 'call-lisbon', name: 'weather', args: { city: 'Lisbon' }, type: 'tool_call' },
          { id: 'call-porto', name: 'weather', args: { city: 'Porto' }, type: 'tool_call' },
        ],
        usage_metadata: { input_tokens: 31, output_tokens: 12, total_tokens: 43 },
        response_metadata: { model_name: 'gpt-test-1' },
      }),
    )
    .respond(
      aiMessage({
        content: 'Sunny in both.',
        usage_metadata: { input_tokens: 58, output_tokens: 4, total_tokens: 62 },
        response_metadata: { model_name: 'gpt-test-1' },
      }),
    )
  const trace = await openTrace({ path: tracePath, signer: identity.signer, metadata: { agentName: 'forecaster' } })
  const agent = createVerityAgent({ name: 'forecaster', model, tools: [weather], recorder: traceRecorder({ trace }) })
  const result = await agent.invoke('Weather in Lisbon and Porto?')
  expect(result.answer).toBe('Sunny in both.')
  await trace.end()
}, 120_000)

type OtlpSpan = {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  startTimeUnixNano: string | number
  endTimeUnixNano: string | number
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean } }[]
}
const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((item) => item.key === key)?.value
  if (value?.intValue !== undefined) return Number(value.intValue)
  return value?.stringValue ?? value?.boolValue
}

describe('one trace vocabulary, on a trace written by a real agent run', () => {
  it('the middleware writes the fields of trace-bodies.ts: model name, usage, call ids, args, results, model-call timing', () => {
    const entries = readTraceFile(tracePath).lines.flatMap((item) => (item.ok && item.line.type === 'entry' ? [item.line] : []))
    const modelCalls = entries.filter((entry) => entry.kind === 'model-call')
    expect(modelCalls).toHaveLength(2)
    const first = modelCalls[0]?.body as Record<string, unknown>
    expect(first).toMatchObject({
      model: 'gpt-test-1',
      usage: { inputTokens: 31, outputTokens: 12, totalTokens: 43 },
      toolCalls: [
        { id: 'call-lisbon', name: 'weather', args: { city: 'Lisbon' } },
        { id: 'call-porto', name: 'weather', args: { city: 'Porto' } },
      ],
    })
    // The model call starts before the model answers (the entry's time).
    expect(Date.parse(first.startedAt as string)).toBeLessThanOrEqual(Date.parse(modelCalls[0]?.time as string))
    const calls = entries.filter((entry) => entry.kind === 'tool-call').map((entry) => entry.body)
    expect(calls).toEqual([
      expect.objectContaining({ tool: 'weather', toolCallId: 'call-lisbon', args: { city: 'Lisbon' } }),
      expect.objectContaining({ tool: 'weather', toolCallId: 'call-porto', args: { city: 'Porto' } }),
    ])
    const results = entries.filter((entry) => entry.kind === 'tool-result').map((entry) => entry.body)
    expect(results).toContainEqual(expect.objectContaining({ toolCallId: 'call-porto', content: 'sunny in Porto, 21 C' }))
  })

  it('trace show reads them: model name, tokens, calls with arguments and results', async () => {
    const { rows, report } = await traceTimeline({ path: tracePath })
    expect(report.ok).toBe(true)
    const summaries = rows.map((row) => `${row.kind} ${row.summary}`)
    expect(summaries).toContain('model-call model gpt-test-1 [31 in, 12 out tokens] → weather, weather')
    expect(summaries).toContain('tool-call weather({"city":"Lisbon"}) #call-lisbon')
    expect(summaries).toContain('tool-result weather → sunny in Porto, 21 C #call-porto')
    expect(summaries).toContain('answer Sunny in both.')
    expect(summaries.join('\n')).not.toMatch(/model unknown|weather\(\)|→ null/)
  })

  it('the OpenTelemetry export: chat spans named by model with token counts and timed from the call, every parallel tool span closed', async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const result = await exportTraceToOpenTelemetry({ path: tracePath, tracer: provider.getTracer('test') })
    expect(result.verified).toBe(true)
    const spans = exporter.getFinishedSpans()
    const rootSpan = spans.find((span) => span.name === 'invoke_agent forecaster')
    expect(rootSpan).toBeDefined()
    const chats = spans.filter((span) => span.name === 'chat gpt-test-1')
    expect(chats.map((span) => span.attributes['gen_ai.usage.input_tokens'])).toEqual([31, 58])
    expect(chats.map((span) => span.attributes['gen_ai.usage.output_tokens'])).toEqual([12, 4])
    const tools = spans.filter((span) => span.name === 'execute_tool weather')
    expect(tools.map((span) => span.attributes['gen_ai.tool.call.id']).sort()).toEqual(['call-lisbon', 'call-porto'])
    for (const span of tools) expect(span.attributes['verity.result.seq']).toBeTypeOf('number')
    // The first chat span ends before the tools it asked for start.
    const toMs = (time: [number, number]) => time[0] * 1000 + time[1] / 1e6
    const firstChat = chats[0] as (typeof chats)[number]
    for (const span of tools) expect(toMs(firstChat.endTime)).toBeLessThanOrEqual(toMs(span.startTime))
    for (const span of [...chats, ...tools]) expect(span.parentSpanContext?.spanId).toBe(rootSpan?.spanContext().spanId)
  })

  describe('verity trace export --otlp to a loopback OTLP/HTTP receiver', () => {
    let server: Server
    let url: string
    const received: { path: string; contentType: string; body: { resourceSpans: unknown[] } }[] = []
    beforeAll(async () => {
      server = createServer((request, response) => {
        const chunks: Buffer[] = []
        request.on('data', (chunk: Buffer) => chunks.push(chunk))
        request.on('end', () => {
          received.push({
            path: request.url ?? '',
            contentType: String(request.headers['content-type']),
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          })
          response.writeHead(200, { 'content-type': 'application/json' })
          response.end('{}')
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`
    })
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

    const spansOf = (index: number): OtlpSpan[] =>
      ((received[index]?.body.resourceSpans ?? []) as { scopeSpans: { spans: OtlpSpan[] }[] }[]).flatMap((resource) =>
        resource.scopeSpans.flatMap((scope) => scope.spans),
      )

    it('receives the spans with names, ids, token counts and parent links (library, then the CLI)', async () => {
      const sent = await sendTraceToOtlp({ path: tracePath, url })
      expect(sent.spans).toBe(5)
      expect(received).toHaveLength(1)
      expect(received[0]?.path).toBe('/v1/traces')
      expect(received[0]?.contentType).toContain('application/json')
      const spans = spansOf(0)
      expect(spans.map((span) => span.name).sort()).toEqual([
        'chat gpt-test-1',
        'chat gpt-test-1',
        'execute_tool weather',
        'execute_tool weather',
        'invoke_agent forecaster',
      ])
      const rootSpan = spans.find((span) => span.name.startsWith('invoke_agent')) as OtlpSpan
      for (const span of spans) {
        expect(span.traceId).toMatch(/^[0-9a-f]{32}$/)
        expect(span.traceId).toBe(sent.traceId)
        expect(span.spanId).toMatch(/^[0-9a-f]{16}$/)
        if (span !== rootSpan) expect(span.parentSpanId).toBe(rootSpan.spanId)
      }
      expect(
        spans.filter((span) => span.name.startsWith('chat')).map((span) => attribute(span, 'gen_ai.usage.input_tokens')),
      ).toEqual([31, 58])
      expect(
        spans
          .filter((span) => span.name.startsWith('execute_tool'))
          .map((span) => attribute(span, 'gen_ai.tool.call.id'))
          .sort(),
      ).toEqual(['call-lisbon', 'call-porto'])

      const cli = await runVerity(['trace', 'export', tracePath, '--otlp', url, '--json'])
      expect(cli.code, cli.stderr).toBe(0)
      expect(JSON.parse(cli.stdout)).toMatchObject({ spans: 5, verified: true, url })
      expect(
        spansOf(1)
          .map((span) => span.name)
          .sort(),
      ).toEqual(spans.map((span) => span.name).sort())
    }, 180_000)

    it('a collector that refuses the batch is a NetworkError, exit 1', async () => {
      const cli = await runVerity(['trace', 'export', tracePath, '--otlp', 'http://127.0.0.1:9/v1/traces', '--json'])
      expect(cli.code).toBe(1)
      expect(cli.stderr).toContain('VERITY_NETWORK')
    }, 180_000)
  })
})
