import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import { MODEL_DIR } from '../hub/files.js'
import { RISK_TASK, startTestDaemon, type TestDaemon } from './daemon-harness.js'

// A daemon agent definition whose tool names the bundled model by hub name: the daemon serves no
// model folders, so the only way to the package is its hub. The run proves with real EZKL.

const work = mkdtempSync(join(tmpdir(), 'verity-daemon-hub-agent-'))
const bundled = loadModelPackage({ dir: MODEL_DIR })
let daemon: TestDaemon

beforeAll(async () => {
  const hubDirectory = join(work, 'hub')
  const hub = await openHub({ dir: hubDirectory })
  await publishRelease({ hub, dir: MODEL_DIR, signer: createKeySigner({ privateKey: `0x${'42'.repeat(32)}` }) })
  daemon = await startTestDaemon({ hubDirectory, modelDirectories: [] })
}, 120_000)

afterAll(async () => {
  await daemon?.dispose()
  rmSync(work, { recursive: true, force: true })
})

describe('daemon agent definitions name a model by hub name', () => {
  it('a definition with tools: [hub:transaction-risk@1.0.0] runs, proves and writes a verified receipt of the bundled model', async () => {
    const token = daemon.token('alice', ['write:agent'])
    const created = await daemon.call('/v1/agents', {
      token,
      body: {
        kind: 'definition',
        name: 'hub-desk',
        definition: { tools: ['hub:transaction-risk@1.0.0'], proofs: 'require-verified' },
      },
    })
    expect(created.status).toBe(200)
    const started = await daemon.call('/v1/agents/hub-desk/runs', { token, body: { task: RISK_TASK } })
    expect(started.status).toBe(200)
    const { runId } = (await started.json()) as { runId: string }
    await daemon.services.agents.done(runId)
    const receipts = daemon.services.runs.receiptsDirectory(runId)
    const files = readdirSync(receipts).filter((name) => name.endsWith('.json') && !name.endsWith('.proof.json'))
    expect(files).toHaveLength(1)
    const receipt = JSON.parse(readFileSync(join(receipts, files[0] as string), 'utf8'))
    expect(receipt.status).toBe('verified')
    expect(receipt.model.digest).toBe(bundled.digest)
    const proof = new Uint8Array(readFileSync(join(receipts, (files[0] as string).replace(/\.json$/, '.proof.json'))))
    expect(verifyReceipt({ receipt, proof, package: bundled }).valid).toBe(true)
  }, 600_000)
})
