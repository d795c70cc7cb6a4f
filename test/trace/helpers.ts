import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { utf8ToBytes } from '../../src/crypto/bytes.js'
import { canonicalDigest } from '../../src/crypto/canonical-json.js'
import { type AgentSigner, createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { openTrace } from '../../src/trace/open-trace.js'

/** A deterministic signer for tests. */
export function testSigner(name: string): AgentSigner {
  return createKeySigner({ privateKey: keccak_256(utf8ToBytes(`verity test key ${name}`)) })
}

export function temporaryDirectory(prefix = 'verity-trace-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export const receiptDigest = canonicalDigest({ receipt: 'model output 42' })

/**
 * A small but complete trace covering every entry kind, a blob body, a private body,
 * a receipt, a receipt-proven entry and checkpoints every 4 entries.
 */
export async function writeSampleTrace(directory = temporaryDirectory()): Promise<{ path: string; signer: AgentSigner }> {
  const path = join(directory, 'run.trace.jsonl')
  const signer = testSigner('alice')
  const trace = await openTrace({ path, signer, checkpointInterval: 4, metadata: { purpose: 'sample' } })
  await trace.append({
    kind: 'model-call',
    inputDigest: canonicalDigest('prompt'),
    body: { model: 'scripted', prompt: 'What is 6 x 7?' },
  })
  await trace.append({ kind: 'tool-call', body: { tool: 'calculator', toolCallId: 'c1', args: { a: 6, b: 7 } } })
  await trace.append({
    kind: 'tool-result',
    outputDigest: receiptDigest,
    refs: [{ type: 'receipt', digest: receiptDigest }],
    body: { tool: 'calculator', toolCallId: 'c1', content: '42' },
  })
  await trace.append({
    kind: 'memory-read',
    refs: [{ type: 'memory', digest: canonicalDigest('m1') }],
    body: { query: 'x'.repeat(5000) },
  })
  await trace.append({ kind: 'memory-write', body: { secret: 'private note' }, private: true })
  await trace.recordReceiptProven({ forSeq: 3, receiptDigest })
  await trace.append({ kind: 'answer', body: { text: '42' } })
  await trace.end({ body: { status: 'ok' } })
  return { path, signer }
}

export function readLines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
}

export function writeLines(path: string, lines: string[]): void {
  writeFileSync(path, lines.map((line) => `${line}\n`).join(''))
}
