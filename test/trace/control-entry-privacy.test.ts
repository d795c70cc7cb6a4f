import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openTrace } from '../../src/trace/open-trace.js'
import { controlBodyProblem } from '../../src/trace/trace-bodies.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { receiptDigest, temporaryDirectory, testSigner } from './helpers.js'

/** Every byte the run left on disk (trace, sidecar, blobs), to grep for a secret. */
function everything(directory: string): string {
  let text = ''
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) text += readFileSync(join(entry.parentPath, entry.name), 'utf8')
  return text
}

const SECRET = 'pay the invoice to my sister Ana, IBAN PT50 0002 0123'

describe('control entries (never sealed) refuse personal data at the writer', () => {
  it('trace.end() refuses an answer in run-end with a typed error naming the field; the run can still end and verifies', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.trace.jsonl')
    const trace = await openTrace({ path, signer: testSigner('alice') })
    await trace.append({ kind: 'answer', body: { text: 'sealed elsewhere' }, private: true })

    await expect(trace.end({ body: { status: 'completed', answer: SECRET } })).rejects.toMatchObject({
      code: 'VERITY_INVALID_INPUT',
      shortMessage: "The run-end cannot carry 'answer'",
      meta: { kind: 'run-end', field: 'answer', reason: 'personal' },
      hint: expect.stringContaining('sealed entry'),
    })
    await expect(trace.end({ body: { status: 'failed', details: { memories: [SECRET] } } as never })).rejects.toMatchObject({
      meta: { field: 'details.memories', reason: 'personal' },
    })
    // a field outside the run-end vocabulary is refused too (private by default, as in sealed bodies)
    await expect(trace.end({ body: { status: 'completed', summary: SECRET } })).rejects.toMatchObject({
      code: 'VERITY_INVALID_INPUT',
      meta: { field: 'summary', reason: 'not-in-vocabulary' },
    })
    await expect(trace.end({ body: SECRET })).rejects.toMatchObject({ meta: { field: '(body)', reason: 'invalid' } })
    // the same through append(): no side door
    await expect(trace.append({ kind: 'run-end', body: { task: SECRET } })).rejects.toMatchObject({ meta: { field: 'task' } })
    await expect(trace.append({ kind: 'run-end', body: { status: 'ok' }, seal: new Uint8Array(32) })).rejects.toMatchObject({
      code: 'VERITY_INVALID_INPUT',
      shortMessage: 'A run-end entry is never sealed',
    })

    // nothing was written by the refusals: the run is still open and ends cleanly
    expect(trace.size).toBe(2)
    const { seq } = await trace.end({ body: { status: 'failed', errorCode: 'VERITY_ABORTED' } })
    expect(seq).toBe(2)
    const report = await verifyTrace({ path })
    expect(report).toMatchObject({ ok: true, complete: true })
    expect(everything(directory)).not.toContain('my sister Ana')
  })

  it('run-start metadata and receipt-proven details refuse personal fields at any depth; no file is left behind', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.trace.jsonl')
    await expect(
      openTrace({ path, signer: testSigner('bob'), metadata: { agent: 'bob', input: { task: SECRET } } }),
    ).rejects.toMatchObject({ code: 'VERITY_INVALID_INPUT', shortMessage: "The run-start metadata cannot carry 'input.task'" })
    expect(existsSync(path)).toBe(false)

    const trace = await openTrace({ path, signer: testSigner('bob'), metadata: { agent: 'bob', runId: 'r-1' } })
    await trace.append({ kind: 'tool-call', body: { tool: 'risk' }, refs: [{ type: 'receipt', digest: receiptDigest }] })
    await expect(
      trace.recordReceiptProven({ forSeq: 1, receiptDigest, details: { status: 'verified', result: SECRET } }),
    ).rejects.toMatchObject({ code: 'VERITY_INVALID_INPUT', meta: { kind: 'receipt-proven', field: 'result' } })
    await trace.recordReceiptProven({ forSeq: 1, receiptDigest, details: { status: 'verified', durationMs: 12 } })
    await trace.end()
    expect((await verifyTrace({ path })).ok).toBe(true)
    expect(everything(directory)).not.toContain('my sister Ana')
  })

  it('accepts the bodies the real writers use (demo, agent run, daemon)', () => {
    expect(controlBodyProblem('run-end', null)).toBeUndefined()
    expect(controlBodyProblem('run-end', { runId: '20261128T070102Z-1a2b3c4d' })).toBeUndefined()
    expect(controlBodyProblem('run-end', { status: 'completed' })).toBeUndefined()
    expect(controlBodyProblem('run-end', { status: 'interrupted', interrupted: true, reason: 'daemon-stopped' })).toBeUndefined()
    expect(controlBodyProblem('run-end', { status: 'cancelled', errorCode: 'VERITY_ABORTED' })).toBeUndefined()
    // a prose reason is free text: refused, as a code it is fine
    expect(controlBodyProblem('run-end', { reason: 'the user asked me to stop' })).toMatchObject({
      field: 'reason',
      reason: 'invalid',
    })
    expect(controlBodyProblem('run-start', { demo: true, runId: 'x', model: 'transaction-risk@1.0.0' })).toBeUndefined()
    expect(controlBodyProblem('run-start', { script: 'agent.ts', runId: 'x' })).toBeUndefined()
  })
})
