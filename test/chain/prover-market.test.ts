import { Contract, parseEther } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChainClient, chainErrorFrom } from '../../src/chain/chain-client.js'
import { digestToBytes32 } from '../../src/chain/model-registry.js'
import { type ProvingJob, postProvingJob, refundProvingJob, submitProof, withdrawPayment } from '../../src/chain/prover-market.js'
import { proofCalldata } from '../../src/chain/verify-on-chain.js'
import { deployVerityContract } from '../../src/chain/verity-contracts.js'
import { changeProofByte, demoModel, increaseTime, NETWORKS, openNetworkWithVerifier, provenDemoFixture } from './helpers.js'
import { expectRevert } from './revert.js'

const model = demoModel()
const proven = provenDemoFixture()

for (const network of NETWORKS) {
  describe(`ProverMarket on ${network}`, { timeout: 300_000 }, () => {
    let poster: ChainClient
    let prover: ChainClient
    let close: () => Promise<void>
    let market: Contract
    let verifier: string
    const as = (client: ChainClient, contract: Contract) =>
      new Contract(contract.target as string, contract.interface, client.signer)
    const now = async () => Number((await poster.provider.getBlock('latest'))?.timestamp)
    const jobFor = async (overrides: Partial<ProvingJob> = {}): Promise<ProvingJob> => ({
      modelId: digestToBytes32(model.digest),
      verifier,
      inputCommitment: digestToBytes32(proven.demo.receipt.input.commitment),
      expectedInstances: proofCalldata(proven.demo.proof).instances,
      bounty: parseEther('0.25'),
      deadline: (await now()) + 3600,
      ...overrides,
    })
    beforeAll(async () => {
      const opened = await openNetworkWithVerifier(network, 2, proven.rendered)
      ;[poster, prover] = opened.clients as [ChainClient, ChainClient]
      ;({ close, verifier } = opened)
      market = (await deployVerityContract({ client: poster, name: 'ProverMarket' })).contract
    }, 240_000)
    afterAll(async () => close?.())

    it('pays the prover of a valid proof (pull payment), pays nothing for an invalid or mismatched one', async () => {
      const { jobId } = await postProvingJob({ market, job: await jobFor() })
      const proverMarket = as(prover, market)
      await expectRevert(
        submitProof({ market: proverMarket, jobId, proof: changeProofByte(proven.demo.proof, 500) }),
        /InvalidProof/,
      )
      await expectRevert(submitProof({ market: proverMarket, jobId, proof: proven.high.proof }), /WrongInstances/)
      expect(await market.getFunction('owed')(prover.address, '0x0000000000000000000000000000000000000000')).toBe(0n)

      const settled = await submitProof({ market: proverMarket, jobId, proof: proven.demo.proof })
      expect(settled.gasUsed).toBeGreaterThan(300_000n)
      await expectRevert(submitProof({ market: proverMarket, jobId, proof: proven.demo.proof }), /JobNotOpen/)
      await expectRevert(refundProvingJob({ market, jobId }), /JobNotOpen/)
      const before = await poster.provider.getBalance(prover.address)
      const withdrawal = await withdrawPayment({ market: proverMarket })
      const fee = withdrawal.gasUsed * ((await poster.provider.getTransactionReceipt(withdrawal.hash))?.gasPrice ?? 0n)
      expect((await poster.provider.getBalance(prover.address)) - before + fee).toBe(parseEther('0.25'))
      await expectRevert(withdrawPayment({ market: proverMarket }), /NothingOwed/)
      expect((await market.getFunction('job')(jobId)).prover).toBe(prover.address)
    })

    it('refuses a late proof and refunds the poster after the deadline, not before', async () => {
      const { jobId } = await postProvingJob({ market, job: await jobFor({ expectedInstances: undefined }) })
      await expectRevert(refundProvingJob({ market, jobId }), /DeadlineNotPassed/)
      await increaseTime(poster, 3700)
      await expectRevert(submitProof({ market: as(prover, market), jobId, proof: proven.demo.proof }), /DeadlinePassed/)
      await refundProvingJob({ market: as(prover, market), jobId })
      expect(await market.getFunction('owed')(poster.address, '0x0000000000000000000000000000000000000000')).toBe(
        parseEther('0.25'),
      )
      await expectRevert(refundProvingJob({ market, jobId }), /JobNotOpen/)
      await withdrawPayment({ market })
      await expectRevert(refundProvingJob({ market, jobId: 999n }), /NoSuchJob\(999\)/)
      await expectRevert(submitProof({ market, jobId: 999n, proof: proven.demo.proof }), /NoSuchJob\(999\)/)
    })

    it('escrows an ERC-20 bounty and pays it out; refuses bad bounties and past deadlines', async () => {
      const token = (await deployVerityContract({ client: poster, name: 'BountyToken' })).contract
      const tokenAddress = await token.getAddress()
      await (await token.getFunction('mint')(poster.address, 1000n)).wait()
      await expectRevert(postProvingJob({ market, job: await jobFor({ token: tokenAddress, bounty: 100n }) }), /allowance/)
      await (await token.getFunction('approve')(await market.getAddress(), 100n)).wait()
      const { jobId } = await postProvingJob({ market, job: await jobFor({ token: tokenAddress, bounty: 100n }) })
      expect(await token.getFunction('balanceOf')(await market.getAddress())).toBe(100n)
      await submitProof({ market: as(prover, market), jobId, proof: proven.demo.proof })
      await withdrawPayment({ market: as(prover, market), token: tokenAddress })
      expect(await token.getFunction('balanceOf')(prover.address)).toBe(100n)

      // a token that reports failure instead of reverting: nothing is escrowed, nothing is paid out
      await (await token.getFunction('approve')(await market.getAddress(), 200n)).wait()
      const { jobId: second } = await postProvingJob({ market, job: await jobFor({ token: tokenAddress, bounty: 100n }) })
      await submitProof({ market: as(prover, market), jobId: second, proof: proven.demo.proof })
      await (await token.getFunction('setFailing')(true)).wait()
      await expectRevert(withdrawPayment({ market: as(prover, market), token: tokenAddress }), /TransferFailed/)
      expect(await market.getFunction('owed')(prover.address, tokenAddress)).toBe(100n)
      await expectRevert(postProvingJob({ market, job: await jobFor({ token: tokenAddress, bounty: 100n }) }), /TransferFailed/)
      await (await token.getFunction('setFailing')(false)).wait()

      await expectRevert(postProvingJob({ market, job: await jobFor({ deadline: (await now()) - 1 }) }), /DeadlinePassed/)
      const request = async (value: bigint, overrides: Record<string, unknown> = {}) => {
        const job = await jobFor()
        return market
          .getFunction('postJob')(
            {
              modelId: job.modelId,
              verifier: job.verifier,
              vk: '0x0000000000000000000000000000000000000000',
              inputCommitment: job.inputCommitment,
              instancesHash: `0x${'00'.repeat(32)}`,
              token: '0x0000000000000000000000000000000000000000',
              bounty: job.bounty,
              deadline: job.deadline,
              ...overrides,
            },
            { value },
          )
          .catch((error: unknown) => {
            throw chainErrorFrom(error, market.interface, 'post')
          })
      }
      await expectRevert(request(parseEther('0.1')), /BadBounty/)
      await expectRevert(request(0n, { bounty: 0n }), /BadBounty/)
      await expectRevert(request(parseEther('0.25'), { verifier: '0x0000000000000000000000000000000000000000' }), /BadBounty/)
      await expectRevert(request(1n, { token: tokenAddress }), /BadBounty/)
    })

    it('is reentrancy-safe: a prover contract re-entering withdraw from receive() is stopped', async () => {
      const attacker = (
        await deployVerityContract({ client: prover, name: 'ReentrantProver', args: [await market.getAddress()] })
      ).contract
      const { jobId } = await postProvingJob({ market, job: await jobFor() })
      const calldata = proofCalldata(proven.demo.proof)
      await (await attacker.getFunction('submit')(jobId, calldata.proof, calldata.instances)).wait()
      const marketBalance = await poster.provider.getBalance(await market.getAddress())
      await (await attacker.getFunction('withdraw')()).wait()
      expect(await attacker.getFunction('reentered')()).toBe(1n)
      expect(await attacker.getFunction('reentryBlocked')()).toBe(true)
      expect(await poster.provider.getBalance(await attacker.getAddress())).toBe(parseEther('0.25'))
      expect(marketBalance - (await poster.provider.getBalance(await market.getAddress()))).toBe(parseEther('0.25'))
    })
  })
}
