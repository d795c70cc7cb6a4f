/**
 * Gas of Verity's contracts on Hardhat's in-process EVM (same gas as any EVM at the Cancun rules): deploying the EZKL
 * verifier per model vs the reusable verifier + a VK artifact, verifying one transaction-risk proof both ways, anchoring
 * one checkpoint vs 100 agents' checkpoints in one batch (per-agent cost), registering a model version, and posting +
 * settling a ProverMarket job. Baseline: a plain ETH transfer (21 000 gas) in the same run.
 *
 * Scale: VERITY_BENCH_CHAIN_AGENTS (default 100).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { parseEther } from 'ethers'
import { connectChain, sendTransaction } from '../src/chain/chain-client.js'
import { deployVerifier, renderEvmVerifier } from '../src/chain/evm-verifier.js'
import { digestToBytes32, registerModel } from '../src/chain/model-registry.js'
import { postProvingJob, submitProof, withdrawPayment } from '../src/chain/prover-market.js'
import { fixedPoint, releasePayment, requestPayment } from '../src/chain/risk-gate.js'
import {
  type AnchorableCheckpoint,
  anchorCheckpoint,
  anchorCheckpointBatch,
  latestCheckpoint,
} from '../src/chain/trace-anchor.js'
import { verifyOnChain } from '../src/chain/verify-on-chain.js'
import { deployVerityContract } from '../src/chain/verity-contracts.js'
import { utf8ToBytes } from '../src/crypto/bytes.js'
import { digest } from '../src/crypto/digest.js'
import { createKeySigner } from '../src/identity/secp256k1-signer.js'
import { loadModelPackage } from '../src/proofs/model-package.js'
import { createProverPool } from '../src/proofs/prover-pool.js'
import { runVerifiableInference } from '../src/proofs/verifiable-inference.js'
import { openTrace } from '../src/trace/open-trace.js'
import { type BenchmarkReport, machine, metric, rssSampler } from './lib/measure.js'

const AGENTS = Number(process.env.VERITY_BENCH_CHAIN_AGENTS ?? 100)

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const startedAt = new Date().toISOString()
  const directory = mkdtempSync(join(tmpdir(), 'verity-bench-chain-'))
  const model = loadModelPackage({ dir: join(import.meta.dirname, '..', 'models', 'transaction-risk') })
  const pool = createProverPool({ workers: 1 })
  const client = await connectChain()
  try {
    const run = await runVerifiableInference({ package: model, input: [[0.12, 14, 0.1, 1, 0, 0]], pool })
    const settled = await run.settled
    if (!settled?.proof) throw new Error('proving failed')
    const proof = settled.proof

    const transfer = await sendTransaction(
      () => client.signer.sendTransaction({ to: '0x000000000000000000000000000000000000dEaD', value: 1n }) as never,
      undefined,
      'transfer',
    )
    const baseline = { name: 'plain ETH transfer', value: Number(transfer.gasUsed) }

    const perModel = await deployVerifier({ client, package: model, rendered: await renderEvmVerifier({ package: model }) })
    const reusableRendered = await renderEvmVerifier({ package: model, reusable: true })
    const reusable = await deployVerifier({ client, package: model, rendered: reusableRendered })
    const secondArtifact = await deployVerifier({
      client,
      package: model,
      rendered: reusableRendered,
      reusableVerifier: reusable.verifier,
    })
    const verifyPerModel = await verifyOnChain({ client, verifier: perModel.verifier, proof })
    const verifyReusable = await verifyOnChain({ client, verifier: reusable.verifier, vk: reusable.vk, proof })
    if (!verifyPerModel.valid || !verifyReusable.valid) throw new Error('the proof did not verify on chain')

    const gate = (await deployVerityContract({ client, name: 'RiskGate', args: [perModel.verifier, fixedPoint(0.5, 7)] }))
      .contract
    const { id } = await requestPayment({ gate, to: '0x000000000000000000000000000000000000bEEF', value: parseEther('1') })
    const release = await releasePayment({ gate, id, proof })

    const anchorDeployment = await deployVerityContract({ client, name: 'TraceAnchor' })
    const anchor = anchorDeployment.contract
    const checkpoints: AnchorableCheckpoint[] = []
    for (let index = 0; index < AGENTS; index++) {
      const path = join(directory, `agent-${index}.trace.jsonl`)
      const signer = createKeySigner({ privateKey: keccak_256(utf8ToBytes(`bench agent ${index}`)) })
      const trace = await openTrace({ path, signer })
      await trace.append({ kind: 'answer', body: { text: `decision of agent ${index}` } })
      await trace.end({ body: { status: 'ok' } })
      checkpoints.push(await latestCheckpoint(path))
    }
    const single = await anchorCheckpoint({ anchor, checkpoint: checkpoints[0] as AnchorableCheckpoint })
    const batch = await anchorCheckpointBatch({ anchor, checkpoints })

    const registryDeployment = await deployVerityContract({ client, name: 'ModelRegistry' })
    const release1 = {
      name: 'transaction-risk',
      version: '1.0.0',
      manifestDigest: digestToBytes32(model.digest),
      packageCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
      vkDigest: digestToBytes32(digest(model.vk)),
      verifier: perModel.verifier,
    }
    const firstVersion = await registerModel({ registry: registryDeployment.contract, release: release1 })
    const nextVersion = await registerModel({ registry: registryDeployment.contract, release: { ...release1, version: '1.0.1' } })

    const marketDeployment = await deployVerityContract({ client, name: 'ProverMarket' })
    const market = marketDeployment.contract
    const latest = await client.provider.getBlock('latest')
    const posted = await postProvingJob({
      market,
      job: {
        modelId: digestToBytes32(model.digest),
        verifier: perModel.verifier,
        inputCommitment: digestToBytes32(settled.receipt.input.commitment),
        bounty: parseEther('0.1'),
        deadline: Number(latest?.timestamp) + 3600,
      },
    })
    const submitted = await submitProof({ market, jobId: posted.jobId, proof })
    const withdrawn = await withdrawPayment({ market })

    const gas = (name: string, value: bigint | undefined, extra: Partial<Parameters<typeof metric>[0]> = {}) =>
      metric({ name, value: Number(value ?? 0n), unit: 'gas', ...extra })
    return {
      benchmark: 'chain',
      startedAt,
      machine: machine(),
      parameters: {
        agents: AGENTS,
        network: 'hardhat in-process (Cancun)',
        model: 'transaction-risk (logrows 10)',
        solc: '0.8.28, optimizer 1 run (verifiers) / 200 (contracts)',
      },
      metrics: [
        gas('deploy verifier, per model (Halo2Verifier)', perModel.verifierDeployment?.gasUsed, { baseline }),
        gas('deploy reusable verifier (Halo2VerifierReusable, once for all models)', reusable.verifierDeployment?.gasUsed, {
          baseline,
        }),
        gas('deploy VK artifact (per model, with the reusable verifier)', reusable.vkDeployment?.gasUsed, { baseline }),
        gas('deploy a second model on the reusable verifier (artifact only)', secondArtifact.vkDeployment?.gasUsed, { baseline }),
        gas('verify one proof, per-model verifier', verifyPerModel.gas, { baseline }),
        gas('verify one proof, reusable verifier + VK artifact', verifyReusable.gas, { baseline }),
        gas('RiskGate release (verify + decode + pay)', release.gasUsed, { baseline }),
        gas('deploy TraceAnchor', anchorDeployment.deployment.gasUsed),
        gas('anchor 1 checkpoint (signature + size check)', single.gasUsed, { baseline }),
        gas(`anchor ${AGENTS} agents' checkpoints in one batch (whole transaction)`, batch.transaction.gasUsed, { baseline }),
        gas(`anchor in a batch of ${AGENTS}, per agent`, batch.transaction.gasUsed / BigInt(AGENTS), { baseline }),
        gas('deploy ModelRegistry', registryDeployment.deployment.gasUsed),
        gas('register a model version (first, claims the name)', firstVersion.gasUsed, { baseline }),
        gas('register a further version', nextVersion.gasUsed, { baseline }),
        gas('deploy ProverMarket', marketDeployment.deployment.gasUsed),
        gas('post a market job (ETH bounty)', posted.gasUsed, { baseline }),
        gas('settle a market job (submit proof, verified on chain)', submitted.gasUsed, { baseline }),
        gas('withdraw the bounty', withdrawn.gasUsed, { baseline }),
        gas('post + settle + withdraw, total', posted.gasUsed + submitted.gasUsed + withdrawn.gasUsed, { baseline }),
      ],
      peakRssBytes: rss.stop(),
    }
  } finally {
    await client.close()
    await pool.close()
    rmSync(directory, { recursive: true, force: true })
  }
}
