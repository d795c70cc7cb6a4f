import { type Contract, keccak256, parseEther } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChainClient, chainErrorFrom } from '../../src/chain/chain-client.js'
import { deployVerifier } from '../../src/chain/evm-verifier.js'
import { fixedPoint, releasePayment, requestPayment } from '../../src/chain/risk-gate.js'
import { proofCalldata } from '../../src/chain/verify-on-chain.js'
import { deployVerityContract } from '../../src/chain/verity-contracts.js'
import { FIELD_MODULUS } from '../../src/proofs/field.js'
import { changeProofByte, demoModel, NETWORKS, openNetworkWithVerifier, provenDemoFixture } from './helpers.js'
import { expectRevert } from './revert.js'

const model = demoModel()
const scale = model.manifest.ezkl.outputScales[0] as number
const proven = provenDemoFixture()

for (const network of NETWORKS) {
  describe(`RiskGate on ${network}`, { timeout: 300_000 }, () => {
    let payer: ChainClient
    let merchant: ChainClient
    let close: () => Promise<void>
    let gate: Contract
    let strictGate: Contract
    beforeAll(async () => {
      const opened = await openNetworkWithVerifier(network, 2, proven.rendered)
      ;[payer, merchant] = opened.clients as [ChainClient, ChainClient]
      close = opened.close
      const { verifier } = opened
      gate = (await deployVerityContract({ client: payer, name: 'RiskGate', args: [verifier, fixedPoint(0.5, scale)] })).contract
      strictGate = (await deployVerityContract({ client: payer, name: 'RiskGate', args: [verifier, fixedPoint(0.02, scale)] }))
        .contract
    }, 240_000)
    afterAll(async () => close?.())

    it('decodes the fixed-point risk from the proof instances exactly as the receipt states it', async () => {
      const { instances } = proofCalldata(proven.demo.proof)
      const risk = (await gate.getFunction('decode')(instances.at(-1))) as bigint
      expect(Number(risk) / 2 ** scale).toBe(proven.demo.receipt.output[0]?.[0])
      expect(await gate.getFunction('decode')(FIELD_MODULUS - 5n)).toBe(-5n)
      expect(await gate.getFunction('decode')(FIELD_MODULUS / 2n)).toBe(FIELD_MODULUS / 2n)
      await expectRevert(
        gate
          .getFunction('decode')(FIELD_MODULUS)
          .catch((error: unknown) => {
            throw chainErrorFrom(error, gate.interface, 'decode')
          }),
        /not a field element/,
      )
    })

    it('releases an escrowed payment with a valid low-risk proof, once; refuses every other case', async () => {
      const value = parseEther('1.5')
      const { id } = await requestPayment({ gate, to: merchant.address, value })
      const before = await payer.provider.getBalance(merchant.address)
      const released = await releasePayment({ gate, id, proof: proven.demo.proof })
      expect(released.gasUsed).toBeGreaterThan(300_000n)
      expect((await payer.provider.getBalance(merchant.address)) - before).toBe(value)

      await expectRevert(releasePayment({ gate, id, proof: proven.demo.proof }), /already released/)
      const { id: second } = await requestPayment({ gate, to: merchant.address, value })
      await expectRevert(releasePayment({ gate, id: second, proof: proven.demo.proof }), /proof already used/)
      await expectRevert(releasePayment({ gate, id: second, proof: changeProofByte(proven.demo.proof, 300) }), /invalid proof/)
      await expectRevert(releasePayment({ gate, id: 99n, proof: proven.demo.proof }), /no such payment/)
      const calldata = proofCalldata(proven.demo.proof)
      await expectRevert(
        gate
          .getFunction('release')(second, calldata.proof, [])
          .catch((error: unknown) => {
            throw chainErrorFrom(error, gate.interface, 'release')
          }),
        /no public output/,
      )
      // an unused proof of a high risk, relabelled with risk 0: the verifier refuses it
      const highCalldata = proofCalldata(proven.high.proof)
      expect(highCalldata.instances.at(-1)).toBeGreaterThan(fixedPoint(0.5, scale))
      await expectRevert(
        gate
          .getFunction('release')(second, highCalldata.proof, [0n])
          .catch((error: unknown) => {
            throw chainErrorFrom(error, gate.interface, 'release')
          }),
        /invalid proof/,
      )
      expect((await gate.getFunction('payments')(second)).released).toBe(false)
    })

    it('refuses a valid proof whose risk is above the threshold, and a recipient that cannot be paid', async () => {
      const { id } = await requestPayment({ gate: strictGate, to: merchant.address, value: 1000n })
      await expectRevert(releasePayment({ gate: strictGate, id, proof: proven.demo.proof }), /risk above threshold/)
      await expectRevert(
        releasePayment({
          gate,
          id: (await requestPayment({ gate, to: merchant.address, value: 1n })).id,
          proof: proven.high.proof,
        }),
        /risk above threshold/,
      )
      // a contract without receive() as recipient: the whole release reverts, the proof stays unused
      const { verifier } = await deployVerifier({ client: payer, package: model, rendered: proven.rendered })
      const other = (await deployVerityContract({ client: payer, name: 'RiskGate', args: [verifier, fixedPoint(0.5, scale)] }))
        .contract
      const { id: stuck } = await requestPayment({ gate: other, to: await strictGate.getAddress(), value: 1000n })
      await expectRevert(releasePayment({ gate: other, id: stuck, proof: proven.demo.proof }), /payment failed/)
      expect(await other.getFunction('usedProofs')(keccak256(proofCalldata(proven.demo.proof).proof))).toBe(false)
    })
  })
}
