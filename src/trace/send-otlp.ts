import { ExportResultCode } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { z } from 'zod'
import { NetworkError } from '../errors.js'
import { parseInput } from '../validation.js'
import { exportTraceToOpenTelemetry } from './export-opentelemetry.js'
import type { VerifyReceiptFunction } from './verify-trace.js'

/**
 * Sends a trace's OpenTelemetry spans (see {@link exportTraceToOpenTelemetry}) to an OTLP/HTTP
 * endpoint with OpenTelemetry's own exporter (`@opentelemetry/exporter-trace-otlp-http`), as one
 * batch, and reports whether the endpoint accepted it.
 */

export type SendTraceToOtlpParameters = {
  /** The trace `.jsonl` file. */
  path: string
  /** The OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`. */
  url: string
  /** Extra HTTP headers (an API key for a hosted collector...). */
  headers?: Record<string, string> | undefined
  /** `service.name` of the resource (default `verity`). */
  serviceName?: string | undefined
  verifyReceipt?: VerifyReceiptFunction | undefined
  /** Give up after this many milliseconds (default 10 000). */
  timeoutMs?: number | undefined
}
export type SendTraceToOtlpReturnType = { spans: number; traceId: string; verified: boolean; url: string }

const sendSchema = z.object({
  path: z.string().min(1),
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).optional(),
  serviceName: z.string().min(1).max(200).optional(),
  verifyReceipt: z.custom<VerifyReceiptFunction>((value) => typeof value === 'function').optional(),
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
})

/**
 * Exports a trace to an OTLP/HTTP collector.
 *
 * @example
 * ```ts
 * await sendTraceToOtlp({ path: 'run.trace.jsonl', url: 'http://127.0.0.1:4318/v1/traces' })
 * ```
 */
export async function sendTraceToOtlp(parameters: SendTraceToOtlpParameters): Promise<SendTraceToOtlpReturnType> {
  const input = parseInput(sendSchema, parameters, {
    what: 'sendTraceToOtlp parameters',
    hint: 'Pass { path, url } with url the collector traces endpoint (http://host:4318/v1/traces).',
  })
  const collected = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': input.serviceName ?? 'verity' }),
    spanProcessors: [new SimpleSpanProcessor(collected)],
  })
  const exported = await exportTraceToOpenTelemetry({
    path: input.path,
    tracer: provider.getTracer('verity', '1'),
    verifyReceipt: input.verifyReceipt,
  })
  await provider.forceFlush()
  // Read the spans before shutdown (the in-memory exporter forgets them when it shuts down).
  const spans = [...collected.getFinishedSpans()]
  await provider.shutdown()
  const exporter = new OTLPTraceExporter({
    url: input.url,
    ...(input.headers ? { headers: input.headers } : {}),
    timeoutMillis: input.timeoutMs ?? 10_000,
  })
  const result = await new Promise<{ code: ExportResultCode; error?: Error | undefined }>((resolve) =>
    exporter.export(spans, resolve),
  )
  await exporter.shutdown()
  if (result.code !== ExportResultCode.SUCCESS)
    throw new NetworkError('The OTLP endpoint did not accept the spans', {
      details: `${input.url}: ${result.error?.message ?? 'export failed'}`,
      hint: 'Check the collector URL (OTLP/HTTP traces endpoint, usually :4318/v1/traces) and that it is running.',
      cause: result.error,
      meta: { url: input.url, spans: spans.length },
    })
  return { spans: spans.length, traceId: exported.traceId, verified: exported.verified, url: input.url }
}
