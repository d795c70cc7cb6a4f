/**
 * The decision trace: append+sign throughput (durable, group commit) against raw ethers
 * `signTypedData` of the same struct in the same run; verify throughput on one thread and on
 * worker threads; Merkle root of 100k entries; inclusion proof size and time.
 *
 * Scale: VERITY_BENCH_TRACE_ENTRIES (default 5000), VERITY_BENCH_TRACE_MERKLE (default 100000),
 * VERITY_BENCH_TRACE_BASELINE (ethers signatures, default 1000), VERITY_BENCH_TRACE_IN_FLIGHT (default 64).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Wallet } from 'ethers'
import { sha256 } from '../src/crypto/digest.js'
import { agentDomain } from '../src/identity/agent-domain.js'
import { createKeySigner } from '../src/identity/secp256k1-signer.js'
import { MerkleTree, merkleLeafHash, merkleRoot, verifyMerkleInclusion } from '../src/trace/merkle.js'
import { openTrace } from '../src/trace/open-trace.js'
import { traceEntryDigest } from '../src/trace/signing.js'
import { TRACE_ENTRY_TYPES } from '../src/trace/typed-data.js'
import { verifyTrace } from '../src/trace/verify-trace.js'
import { type BenchmarkReport, machine, metric, round, rssSampler } from './lib/measure.js'

const ENTRIES = Number(process.env.VERITY_BENCH_TRACE_ENTRIES ?? 5000)
const MERKLE = Number(process.env.VERITY_BENCH_TRACE_MERKLE ?? 100_000)
const BASELINE = Number(process.env.VERITY_BENCH_TRACE_BASELINE ?? 1000)
const IN_FLIGHT = Number(process.env.VERITY_BENCH_TRACE_IN_FLIGHT ?? 64)

function body(i: number) {
  return { tool: 'search', callId: `c${i}`, arguments: { query: `question ${i}`, limit: 5 } }
}

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const directory = mkdtempSync(join(tmpdir(), 'verity-bench-trace-'))
  const wallet = Wallet.createRandom()
  const signer = createKeySigner({ privateKey: wallet.privateKey })
  try {
    // Baseline: raw ethers signTypedData of the TraceEntry struct.
    const domain = agentDomain({ agent: wallet.address })
    let start = performance.now()
    for (let i = 0; i < BASELINE; i++)
      await wallet.signTypedData(domain, TRACE_ENTRY_TYPES, {
        seq: i,
        prevHash: `0x${'11'.repeat(32)}`,
        entryHash: `0x${'22'.repeat(32)}`,
      })
    const ethersRate = BASELINE / ((performance.now() - start) / 1000)

    // Signing alone (digest + libsecp256k1), no I/O.
    start = performance.now()
    for (let i = 0; i < BASELINE; i++)
      signer.signDigest(
        traceEntryDigest(
          { agent: signer.address, chainId: 1 },
          { seq: i, prevHash: `0x${'11'.repeat(32)}`, entryHash: `0x${'22'.repeat(32)}` },
        ),
      )
    const signRate = BASELINE / ((performance.now() - start) / 1000)

    // Append + sign, durable: serial (one fsync per acknowledged entry).
    const serialPath = join(directory, 'serial.jsonl')
    const serialEntries = Math.min(ENTRIES, 2000)
    let trace = await openTrace({ path: serialPath, signer })
    start = performance.now()
    for (let i = 0; i < serialEntries; i++) await trace.append({ kind: 'tool-call', body: body(i) })
    const serialRate = serialEntries / ((performance.now() - start) / 1000)
    await trace.end()

    // Append + sign, durable: 32 appends in flight share each fsync (group commit).
    const groupPath = join(directory, 'group.jsonl')
    trace = await openTrace({ path: groupPath, signer })
    start = performance.now()
    {
      // A sliding window: keep IN_FLIGHT appends outstanding, as concurrent tool calls would.
      const inFlight = new Set<Promise<unknown>>()
      for (let i = 0; i < ENTRIES; i++) {
        const append: Promise<unknown> = trace.append({ kind: 'tool-call', body: body(i) }).then(() => inFlight.delete(append))
        inFlight.add(append)
        if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight)
      }
      await Promise.all(inFlight)
    }
    const groupRate = ENTRIES / ((performance.now() - start) / 1000)
    await trace.end()

    // Verify.
    start = performance.now()
    const single = await verifyTrace({ path: groupPath, workers: 0 })
    const verifySingleRate = single.entries / ((performance.now() - start) / 1000)
    const workers = availableParallelism()
    start = performance.now()
    const parallel = await verifyTrace({ path: groupPath, workers })
    const verifyParallelRate = parallel.entries / ((performance.now() - start) / 1000)
    if (!single.ok || !parallel.ok) throw new Error('benchmark trace did not verify')

    // Merkle.
    const leaves = Array.from({ length: MERKLE }, (_, i) => merkleLeafHash(sha256(`entry ${i}`)))
    start = performance.now()
    const root = merkleRoot(leaves)
    const rootMs = performance.now() - start
    start = performance.now()
    const tree = new MerkleTree(leaves)
    const buildMs = performance.now() - start
    const samples = 1000
    let proofBytes = 0
    start = performance.now()
    for (let i = 0; i < samples; i++) proofBytes += tree.inclusionProof((i * 7919) % MERKLE).length * 32
    const proofMicros = ((performance.now() - start) * 1000) / samples
    start = performance.now()
    for (let i = 0; i < samples; i++) {
      const index = (i * 7919) % MERKLE
      if (
        !verifyMerkleInclusion({
          leafHash: leaves[index] as Uint8Array,
          index,
          treeSize: MERKLE,
          proof: tree.inclusionProof(index),
          root,
        })
      )
        throw new Error('inclusion proof failed')
    }
    const proveAndVerifyMicros = ((performance.now() - start) * 1000) / samples

    return {
      benchmark: 'trace',
      startedAt: new Date().toISOString(),
      machine: machine(),
      parameters: {
        entries: ENTRIES,
        serialEntries,
        inFlight: IN_FLIGHT,
        merkleLeaves: MERKLE,
        baselineSignatures: BASELINE,
        workers,
      },
      metrics: [
        metric({
          name: 'sign TraceEntry (libsecp256k1, no I/O)',
          value: round(signRate),
          unit: 'signatures/s',
          baseline: { name: 'ethers signTypedData', value: round(ethersRate) },
        }),
        metric({
          name: `append+sign, durable, ${IN_FLIGHT} in flight (group commit)`,
          value: round(groupRate),
          unit: 'entries/s',
          baseline: { name: 'ethers signTypedData', value: round(ethersRate) },
          target: '>= 1500',
        }),
        metric({
          name: 'append+sign, durable, serial (fsync per entry)',
          value: round(serialRate),
          unit: 'entries/s',
          baseline: { name: 'ethers signTypedData', value: round(ethersRate) },
        }),
        metric({
          name: `verify, ${workers} worker threads`,
          value: round(verifyParallelRate),
          unit: 'entries/s',
          target: '>= 1000',
          baseline: { name: 'verify, one thread', value: round(verifySingleRate) },
        }),
        metric({ name: 'verify, one thread', value: round(verifySingleRate), unit: 'entries/s' }),
        metric({ name: `Merkle root of ${MERKLE} entries`, value: round(rootMs), unit: 'ms' }),
        metric({ name: `Merkle tree build (all levels) of ${MERKLE} entries`, value: round(buildMs), unit: 'ms' }),
        metric({ name: `inclusion proof size at ${MERKLE} entries`, value: round(proofBytes / samples), unit: 'bytes' }),
        metric({ name: `inclusion proof time at ${MERKLE} entries (built tree)`, value: round(proofMicros), unit: 'µs' }),
        metric({ name: 'inclusion proof + verify time', value: round(proveAndVerifyMicros), unit: 'µs' }),
      ],
      peakRssBytes: rss.stop(),
    }
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
}
