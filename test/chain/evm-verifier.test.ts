import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChainClient } from '../../src/chain/chain-client.js'
import { compileEvmVerifier, deployVerifier, type RenderedEvmVerifier, renderEvmVerifier } from '../../src/chain/evm-verifier.js'
import { encodeVerifierCalldata, proofCalldata, verifyOnChain } from '../../src/chain/verify-on-chain.js'
import { digest } from '../../src/crypto/digest.js'
import { findToolchain, runToolchain } from '../../src/proofs/toolchain.js'
import { changeProofByte, demoModel, NETWORKS, openNetwork, type ProvenDemo, provenDemo } from './helpers.js'

/** The proof file claiming another output: its last instance (the risk) plus one fixed-point step. */
function changeOutput(proof: Uint8Array): Uint8Array {
  const parsed = JSON.parse(new TextDecoder().decode(proof)) as { instances: string[][] }
  const last = parsed.instances[0] as string[]
  const felt = last[last.length - 1] as string
  const bumped = ((Number.parseInt(felt.slice(0, 2), 16) + 1) % 256).toString(16).padStart(2, '0') + felt.slice(2)
  last[last.length - 1] = bumped
  return new TextEncoder().encode(JSON.stringify(parsed))
}

let demo: ProvenDemo
let perModel: RenderedEvmVerifier
let reusable: RenderedEvmVerifier
const model = demoModel()
const outputOptions = { outputScales: model.manifest.ezkl.outputScales, outputSizes: [1] }

beforeAll(async () => {
  demo = await provenDemo('low')
  perModel = await renderEvmVerifier({ package: model })
  reusable = await renderEvmVerifier({ package: model, reusable: true })
  compileEvmVerifier(perModel)
  compileEvmVerifier(reusable)
}, 600_000)

describe('rendering', () => {
  it('renders the per-model verifier, and the reusable verifier plus a VK artifact, with ezkl 21', () => {
    expect(perModel.verifier.source).toContain('contract Halo2Verifier ')
    expect(perModel.artifact).toBeUndefined()
    expect(reusable.verifier.source).toContain('contract Halo2VerifierReusable')
    expect(reusable.artifact?.source).toContain('contract Halo2VerifyingArtifact')
  })

  it('encodes the same calldata as ezkl encode_evm_calldata, per-model and reusable', async () => {
    const proofPath = join(mkdtempSync(join(tmpdir(), 'verity-calldata-')), 'proof.json')
    writeFileSync(proofPath, demo.proof)
    const toolchain = await findToolchain()
    const vk = '0x1111111111111111111111111111111111111111'
    const perModelCalldata = await runToolchain(toolchain, { command: 'evm-calldata', proof: proofPath, vk: null })
    const reusableCalldata = await runToolchain(toolchain, { command: 'evm-calldata', proof: proofPath, vk })
    expect(encodeVerifierCalldata(proofCalldata(demo.proof))).toBe(perModelCalldata.calldata)
    expect(encodeVerifierCalldata({ ...proofCalldata(demo.proof), vk })).toBe(reusableCalldata.calldata)
  })

  it('reads the calldata of the proof: the EVM proof bytes and the instance that is the receipt output at scale 2^7', () => {
    const { proof, instances } = proofCalldata(demo.proof)
    expect(proof).toMatch(/^0x[0-9a-f]+$/)
    expect(instances).toHaveLength(1)
    expect(Number(instances[0]) / 2 ** 7).toBe(demo.receipt.output[0]?.[0])
  })
})

for (const network of NETWORKS) {
  describe(`on ${network}`, { timeout: 600_000 }, () => {
    let client: ChainClient
    let close: () => Promise<void>
    beforeAll(async () => {
      const opened = await openNetwork(network, 1)
      client = opened.clients[0] as ChainClient
      close = opened.close
    }, 120_000)
    afterAll(async () => close?.())

    it('a per-model verifier accepts the demo receipt and refuses a changed proof byte or output', async () => {
      const deployment = await deployVerifier({ client, package: model, rendered: perModel })
      expect(deployment.reusable).toBe(false)
      expect(deployment.bytecodeDigest).toBe(
        digest(Buffer.from(compileEvmVerifier(perModel).verifier.deployedBytecode.slice(2), 'hex')),
      )
      expect(deployment.verifierDeployment?.gasUsed).toBeGreaterThan(1_000_000n)

      const good = await verifyOnChain({
        client,
        verifier: deployment.verifier,
        proof: demo.proof,
        receipt: demo.receipt,
        ...outputOptions,
      })
      expect(good).toMatchObject({ valid: true, verifierResult: true })
      expect(good.gas).toBeGreaterThan(200_000n)

      for (const position of [40, 700, 2000]) {
        const bad = await verifyOnChain({ client, verifier: deployment.verifier, proof: changeProofByte(demo.proof, position) })
        expect(bad.valid).toBe(false)
        expect(bad.reason).toMatch(/rejected|false/)
      }
      const otherOutput = await verifyOnChain({ client, verifier: deployment.verifier, proof: changeOutput(demo.proof) })
      expect(otherOutput.valid).toBe(false)

      const relabelled = { ...demo.receipt, output: [[0.0078125]] }
      const lie = await verifyOnChain({
        client,
        verifier: deployment.verifier,
        proof: demo.proof,
        receipt: relabelled,
        ...outputOptions,
      })
      expect(lie.verifierResult).toBe(true)
      expect(lie.valid).toBe(false)
      expect(lie.reason).toMatch(/the proof attests/)
    })

    it('one reusable verifier serves the model through its VK artifact; a wrong artifact is refused', async () => {
      const first = await deployVerifier({ client, package: model, rendered: reusable })
      expect(first.reusable).toBe(true)
      expect(first.vk).toMatch(/^0x/)
      const good = await verifyOnChain({ client, verifier: first.verifier, vk: first.vk, proof: demo.proof })
      expect(good.valid).toBe(true)
      // a second model's artifact plugs into the same verifier: only the artifact is deployed
      const second = await deployVerifier({ client, package: model, rendered: reusable, reusableVerifier: first.verifier })
      expect(second.verifier).toBe(first.verifier)
      expect(second.verifierDeployment).toBeUndefined()
      expect((await verifyOnChain({ client, verifier: second.verifier, vk: second.vk, proof: demo.proof })).valid).toBe(true)
      // the verifier itself is not an artifact: using it as the VK fails
      const wrong = await verifyOnChain({ client, verifier: first.verifier, vk: first.verifier, proof: demo.proof })
      expect(wrong.valid).toBe(false)
      const bad = await verifyOnChain({ client, verifier: first.verifier, vk: first.vk, proof: changeProofByte(demo.proof, 100) })
      expect(bad.valid).toBe(false)
    })
  })
}
