/**
 * Unlock latency of a vault data key: the owner guard (ECIES, local), and the lit guard on the
 * local Lit-compatible network (3 node processes, threshold 2, SIWE session, ERC-721 condition
 * read from a Hardhat EVM), beside the bare cost of one `@lit-protocol/wasm` `blsDecrypt`, in the same run.
 * The lit-local unlock is measured twice: the default client (first `t` shares combined, one
 * pairing check) and `verifyEveryShare` (wait for all nodes, check each share).
 * Scale: VERITY_BENCH_ACCESS_ROUNDS (default 30).
 */
import { encrypt as litEncrypt } from '@lit-protocol/crypto'
import { blsDecrypt } from '@lit-protocol/wasm'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { Wallet } from 'ethers'
import { litGuard } from '../src/access/lit-guard.js'
import { litLocalNetwork } from '../src/access/lit-local/lit-local-network.js'
import { hashIdentity } from '../src/access/lit-local/threshold-bls.js'
import { ownerGuard } from '../src/access/owner-guard.js'
import { randomBytes, randomId } from '../src/crypto/random.js'
import { startTestChain } from '../test/access/helpers/evm.js'
import { startTestLitNetwork } from '../test/access/helpers/lit-local.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler, timeMs } from './lib/measure.js'

const ROUNDS = Number(process.env.VERITY_BENCH_ACCESS_ROUNDS ?? 30)

async function sample(run: () => Promise<unknown>): Promise<number[]> {
  await run() // warm-up
  const samples: number[] = []
  for (let index = 0; index < ROUNDS; index++) samples.push(await timeMs(run))
  return samples
}

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const context = { vaultId: randomId(), keyId: randomId() }

  // bare BLS decrypt: one Lit ciphertext, the full signature already combined
  const secret = bls12_381.fields.Fr.fromBytes(bls12_381.utils.randomSecretKey())
  const publicKey = bls12_381.G1.Point.BASE.multiply(secret).toHex(true)
  const identity = new TextEncoder().encode(`lit-accesscontrolcondition://${'a'.repeat(64)}/${'b'.repeat(64)}`)
  const ciphertext = Buffer.from(await litEncrypt(publicKey, randomBytes(32), identity), 'base64')
  const signature = hashIdentity(identity).multiply(secret).toBytes(true)
  const bare = await sample(() => blsDecrypt('Bls12381G2', ciphertext, signature))

  // owner guard
  const owner = ownerGuard({ wallet: Wallet.createRandom() })
  const ownerStanza = await owner.wrap(randomBytes(32), context)
  const ownerSamples = await sample(() => owner.unwrap(ownerStanza, context))

  // lit guard on lit-local
  const chain = await startTestChain()
  const lit = await startTestLitNetwork({ chains: { ethereum: { rpcUrl: chain.rpcUrl, chainId: chain.chainId } } })
  let litSamples: number[]
  let auditSamples: number[]
  try {
    const nft = await chain.deploy('TestNft')
    const holder = chain.wallets[1] as Wallet
    await (await nft.contract.getFunction('mint')(holder.address, 1n)).wait()
    const network = litLocalNetwork({ nodes: lit.urls, network: lit.network })
    const conditions = {
      accessControlConditions: [
        {
          contractAddress: nft.address,
          standardContractType: 'ERC721',
          chain: 'ethereum',
          method: 'ownerOf',
          parameters: ['1'],
          returnValueTest: { comparator: '=', value: ':userAddress' },
        },
      ],
    }
    const stanza = await litGuard({ network, conditions }).wrap(randomBytes(32), context)
    const guard = litGuard({ network, signer: holder })
    litSamples = await sample(() => guard.unwrap(stanza, context))
    // the same unlock, waiting for all nodes and pairing-checking every share before combining
    const audit = litGuard({
      network: litLocalNetwork({ nodes: lit.urls, network: lit.network, verifyEveryShare: true }),
      signer: holder,
    })
    auditSamples = await sample(() => audit.unwrap(stanza, context))
  } finally {
    await lit.cleanup()
    await chain.close()
  }

  const p = (samples: number[], q: number) => round(percentile(samples, q))
  const baseline = { name: 'bare blsDecrypt p50', value: p(bare, 50) }
  return {
    benchmark: 'access',
    startedAt: new Date().toISOString(),
    machine: machine(),
    parameters: { rounds: ROUNDS, litNodes: 3, litThreshold: 2, condition: 'ERC-721 ownerOf' },
    metrics: [
      metric({ name: 'bare blsDecrypt p50', value: p(bare, 50), unit: 'ms' }),
      metric({ name: 'bare blsDecrypt p95', value: p(bare, 95), unit: 'ms' }),
      metric({ name: 'owner guard unlock p50', value: p(ownerSamples, 50), unit: 'ms', baseline }),
      metric({ name: 'owner guard unlock p95', value: p(ownerSamples, 95), unit: 'ms', baseline }),
      metric({ name: 'lit-local unlock (3 nodes, t=2) p50', value: p(litSamples, 50), unit: 'ms', baseline }),
      metric({ name: 'lit-local unlock (3 nodes, t=2) p95', value: p(litSamples, 95), unit: 'ms', baseline }),
      metric({ name: 'lit-local unlock, every share verified p50', value: p(auditSamples, 50), unit: 'ms', baseline }),
      metric({ name: 'lit-local unlock, every share verified p95', value: p(auditSamples, 95), unit: 'ms', baseline }),
    ],
    peakRssBytes: rss.stop(),
  }
}
