import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEther } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectChain } from '../../src/chain/chain-client.js'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { runVerity } from '../e2e/run-process.js'
import { temporaryDirectory, writeSampleTrace } from '../trace/helpers.js'
import { DEMO_MODEL_DIR, DEV_KEYS, demoModel, type ProvenDemo, provenDemo, startHardhatNode } from './helpers.js'

function errorJson(stderr: string): { code: string; shortMessage: string; meta?: Record<string, unknown> } {
  return (JSON.parse(stderr.slice(stderr.indexOf('{\n'))) as { error: { code: string; shortMessage: string } }).error
}

describe('verity chain (CLI against a hardhat node process)', { timeout: 600_000 }, () => {
  let node: { rpc: string; stop(): Promise<void> }
  let demo: ProvenDemo
  const home = temporaryDirectory('verity-chain-home-') // no keystore: the node's unlocked account signs
  beforeAll(async () => {
    demo = await provenDemo('low')
    node = await startHardhatNode()
  }, 300_000)
  afterAll(async () => node?.stop())

  it('deploys a TraceAnchor, anchors a real trace, verifies it consistent and names a truncated copy', async () => {
    const environment = { VERITY_AGENT_HOME: home }
    const deployed = await runVerity(['chain', 'deploy', 'TraceAnchor', '--rpc', node.rpc, '--json'], environment)
    expect(deployed.code, deployed.stderr).toBe(0)
    const { address } = JSON.parse(deployed.stdout) as { address: string }

    const { path } = await writeSampleTrace()
    const anchored = await runVerity(['trace', 'anchor', path, '--anchor', address, '--rpc', node.rpc, '--json'], environment)
    expect(anchored.code, anchored.stderr).toBe(0)
    expect(JSON.parse(anchored.stdout)).toMatchObject({ size: 9 })

    const verified = await runVerity(
      ['chain', 'verify-trace', path, '--anchored', address, '--rpc', node.rpc, '--json'],
      environment,
    )
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ status: 'consistent', ok: true })

    const truncated = join(temporaryDirectory(), 'cut.trace.jsonl')
    writeFileSync(truncated, `${readFileSync(path, 'utf8').split('\n').slice(0, 4).join('\n')}\n`)
    const cut = await runVerity(
      ['chain', 'verify-trace', truncated, '--anchored', address, '--rpc', node.rpc, '--json'],
      environment,
    )
    expect(cut.code).toBe(1)
    expect(errorJson(cut.stderr)).toMatchObject({ code: 'VERITY_TRACE_VERIFICATION', meta: { status: 'truncated' } })

    const again = await runVerity(['chain', 'anchor', path, '--anchor', address, '--rpc', node.rpc, '--json'], environment)
    expect(again.code).toBe(1)
    expect(errorJson(again.stderr).shortMessage).toMatch(/SizeMustGrow\(9, 9\)/)
  })

  it('signs with the agent keystore of --home when it has one', async () => {
    const keyHome = temporaryDirectory('verity-chain-keyhome-')
    const passphrase = 'chain test passphrase'
    const identity = await createAgentIdentity({ home: keyHome, passphrase, scrypt: { N: 1024 } })
    const funder = await connectChain({ rpc: node.rpc, privateKey: DEV_KEYS[3] })
    await (await funder.signer.sendTransaction({ to: identity.address, value: parseEther('1') })).wait()
    await funder.close()
    const deployed = await runVerity(['chain', 'deploy', 'ModelRegistry', '--rpc', node.rpc, '--home', keyHome, '--json'], {
      VERITY_PASSPHRASE: passphrase,
    })
    expect(deployed.code, deployed.stderr).toBe(0)
    expect(JSON.parse(deployed.stdout).from).toBe(identity.address)
    const wrong = await runVerity(['chain', 'deploy', 'ModelRegistry', '--rpc', node.rpc, '--home', keyHome, '--json'], {
      VERITY_PASSPHRASE: 'not the passphrase',
    })
    expect(wrong.code).toBe(1)
    expect(errorJson(wrong.stderr).code).toBe('VERITY_CHAIN')
  })

  it('deploys the package verifier, records it in the manifest (digest unchanged), and verifies the receipt on chain', async () => {
    const environment = { VERITY_AGENT_HOME: home }
    const packageDir = join(temporaryDirectory('verity-chain-pkg-'), 'transaction-risk')
    cpSync(DEMO_MODEL_DIR, packageDir, { recursive: true })
    const deployed = await runVerity(['chain', 'verifier', packageDir, '--rpc', node.rpc, '--json'], environment)
    expect(deployed.code, deployed.stderr).toBe(0)
    const deployment = JSON.parse(deployed.stdout) as { verifier: string; bytecodeDigest: string; recorded: boolean }
    expect(deployment.recorded).toBe(true)
    const reloaded = loadModelPackage({ dir: packageDir })
    expect(reloaded.digest).toBe(demoModel().digest)
    expect(reloaded.manifest.evm?.[0]).toMatchObject({ chainId: '31337', verifier: deployment.verifier, reusable: false })

    const receiptPath = join(temporaryDirectory(), 'risk.json')
    writeFileSync(receiptPath, JSON.stringify(demo.receipt))
    writeFileSync(receiptPath.replace(/\.json$/, '.proof.json'), demo.proof)
    const args = [
      'chain',
      'verify',
      receiptPath,
      '--on-chain',
      deployment.verifier,
      '--model',
      packageDir,
      '--rpc',
      node.rpc,
      '--json',
    ]
    const verified = await runVerity(args, environment)
    expect(verified.code, verified.stderr).toBe(0)
    expect(Number(JSON.parse(verified.stdout).gas)).toBeGreaterThan(200_000)

    writeFileSync(receiptPath, JSON.stringify({ ...demo.receipt, output: [[0.5]] }))
    const lie = await runVerity(args, environment)
    expect(lie.code).toBe(1)
    expect(errorJson(lie.stderr).code).toBe('VERITY_PROOF')
  })
})
