import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import { runVerity } from '../e2e/run-process.js'

// `verity infer --model NAME|CID --hub DIR`: the bundled model published into a temp hub with the
// CLI, then run and proven by its hub name and by its CID; an unknown name is a typed error.

const MODEL_DIR = resolve(import.meta.dirname, '../../models/transaction-risk')
const work = mkdtempSync(join(tmpdir(), 'verity-infer-hub-'))
const hubDir = join(work, 'hub')
const environment = { VERITY_AGENT_HOME: join(work, 'publisher'), VERITY_PASSPHRASE: 'infer hub cli passphrase' }
const input = join(work, 'input.json')
const bundled = loadModelPackage({ dir: MODEL_DIR })
let packageCid: string

beforeAll(async () => {
  writeFileSync(input, JSON.stringify({ amount_k: 2.4, hour: 3, merchant_risk: 0.8, velocity_1h: 5, foreign: 1, new_device: 1 }))
  const published = await runVerity(['hub', 'publish', MODEL_DIR, '--hub', hubDir, '--json'], environment)
  expect(published.code, published.stderr).toBe(0)
  packageCid = (JSON.parse(published.stdout) as { release: { packageCid: string } }).release.packageCid
}, 120_000)
afterAll(() => rmSync(work, { recursive: true, force: true }))

function errorOf(stderr: string): { code: string; hint?: string } {
  return (JSON.parse(stderr.slice(stderr.indexOf('{'))) as { error: { code: string; hint?: string } }).error
}

describe('verity infer --model NAME|CID --hub DIR', () => {
  it('proves the model named by hub name and by CID; the receipts verify and name the bundled model', async () => {
    for (const [label, reference] of [
      ['name', 'transaction-risk@1.0.0'],
      ['cid', packageCid],
    ] as const) {
      const receiptPath = join(work, `${label}-receipt.json`)
      const run = await runVerity(
        ['infer', '--model', reference, '--hub', hubDir, '--input', input, '--prove', '--receipt', receiptPath, '--json'],
        environment,
      )
      expect(run.code, run.stderr).toBe(0)
      const result = JSON.parse(run.stdout) as {
        receipt: { status: string; model: { digest: string } }
        files: { proof: string }
      }
      expect(result.receipt.status).toBe('verified')
      expect(result.receipt.model.digest).toBe(bundled.digest)
      const receipt = JSON.parse(readFileSync(receiptPath, 'utf8'))
      const proof = new Uint8Array(readFileSync(result.files.proof))
      expect(verifyReceipt({ receipt, proof, package: bundled }).valid).toBe(true)
    }
  }, 600_000)

  it('a name the hub has no release of exits 1 with ModelNotInHubError and the `verity hub pull` hint', async () => {
    const run = await runVerity(['infer', '--model', 'no-such-model', '--hub', hubDir, '--input', input, '--json'], environment)
    expect(run.code).toBe(1)
    const error = errorOf(run.stderr)
    expect(error.code).toBe('VERITY_MODEL_NOT_IN_HUB')
    expect(error.hint).toMatch(/verity hub pull no-such-model/)
    const both = await runVerity(['infer', MODEL_DIR, '--model', packageCid, '--hub', hubDir, '--input', input, '--json'])
    expect(both.code).toBe(1)
    expect(errorOf(both.stderr).code).toBe('VERITY_INVALID_INPUT')
  }, 120_000)
})
