import { appendFileSync, copyFileSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { verifyTypedData } from 'ethers'
import { describe, expect, it } from 'vitest'
import { canonicalDigest } from '../../src/crypto/canonical-json.js'
import { InvalidInputError, InvalidStateError, TraceLockedError, TruncatedDataError } from '../../src/errors.js'
import { agentDomain } from '../../src/identity/agent-domain.js'
import type { AgentSigner } from '../../src/identity/secp256k1-signer.js'
import { traceBlobDirectory } from '../../src/trace/blob-store.js'
import type { TraceCheckpointLine, TraceEntryLine } from '../../src/trace/entry.js'
import { openTrace, traceCheckpointSidecarPath } from '../../src/trace/open-trace.js'
import { CHECKPOINT_TYPES, TRACE_ENTRY_TYPES } from '../../src/trace/typed-data.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { readLines, receiptDigest, temporaryDirectory, testSigner, writeLines, writeSampleTrace } from './helpers.js'

describe('trace round trip', () => {
  it('writes a trace that verifies, with every signature checkable by ethers verifyTypedData', async () => {
    const { path, signer } = await writeSampleTrace()
    const report = await verifyTrace({ path })
    expect(report.failures).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.complete).toBe(true)
    expect(report.entries).toBe(9)
    expect(report.agents).toEqual([signer.address])
    expect(report.withheld).toEqual([])
    expect(report.receipts).toEqual([
      { seq: 3, digest: receiptDigest, status: 'unchecked', provenBySeq: 6 },
      { seq: 6, digest: receiptDigest, status: 'unchecked', provenBySeq: undefined },
    ])
    const lines = readLines(path).map((line) => JSON.parse(line) as TraceEntryLine | TraceCheckpointLine)
    const domain = agentDomain({ agent: signer.address, chainId: 1 })
    for (const line of lines) {
      if (line.type === 'entry')
        expect(
          verifyTypedData(
            domain,
            TRACE_ENTRY_TYPES,
            { seq: line.seq, prevHash: line.prevHash, entryHash: line.hash },
            line.signature,
          ),
        ).toBe(signer.address)
      else
        expect(
          verifyTypedData(domain, CHECKPOINT_TYPES, { origin: line.origin, size: line.size, root: line.root }, line.signature),
        ).toBe(signer.address)
    }
    expect(lines.filter((line) => line.type === 'checkpoint').map((line) => (line as TraceCheckpointLine).size)).toEqual([
      4, 8, 9,
    ])
    // The large and the private bodies live in blobs, not inline.
    const entries = lines.filter((line): line is TraceEntryLine => line.type === 'entry')
    expect(entries[4]?.body).toBeUndefined()
    expect(entries[5]?.body).toBeUndefined()
    expect(readdirSync(traceBlobDirectory(path))).toHaveLength(2)
  })

  it('reports withheld blobs as withheld, and changed blobs as failures', async () => {
    const { path } = await writeSampleTrace()
    const lines = readLines(path).map((line) => JSON.parse(line) as TraceEntryLine)
    const privateEntry = lines.find((line) => line.kind === 'memory-write') as TraceEntryLine
    const blob = join(traceBlobDirectory(path), privateEntry.bodyDigest.replace(':', '-'))
    const original = readFileSync(blob)
    unlinkSync(blob)
    const withheld = await verifyTrace({ path })
    expect(withheld.ok).toBe(true)
    expect(withheld.withheld).toEqual([{ seq: privateEntry.seq, bodyDigest: privateEntry.bodyDigest }])
    writeFileSync(blob, Buffer.concat([original, Buffer.from(' ')]))
    const changed = await verifyTrace({ path })
    expect(changed.ok).toBe(false)
    expect(changed.firstFailure).toMatchObject({ seq: privateEntry.seq, field: 'body' })
  })

  it('checks linked receipts through the injected verifier and names a failing one', async () => {
    const { path } = await writeSampleTrace()
    const seen: string[] = []
    const verified = await verifyTrace({
      path,
      verifyReceipt: async (ref, entry) => {
        seen.push(`${entry.seq}:${ref.digest}`)
        return 'verified'
      },
    })
    expect(verified.ok).toBe(true)
    expect(verified.unchecked).toEqual([])
    expect(seen).toEqual([`3:${receiptDigest}`, `6:${receiptDigest}`])
    const failed = await verifyTrace({ path, verifyReceipt: async (_ref, entry) => (entry.seq === 3 ? 'failed' : 'verified') })
    expect(failed.ok).toBe(false)
    expect(failed.firstFailure).toMatchObject({ what: 'receipt', seq: 3, field: 'refs' })
  })

  it('resumes an open trace and continues the chain', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.jsonl')
    const signer = testSigner('bob')
    const first = await openTrace({ path, signer, checkpointInterval: 3 })
    await first.append({ kind: 'note', body: 'one' })
    await first.close()
    const second = await openTrace({ path, signer, checkpointInterval: 3 })
    expect(second.size).toBe(2)
    expect(second.origin).toBe(first.origin)
    await second.append({ kind: 'note', body: 'two' })
    await second.end()
    const report = await verifyTrace({ path })
    expect(report.ok).toBe(true)
    expect(report.entries).toBe(4)
    await expect(openTrace({ path, signer })).rejects.toBeInstanceOf(InvalidStateError)
  })

  it('rotates the key with an entry signed by both keys', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.jsonl')
    const alice = testSigner('alice')
    const carol = testSigner('carol')
    // The rotation is the third entry: the checkpoint due right after it is signed by the new key.
    const trace = await openTrace({ path, signer: alice, checkpointInterval: 3 })
    await trace.append({ kind: 'note', body: 'before' })
    await trace.rotateKey({ signer: carol })
    expect(trace.agent).toBe(carol.address)
    await trace.append({ kind: 'note', body: 'after' })
    await trace.close()
    await expect(openTrace({ path, signer: alice })).rejects.toBeInstanceOf(InvalidStateError)
    const resumed = await openTrace({ path, signer: carol })
    await resumed.end()
    const report = await verifyTrace({ path })
    expect(report.failures).toEqual([])
    expect(report.agents).toEqual([alice.address, carol.address])
    const checkpoints = readLines(path)
      .map((line) => JSON.parse(line) as TraceCheckpointLine)
      .filter((line) => line.type === 'checkpoint')
    expect(checkpoints[0]).toMatchObject({ size: 3, agent: carol.address })
  })

  it('detects a rotation the new key did not consent to', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.jsonl')
    const alice = testSigner('alice')
    const carol = testSigner('carol')
    const mallory = testSigner('mallory')
    // Claims to be carol but signs with mallory's key.
    const impostor: AgentSigner = { specificationVersion: 'v1', address: carol.address, signDigest: (d) => mallory.signDigest(d) }
    const trace = await openTrace({ path, signer: alice })
    await trace.rotateKey({ signer: impostor })
    await trace.end()
    const report = await verifyTrace({ path })
    expect(report.ok).toBe(false)
    expect(report.firstFailure).toMatchObject({ seq: 1, field: 'body.nextAgentSignature' })
  })

  it('refuses bad input and a second writer with typed errors', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.jsonl')
    const signer = testSigner('dave')
    const trace = await openTrace({ path, signer })
    await expect(openTrace({ path, signer })).rejects.toBeInstanceOf(TraceLockedError)
    // @ts-expect-error run-start is reserved
    await expect(trace.append({ kind: 'run-start' })).rejects.toBeInstanceOf(InvalidInputError)
    // @ts-expect-error unknown kind
    await expect(trace.append({ kind: 'bogus' })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(trace.append({ kind: 'note', inputDigest: 'md5:zz' })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(trace.append({ kind: 'note', body: { n: Number.NaN } as never })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(trace.recordReceiptProven({ forSeq: 99, receiptDigest })).rejects.toBeInstanceOf(InvalidStateError)
    await expect(openTrace({ path: '', signer })).rejects.toBeInstanceOf(InvalidInputError)
    await trace.close()
    await expect(trace.append({ kind: 'note' })).rejects.toBeInstanceOf(InvalidStateError)
    const again = await openTrace({ path, signer })
    await again.close()
    // Closed, not ended: refused by default, accepted (and reported) when asked.
    expect((await verifyTrace({ path })).firstFailure).toMatchObject({ field: 'run-end' })
    const open = await verifyTrace({ path, allowIncomplete: true })
    expect(open.ok).toBe(true)
    expect(open.complete).toBe(false)
    expect(open.incomplete.map((problem) => problem.field)).toEqual(['run-end', 'sidecar'])
  })

  it('acknowledges many concurrent appends with group commit, in order', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.jsonl')
    const trace = await openTrace({ path, signer: testSigner('eve'), checkpointInterval: 50 })
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => trace.append({ kind: 'note', body: { i } })))
    expect(results.map((result) => result.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
    await trace.end()
    const report = await verifyTrace({ path, workers: 2 })
    expect(report.failures).toEqual([])
    expect(report.entries).toBe(302)
    expect(report.checkpoints).toBe(7)
  })
})

describe('torn last line', () => {
  it('is reported by verify, refused by openTrace, and cut off only with repair', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.jsonl')
    const signer = testSigner('frank')
    const trace = await openTrace({ path, signer })
    await trace.append({ kind: 'note', body: 'acknowledged' })
    await trace.close()
    const goodLength = readFileSync(path).length
    appendFileSync(path, '{"type":"entry","v":1,"seq":2,"prevHa')
    const report = await verifyTrace({ path })
    expect(report.ok).toBe(false)
    expect(report.tornTail).toMatchObject({ lineNumber: 3, offset: goodLength })
    expect(report.firstFailure).toMatchObject({ what: 'file', line: 3, field: 'line' })
    expect(report.firstFailure?.reason).toMatch(/torn/)
    expect(report.entries).toBe(2)
    await expect(openTrace({ path, signer })).rejects.toBeInstanceOf(TruncatedDataError)
    const repaired = await openTrace({ path, signer, repair: true })
    expect(repaired.repaired).toEqual({ lineNumber: 3, bytes: 37 })
    expect(readFileSync(path).length).toBe(goodLength)
    await repaired.append({ kind: 'note', body: 'after repair' })
    await repaired.end()
    expect((await verifyTrace({ path })).ok).toBe(true)
  })

  it('a complete but garbled last line (zero-filled block) is a torn tail too', async () => {
    const { path } = await writeSampleTrace()
    appendFileSync(path, `${'\u0000'.repeat(40)}\n`)
    const report = await verifyTrace({ path })
    expect(report.tornTail?.reason).toMatch(/unreadable/)
    expect(report.ok).toBe(false)
  })
})

describe('tampering is detected and named', () => {
  const entryFields = [
    'v',
    'seq',
    'prevHash',
    'agent',
    'kind',
    'time',
    'inputDigest',
    'outputDigest',
    'refs',
    'bodyDigest',
    'body',
    'hash',
    'signature',
  ]
  const checkpointFields = ['origin', 'size', 'root', 'agent', 'signature']

  it('editing any field of any line', async () => {
    const { path } = await writeSampleTrace()
    const original = readLines(path)
    let probes = 0
    for (const [index, text] of original.entries()) {
      const line = JSON.parse(text) as Record<string, unknown>
      for (const field of line.type === 'entry' ? entryFields : checkpointFields) {
        if (field === 'body' && !('body' in line)) continue
        const mutated = { ...line, [field]: mutate(line[field], field) }
        writeLines(
          path,
          original.map((other, i) => (i === index ? JSON.stringify(mutated) : other)),
        )
        const report = await verifyTrace({ path, workers: 0 })
        expect(report.ok, `line ${index + 1} field ${field}`).toBe(false)
        expect(report.firstFailure?.line, `line ${index + 1} field ${field}: ${JSON.stringify(report.firstFailure)}`).toBe(
          index + 1,
        )
        probes++
      }
    }
    expect(probes).toBeGreaterThan(100)
  })

  it('an agent address with a broken EIP-55 checksum, on any line, is reported, not thrown', async () => {
    const { path } = await writeSampleTrace()
    const original = readLines(path)
    // One letter's case flipped, or one digit changed (another address, its mixed case now no valid checksum).
    const breakages = {
      'letter case': (address: string) =>
        address.replace(/[a-fA-F]/, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())),
      digit: (address: string) => `0x${address.slice(2).replace(/[0-9]/, (d) => String((Number(d) + 1) % 10))}`,
    }
    for (const [name, broken] of Object.entries(breakages))
      for (const [index, text] of original.entries()) {
        const line = JSON.parse(text) as TraceEntryLine | TraceCheckpointLine
        writeLines(
          path,
          original.map((other, i) => (i === index ? JSON.stringify({ ...line, agent: broken(line.agent) }) : other)),
        )
        const report = await verifyTrace({ path, workers: 0 })
        expect(report.ok, `${name}, line ${index + 1} (${line.type})`).toBe(false)
        expect(report.firstFailure?.line, `${name}, line ${index + 1} (${line.type})`).toBe(index + 1)
      }
  })

  it('a key rotation whose addresses have a broken checksum is reported, not thrown', async () => {
    const directory = temporaryDirectory()
    const path = join(directory, 'run.jsonl')
    const trace = await openTrace({ path, signer: testSigner('alice') })
    await trace.rotateKey({ signer: testSigner('carol') })
    await trace.end()
    const original = readLines(path)
    const index = original.findIndex((text) => (JSON.parse(text) as TraceEntryLine).kind === 'key-rotation')
    expect(index).toBeGreaterThanOrEqual(0)
    const line = JSON.parse(original[index] as string) as Omit<TraceEntryLine, 'body'> & { body: Record<string, string> }
    for (const field of ['previousAgent', 'nextAgent']) {
      const address = line.body[field] as string
      const broken = address.replace(/[a-fA-F]/, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()))
      writeLines(
        path,
        original.map((other, i) => (i === index ? JSON.stringify({ ...line, body: { ...line.body, [field]: broken } }) : other)),
      )
      const report = await verifyTrace({ path, workers: 0 })
      expect(report.ok, field).toBe(false)
      expect(report.firstFailure?.line, field).toBe(index + 1)
    }
  })

  it('deleting, reordering, duplicating or inserting an entry', async () => {
    const { path } = await writeSampleTrace()
    const original = readLines(path)
    const entryIndexes = original.flatMap((text, i) => ((JSON.parse(text) as { type: string }).type === 'entry' ? [i] : []))
    const cases: [string, string[], number][] = []
    for (const i of entryIndexes.slice(1, -1)) {
      cases.push([`delete line ${i + 1}`, original.filter((_, j) => j !== i), i + 1])
      cases.push([`duplicate line ${i + 1}`, original.flatMap((t, j) => (j === i ? [t, t] : [t])), i + 2])
    }
    for (const [a, b] of entryIndexes.slice(1).map((i, k) => [entryIndexes[k] as number, i])) {
      const swapped = [...original]
      swapped[a as number] = original[b as number] as string
      swapped[b as number] = original[a as number] as string
      cases.push([`swap lines ${(a as number) + 1} and ${(b as number) + 1}`, swapped, (a as number) + 1])
    }
    // Insert an entry forged by another key with the right seq and prevHash.
    const victim = JSON.parse(original[1] as string) as TraceEntryLine
    const forged = { ...victim, agent: testSigner('mallory').address }
    cases.push(['insert forged entry', [original[0] as string, JSON.stringify(forged), ...original.slice(1)], 2])
    for (const [name, lines, line] of cases) {
      writeLines(path, lines)
      const report = await verifyTrace({ path, workers: 0 })
      expect(report.ok, name).toBe(false)
      expect(report.firstFailure?.line, `${name}: ${JSON.stringify(report.firstFailure)}`).toBe(line)
    }
  })

  it('truncating after a checkpoint (sidecar, trusted checkpoint, or the default completeness rule)', async () => {
    const { path } = await writeSampleTrace()
    const original = readLines(path)
    const finalCheckpoint = JSON.parse(original.at(-1) as string) as TraceCheckpointLine
    const firstCheckpointIndex = original.findIndex((text) => text.includes('"type":"checkpoint"'))
    writeLines(path, original.slice(0, firstCheckpointIndex + 1))
    const bySidecar = await verifyTrace({ path })
    expect(bySidecar.ok).toBe(false)
    expect(bySidecar.complete).toBe(false)
    expect(bySidecar.firstFailure).toMatchObject({ what: 'sidecar', field: 'size', seq: 9 })
    expect(bySidecar.firstFailure?.reason).toMatch(/truncated/)
    rmSync(traceCheckpointSidecarPath(path))
    const byTrusted = await verifyTrace({ path, trustedCheckpoints: [finalCheckpoint] })
    expect(byTrusted.firstFailure).toMatchObject({ what: 'trusted-checkpoint', field: 'size' })
    const byCompleteness = await verifyTrace({ path })
    expect(byCompleteness.failures).toContainEqual(expect.objectContaining({ field: 'run-end' }))
    const lenient = await verifyTrace({ path, allowIncomplete: true })
    expect(lenient.ok).toBe(true)
    expect(lenient.complete).toBe(false)
    expect(lenient.incomplete.map((problem) => problem.field)).toEqual(['run-end', 'sidecar'])
  })

  it('a rewritten history that matches no trusted checkpoint root', async () => {
    const { path } = await writeSampleTrace()
    const checkpoint = JSON.parse(readLines(path).at(-1) as string) as TraceCheckpointLine
    const other = temporaryDirectory()
    const { path: otherPath } = await writeSampleTrace(other)
    copyFileSync(otherPath, path)
    const report = await verifyTrace({ path, trustedCheckpoints: [{ ...checkpoint, origin: checkpoint.origin }] })
    expect(report.ok).toBe(false)
    expect(report.failures.some((failure) => failure.what === 'trusted-checkpoint' && failure.field === 'origin')).toBe(true)
    expect(report.failures.some((failure) => failure.what === 'sidecar')).toBe(true)
  })
})

function mutate(value: unknown, field: string): unknown {
  if (field === 'agent') return testSigner('mallory').address
  if (field === 'kind') return value === 'note' ? 'answer' : 'note'
  if (field === 'time') return '2000-01-01T00:00:00.000Z'
  if (typeof value === 'number') return value + 1
  if (typeof value === 'string') {
    const last = value.at(-1) as string
    return `${value.slice(0, -1)}${last === '0' ? '1' : '0'}`
  }
  if (value === null) return canonicalDigest('injected')
  if (Array.isArray(value)) return [...value, { type: 'receipt', digest: canonicalDigest('injected') }]
  if (typeof value === 'object') return { ...(value as object), injected: true }
  return 'injected'
}
