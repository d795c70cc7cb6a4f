import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { IntegrityError } from '../../src/errors.js'
import { openTrace, traceCheckpointSidecarPath } from '../../src/trace/open-trace.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { readLines, temporaryDirectory, testSigner, writeLines, writeSampleTrace } from './helpers.js'

/** An open (not ended) trace with checkpoints every 2 entries: 7 entries, 3 checkpoint lines. */
async function writeOpenTrace(): Promise<string> {
  const path = join(temporaryDirectory(), 'open.trace.jsonl')
  const trace = await openTrace({ path, signer: testSigner('erin'), checkpointInterval: 2 })
  for (let n = 1; n <= 6; n++) await trace.append({ kind: 'note', body: { n } })
  await trace.close()
  return path
}

async function resumeFailure(path: string): Promise<{ line: number; field: string }> {
  const error = await openTrace({ path, signer: testSigner('erin') }).then(
    async (trace) => {
      await trace.close()
      return undefined
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(IntegrityError)
  return (error as IntegrityError & { meta: { failure: { line: number; field: string } } }).meta.failure
}

describe('one chain walk for resume and verify', () => {
  // Each of these was accepted by the writer's own resume walk before it shared verify's.
  const mutations: [string, (lines: string[]) => string[]][] = [
    [
      'a checkpoint root changed',
      // flip the root's first hex digit (to another digit: replacing it by a fixed one was a no-op 1 time in 16)
      (lines) =>
        lines.map((text, i) =>
          i === 2 ? text.replace(/"root":"0x([0-9a-f])/, (_, digit) => `"root":"0x${digit === 'f' ? '0' : 'f'}`) : text,
        ),
    ],
    ['a checkpoint line deleted', (lines) => lines.filter((_, i) => i !== 5)],
    ['an inline body changed', (lines) => lines.map((text, i) => (i === 3 ? text.replace('"n":2', '"n":9') : text))],
    [
      'a checkpoint of another origin',
      (lines) =>
        lines.map((text, i) => (i === 2 ? text.replace(/"origin":"verity-trace\/[^"]*"/, '"origin":"verity-trace/x"') : text)),
    ],
  ]
  for (const [name, mutate] of mutations)
    it(`resume refuses ${name}, naming the same line and field as verify`, async () => {
      const path = await writeOpenTrace()
      const original = readLines(path)
      const changed = mutate(original)
      expect(changed).not.toEqual(original)
      writeLines(path, changed)
      const report = await verifyTrace({ path, allowIncomplete: true, workers: 0 })
      expect(report.ok).toBe(false)
      const failure = await resumeFailure(path)
      expect(failure).toMatchObject({ line: report.firstFailure?.line, field: report.firstFailure?.field })
    })

  it('the untouched open trace resumes and verifies with allowIncomplete, and is refused without it', async () => {
    const path = await writeOpenTrace()
    const trace = await openTrace({ path, signer: testSigner('erin') })
    expect(trace.size).toBe(7)
    await trace.append({ kind: 'note', body: { n: 7 } })
    await trace.close()
    expect((await verifyTrace({ path, allowIncomplete: true })).ok).toBe(true)
    const strict = await verifyTrace({ path })
    expect(strict.ok).toBe(false)
    expect(strict.firstFailure).toMatchObject({ what: 'file', field: 'run-end' })
  })
})

describe('completeness against someone who can write the files', () => {
  it("a sidecar replayed from another run does not stand in for this run's final checkpoint", async () => {
    const victim = await writeSampleTrace()
    const other = await writeSampleTrace()
    const lines = readLines(victim.path)
    // Cut the victim before its end and put the other run's (complete, validly signed) sidecar beside it.
    writeLines(victim.path, lines.slice(0, 4))
    copyFileSync(traceCheckpointSidecarPath(other.path), traceCheckpointSidecarPath(victim.path))
    const report = await verifyTrace({ path: victim.path })
    expect(report.ok).toBe(false)
    expect(report.complete).toBe(false)
    expect(report.failures).toContainEqual(expect.objectContaining({ what: 'sidecar', field: 'origin' }))
    expect(report.failures).toContainEqual(expect.objectContaining({ field: 'run-end' }))
    expect(report.incomplete).toContainEqual(expect.objectContaining({ what: 'sidecar', field: 'sidecar' }))
  })

  it('a complete run whose trailing checkpoint line and sidecar were dropped is refused', async () => {
    const { path } = await writeSampleTrace()
    const lines = readLines(path)
    expect(lines.at(-1)).toContain('"type":"checkpoint"')
    writeLines(path, lines.slice(0, -1))
    rmSync(traceCheckpointSidecarPath(path))
    const report = await verifyTrace({ path })
    expect(report.ok).toBe(false)
    expect(report.incomplete.map((problem) => problem.field)).toEqual(['checkpoint', 'sidecar'])
    expect((await verifyTrace({ path, allowIncomplete: true })).ok).toBe(true)
  })
})
