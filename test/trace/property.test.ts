import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalDigest, canonicalJson } from '../../src/crypto/canonical-json.js'
import { canonicalEntryHeader, type JsonValue, traceEntryHeader } from '../../src/trace/entry.js'
import { type AppendTraceEntryParameters, openTrace } from '../../src/trace/open-trace.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { readLines, temporaryDirectory, testSigner, writeLines } from './helpers.js'

const kinds = ['model-call', 'tool-call', 'tool-result', 'memory-read', 'memory-write', 'answer', 'note'] as const

const entryArbitrary: fc.Arbitrary<AppendTraceEntryParameters> = fc.record({
  kind: fc.constantFrom(...kinds),
  body: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>,
  private: fc.boolean(),
  refs: fc.array(
    fc.record({ type: fc.constantFrom('receipt', 'memory', 'proof'), digest: fc.string().map((text) => canonicalDigest(text)) }),
    { maxLength: 2 },
  ),
  inputDigest: fc.option(
    fc.string().map((text) => canonicalDigest(text)),
    { nil: null },
  ),
})

type Mutation =
  | { type: 'delete'; at: number }
  | { type: 'duplicate'; at: number }
  | { type: 'swap'; at: number }
  | { type: 'truncate'; keep: number }
  | { type: 'flip'; at: number; position: number; bit: number }
  | { type: 'edit'; at: number; field: number; value: JsonValue }

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ type: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ type: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ type: fc.constant('swap' as const), at: fc.nat() }),
  fc.record({ type: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ type: fc.constant('flip' as const), at: fc.nat(), position: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    type: fc.constant('edit' as const),
    at: fc.nat(),
    field: fc.nat(),
    value: fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<JsonValue>,
  }),
)

function applyMutation(path: string, mutation: Mutation): string {
  const lines = readLines(path)
  const n = lines.length
  switch (mutation.type) {
    case 'delete': {
      const at = mutation.at % n
      writeLines(
        path,
        lines.filter((_, i) => i !== at),
      )
      return `delete line ${at + 1}`
    }
    case 'duplicate': {
      const at = mutation.at % n
      writeLines(
        path,
        lines.flatMap((line, i) => (i === at ? [line, line] : [line])),
      )
      return `duplicate line ${at + 1}`
    }
    case 'swap': {
      const at = mutation.at % (n - 1)
      const swapped = [...lines]
      swapped[at] = lines[at + 1] as string
      swapped[at + 1] = lines[at] as string
      if (swapped[at] === swapped[at + 1]) return 'noop'
      writeLines(path, swapped)
      return `swap lines ${at + 1}, ${at + 2}`
    }
    case 'truncate': {
      const keep = mutation.keep % n
      writeLines(path, lines.slice(0, keep))
      return `truncate to ${keep} lines`
    }
    case 'flip': {
      const bytes = readFileSync(path)
      const position = mutation.position % bytes.length
      bytes[position] = (bytes[position] as number) ^ (1 << mutation.bit)
      writeFileSync(path, bytes)
      return `flip bit ${mutation.bit} of byte ${position}`
    }
    case 'edit': {
      const at = mutation.at % n
      const line = JSON.parse(lines[at] as string) as Record<string, JsonValue>
      const fields = Object.keys(line)
      const field = fields[mutation.field % fields.length] as string
      if (JSON.stringify(line[field]) === JSON.stringify(mutation.value)) return 'noop'
      line[field] = mutation.value
      writeLines(
        path,
        lines.map((text, i) => (i === at ? JSON.stringify(line) : text)),
      )
      return `set ${field} of line ${at + 1} to ${JSON.stringify(mutation.value)}`
    }
  }
}

describe('trace properties', () => {
  it('every random trace verifies, and every random single mutation is detected', async () => {
    const directory = temporaryDirectory()
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(entryArbitrary, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        mutationArbitrary,
        async (entries, checkpointInterval, mutation) => {
          const path = join(directory, `run-${run++}.jsonl`)
          const trace = await openTrace({ path, signer: testSigner('prop'), checkpointInterval, blobThreshold: 64 })
          await Promise.all(entries.map((entry) => trace.append(entry)))
          await trace.end()
          const clean = await verifyTrace({ path, workers: 0 })
          expect(clean.failures).toEqual([])
          expect(clean.entries).toBe(entries.length + 2)
          const description = applyMutation(path, mutation)
          if (description === 'noop') return
          const report = await verifyTrace({ path, workers: 0 })
          expect(report.ok, description).toBe(false)
          expect(report.firstFailure, description).toBeDefined()
        },
      ),
      { numRuns: 60 },
    )
  }, 240_000)
})

describe('canonicalEntryHeader', () => {
  it('is byte-identical to RFC 8785 canonicalJson for any header', () => {
    const text = fc.string({ unit: 'binary', maxLength: 20 })
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          prevHash: text,
          agent: text,
          kind: fc.constantFrom(...kinds),
          time: text,
          inputDigest: fc.option(text, { nil: null }),
          outputDigest: fc.option(text, { nil: null }),
          refs: fc.array(fc.record({ type: text, digest: text }), { maxLength: 3 }),
          bodyDigest: text,
        }),
        (fields) => {
          const header = { v: 1 as const, ...fields }
          expect(canonicalEntryHeader(header)).toBe(canonicalJson(traceEntryHeader(header)))
        },
      ),
      { numRuns: 500 },
    )
  })
})
