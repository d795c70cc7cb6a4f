import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { ROOT, runVerity } from '../e2e/run-process.js'

// `verity agent run SCRIPT --hub DIR`: the script names the bundled model by CID (and by hub name)
// through context.modelResolver() and proves a call with real EZKL.

const MODEL_DIR = resolve(import.meta.dirname, '../../models/transaction-risk')
const work = mkdtempSync(join(tmpdir(), 'verity-agent-run-hub-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const SCRIPT = `
import { createProver } from '${join(ROOT, 'src/proofs/create-prover.js')}'
import { createProvenTool } from '${join(ROOT, 'src/tools/create-proven-tool.js')}'
export default async function (context) {
  const prover = await createProver({ workers: 1 })
  try {
    let settle
    const settled = new Promise((resolve) => { settle = resolve })
    const tool = await createProvenTool({ model: context.args[0], resolver: context.modelResolver(), prover, onSettled: settle })
    await tool.invoke({ amount_k: 2.4, hour: 3, merchant_risk: 0.8, velocity_1h: 5, foreign: 1, new_device: 1 })
    const { receipt } = await settled
    return { cid: tool.modelCid, digest: receipt.model.digest, status: receipt.status }
  } finally {
    await prover.close()
  }
}
`

describe('verity agent run --hub: a script names a model by hub name or CID', () => {
  it('context.modelResolver() resolves the CID and the name; the call proves and names the bundled digest', async () => {
    const hubDir = join(work, 'hub')
    const { release } = await publishRelease({
      hub: await openHub({ dir: hubDir }),
      dir: MODEL_DIR,
      signer: createKeySigner({ privateKey: `0x${'42'.repeat(32)}` }),
    })
    const script = join(work, 'hub-agent.mjs')
    writeFileSync(script, SCRIPT)
    const environment = { VERITY_PASSPHRASE: 'agent run hub passphrase' }
    for (const reference of [release.packageCid, 'hub:transaction-risk@1.0.0']) {
      const run = await runVerity(
        ['agent', 'run', script, reference, '--hub', hubDir, '--home', join(work, 'home'), '--json'],
        environment,
      )
      expect(run.code, run.stderr).toBe(0)
      const { result } = JSON.parse(run.stdout) as { result: { cid: string; digest: string; status: string } }
      expect(result).toEqual({ cid: release.packageCid, digest: loadModelPackage({ dir: MODEL_DIR }).digest, status: 'verified' })
    }
  }, 600_000)
})
