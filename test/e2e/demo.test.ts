import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type ProcessRun, runVerity } from './run-process.js'

const home = mkdtempSync(join(tmpdir(), 'verity-demo-e2e-'))

type Run = ProcessRun

const verity = (args: string[], environment: Record<string, string> = {}): Promise<Run> =>
  runVerity(args, { VERITY_PASSPHRASE: '', ...environment })

afterAll(() => rmSync(home, { recursive: true, force: true }))

const filesUnder = (folder: string): string[] =>
  readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(folder, entry.name)) : [join(folder, entry.name)],
  )

describe('verity demo, checked by independent verification', () => {
  it('runs offline, then trace verify and proof verify (separate processes) both succeed; a tampered line is named', async () => {
    const demo = await verity(['demo', '--home', home, '--json'])
    expect(demo.code, demo.stderr).toBe(0)
    const summary = JSON.parse(demo.stdout)
    expect(summary.ok).toBe(true)
    expect(summary.agent.address).toMatch(/^0x[0-9a-fA-F]{40}$/)
    // The generated passphrase is private to the owner.
    expect(statSync(join(home, 'passphrase')).mode & 0o777).toBe(0o600)
    // The task recalled memories, called the proven model, waited for the proof, remembered the outcome.
    const decisions = summary.timeline.map((item: { decision?: string; kind: string }) => item.decision ?? item.kind)
    for (const expected of [
      'memory-read',
      'tool-call',
      'tool-result',
      'policy',
      'receipt-proven',
      'memory-write',
      'final-answer',
    ])
      expect(decisions).toContain(expected)
    expect(decisions.indexOf('receipt-proven')).toBeLessThan(decisions.indexOf('memory-write'))
    expect(summary.proven).toHaveLength(1)
    const proven = summary.proven[0]
    expect(proven.status).toBe('verified')
    expect(proven.model).toBe('transaction-risk@1.0.0')
    expect(proven.output[0][0]).toBeGreaterThan(0.5)
    expect(summary.answer).toContain('risk = ')
    expect(summary.trace.ok).toBe(true)
    expect(summary.trace.complete).toBe(true)
    // Canary: the seeded memory texts are recalled (and quoted in the answer), yet no byte of the run folder holds them.
    expect(summary.answer).toContain('stolen once')
    const runFolder = dirname(summary.files.trace)
    for (const file of filesUnder(runFolder)) expect(readFileSync(file, 'latin1'), file).not.toContain('stolen once')

    // Independent verification: fresh processes that know only the files.
    const traceCheck = await verity(['trace', 'verify', summary.files.trace, '--json'])
    expect(traceCheck.code, traceCheck.stderr).toBe(0)
    const report = JSON.parse(traceCheck.stdout)
    expect(report.ok).toBe(true)
    expect(report.agents).toEqual([summary.agent.address])
    expect(report.receipts.length).toBeGreaterThan(0)
    expect(report.receipts.every((receipt: { status: string }) => receipt.status === 'verified')).toBe(true)
    expect(report.receipts[0].provenBySeq).toBeTypeOf('number')

    const proofCheck = await verity(['proof', 'verify', proven.receiptFile, '--json'])
    expect(proofCheck.code, proofCheck.stderr).toBe(0)
    const proof = JSON.parse(proofCheck.stdout)
    expect(proof.valid).toBe(true)
    expect(proof.receipt.output).toEqual(proven.output)

    // Tamper with one line: the tool result's content (the output the agent acted on), which the
    // demo trace holds sealed (its vault keeps the key): flip one byte of the ciphertext.
    const original = readFileSync(summary.files.trace, 'utf8')
    const lines = original.split('\n')
    const index = lines.findIndex((line) => line.includes('"kind":"tool-result"') && line.includes('transaction-risk'))
    expect(index).toBeGreaterThan(0)
    const entry = JSON.parse(lines[index] as string)
    expect(entry.body.content).toBeUndefined()
    const ciphertext: string = entry.body.sealed.ciphertext
    entry.body.sealed.ciphertext = `${ciphertext[0] === 'A' ? 'B' : 'A'}${ciphertext.slice(1)}`
    lines[index] = JSON.stringify(entry)
    writeFileSync(summary.files.trace, lines.join('\n'))
    const tampered = await verity(['trace', 'verify', summary.files.trace, '--json'])
    expect(tampered.code).toBe(1)
    const error = JSON.parse(tampered.stderr.slice(tampered.stderr.indexOf('{\n  "error"')))
    expect(error.error.name).toBe('TraceVerificationError')
    expect(error.error.meta.firstFailure.seq).toBe(entry.seq)
    expect(error.error.details).toContain(`seq ${entry.seq}`)

    // Attack 5: cut the run after the proven tool result (dropping the memory write, the answer,
    // run-end and the final checkpoint) and remove the sidecar. The default verify refuses it and
    // names why; --allow-incomplete accepts it but still says it is not complete.
    const sidecar = `${summary.files.trace}.checkpoint.json`
    const sidecarText = readFileSync(sidecar, 'utf8')
    const originalLines = original.split('\n').filter((line) => line.length > 0)
    writeFileSync(summary.files.trace, `${originalLines.slice(0, index + 1).join('\n')}\n`)
    rmSync(sidecar)
    const cut = await verity(['trace', 'verify', summary.files.trace, '--json'])
    expect(cut.code).toBe(1)
    const cutReport = JSON.parse(cut.stdout)
    expect(cutReport.complete).toBe(false)
    expect(cutReport.failures.map((failure: { field: string }) => failure.field)).toEqual(['run-end', 'sidecar'])
    expect(JSON.parse(cut.stderr.slice(cut.stderr.indexOf('{\n  "error"'))).error.name).toBe('TraceVerificationError')
    const accepted = await verity(['trace', 'verify', summary.files.trace, '--allow-incomplete', '--json'])
    expect(accepted.code, accepted.stderr).toBe(0)
    expect(JSON.parse(accepted.stdout)).toMatchObject({
      ok: true,
      complete: false,
      incomplete: [{ field: 'run-end' }, { field: 'sidecar' }],
    })
    // The run's own final sidecar put back beside the cut log: it covers more than the log has.
    writeFileSync(sidecar, sidecarText)
    const replayed = await verity(['trace', 'verify', summary.files.trace, '--allow-incomplete', '--json'])
    expect(replayed.code).toBe(1)
    expect(JSON.parse(replayed.stdout).firstFailure).toMatchObject({ what: 'sidecar', field: 'size' })
    // Only the final checkpoint line dropped (run-end kept): still refused, naming the checkpoint.
    expect(originalLines.at(-1)).toContain('"type":"checkpoint"')
    writeFileSync(summary.files.trace, `${originalLines.slice(0, -1).join('\n')}\n`)
    const noFinal = await verity(['trace', 'verify', summary.files.trace, '--json'])
    expect(noFinal.code).toBe(1)
    expect(JSON.parse(noFinal.stdout).failures).toContainEqual(expect.objectContaining({ field: 'checkpoint', what: 'file' }))
    writeFileSync(summary.files.trace, original)

    // A receipt whose output was changed no longer verifies.
    const receiptText = readFileSync(proven.receiptFile, 'utf8')
    writeFileSync(proven.receiptFile, receiptText.replace(/(\d)\.(\d)/, '0.0$2'))
    writeFileSync(summary.files.trace, original)
    const badReceipt = await verity(['trace', 'verify', summary.files.trace, '--json'])
    expect(badReceipt.code).toBe(1)
    const badProof = await verity(['proof', 'verify', proven.receiptFile, '--json'])
    expect(badProof.code).toBe(1)
  }, 600_000)
})
