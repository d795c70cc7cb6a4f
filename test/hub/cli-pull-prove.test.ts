import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { createProverPool } from '../../src/proofs/prover-pool.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import { runVerifiableInference } from '../../src/proofs/verifiable-inference.js'
import { runVerity, spawnVerity } from '../e2e/run-process.js'
import { MODEL_DIR } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-cli-'))
const publisherEnvironment = {
  VERITY_HUB_HOME: join(work, 'publisher-hub'),
  VERITY_AGENT_HOME: join(work, 'publisher'),
  VERITY_PASSPHRASE: 'hub-cli-test-passphrase',
}
let serve: ChildProcess | undefined

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((resolve) => serve?.once('exit', resolve))
    serve.kill('SIGTERM')
    await exited
  }
  rmSync(work, { recursive: true, force: true })
})

function startServe(): Promise<{ url: string; token: string }> {
  serve = spawnVerity(['hub', 'serve', '--port', '0', '--json'], publisherEnvironment)
  return new Promise((resolve, reject) => {
    let out = ''
    serve?.stdout?.on('data', (chunk) => {
      out += chunk
      try {
        resolve(JSON.parse(out))
      } catch {}
    })
    serve?.stderr?.on('data', (chunk) => {
      out += chunk
    })
    serve?.once('exit', (code) => reject(new Error(`hub serve exited ${code}: ${out}`)))
  })
}

describe('verity hub: publish → serve → pull --from by name → prove and verify', () => {
  it('a pulled package loads, proves and verifies; the pulled release log checks out', async () => {
    const published = await runVerity(['hub', 'publish', MODEL_DIR, '--json'], publisherEnvironment)
    expect(published.stderr).toBe('')
    const { release } = JSON.parse(published.stdout) as { release: { id: string; packageCid: string; publisher: string } }
    const { url, token } = await startServe()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    const consumer = { VERITY_HUB_HOME: join(work, 'consumer-hub') }
    const to = join(work, 'pulled')
    const refused = await runVerity(['hub', 'pull', 'transaction-risk', '--from', url, '--to', to, '--json'], consumer)
    expect(refused.code).toBe(1) // no token
    const pulled = await runVerity(
      ['hub', 'pull', `${release.publisher}/transaction-risk@1.0.0`, '--from', url, '--token', token, '--to', to, '--json'],
      consumer,
    )
    expect(pulled.stderr).toBe('')
    expect(pulled.code).toBe(0)
    expect(JSON.parse(pulled.stdout).cid).toBe(release.packageCid)
    const log = await runVerity(['hub', 'log', 'transaction-risk', '--json'], consumer)
    expect(JSON.parse(log.stdout).entries[0].release.id).toBe(release.id)
    const verified = await runVerity(['hub', 'verify', to, '--json'], consumer)
    expect(JSON.parse(verified.stdout).cid).toBe(release.packageCid)

    const model = loadModelPackage({ dir: to, cacheDir: join(work, 'pk-cache') })
    const pool = createProverPool({ workers: 1 })
    try {
      const run = await runVerifiableInference({ package: model, input: [[1.2, 23, 0.8, 5, 1, 1]], pool })
      const settled = await run.settled
      expect(settled?.receipt.status).toBe('verified')
      expect(verifyReceipt({ receipt: settled?.receipt, proof: settled?.proof as Uint8Array, package: model }).valid).toBe(true)
    } finally {
      await pool.close()
    }
  }, 600_000)
})
