import { AbiCoder, type Contract, getBytes, hexlify, keccak256, toUtf8Bytes } from 'ethers'
import { z } from 'zod'
import { ChainError } from '../errors.js'
import type { TraceCheckpointLine } from '../trace/entry.js'
import { MerkleTree, merkleConsistencyProof, merkleLeafHash, verifyMerkleConsistency } from '../trace/merkle.js'
import { readTraceFile } from '../trace/read-trace.js'
import { verifyTrace } from '../trace/verify-trace.js'
import { parseInput } from '../validation.js'
import { chainErrorFrom, sendTransaction, type TransactionResult } from './chain-client.js'

/** A trace checkpoint line plus the chain id of the trace's EIP-712 signing domain (from its run-start). */
export type AnchorableCheckpoint = TraceCheckpointLine & { chainId: number }

const checkpointSchema = z.object({
  type: z.literal('checkpoint'),
  origin: z.string().min(1).max(256),
  size: z.number().int().positive(),
  root: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  agent: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
  chainId: z.number().int().nonnegative(),
})

function toStruct(checkpoint: AnchorableCheckpoint) {
  return {
    agent: checkpoint.agent,
    chainId: checkpoint.chainId,
    origin: checkpoint.origin,
    size: checkpoint.size,
    root: checkpoint.root,
    signature: checkpoint.signature,
  }
}

/**
 * The latest signed checkpoint of a trace file, ready to anchor (the trace's own signature, nothing re-signed).
 *
 * @example
 * ```ts
 * const checkpoint = await latestCheckpoint('run.trace.jsonl')
 * await anchorCheckpoint({ client, anchor, checkpoint })
 * ```
 */
export async function latestCheckpoint(path: string): Promise<AnchorableCheckpoint> {
  // An open run may be anchored (and checked against its anchor) mid-run: completeness is not asked here.
  const report = await verifyTrace({ path, workers: 0, allowIncomplete: true })
  if (!report.ok)
    throw new ChainError('The trace does not verify: it is not anchored', {
      details: report.firstFailure
        ? `seq ${report.firstFailure.seq} ${report.firstFailure.field}: ${report.firstFailure.reason}`
        : path,
      hint: 'Run `verity trace verify FILE` to see every failure.',
      docsPath: 'chain.md',
    })
  const checkpoints = readTraceFile(path)
    .lines.map((entry) => (entry.ok ? entry.line : undefined))
    .filter((line): line is TraceCheckpointLine => line?.type === 'checkpoint')
  const last = checkpoints.at(-1)
  if (!last || report.chainId === undefined)
    throw new ChainError('The trace has no checkpoint yet', {
      details: path,
      hint: 'Call trace.checkpoint() (or end the run) before anchoring.',
      docsPath: 'chain.md',
    })
  return { ...last, chainId: report.chainId }
}

export type AnchorCheckpointParameters = { anchor: Contract; checkpoint: AnchorableCheckpoint }

/**
 * Anchors a signed checkpoint in a `TraceAnchor` contract; the contract checks the agent's EIP-712 signature and that
 * the anchored size grows. Reverts become {@link ChainError}s (`BadSignature`, `SizeMustGrow(anchored, size)`).
 *
 * @example
 * ```ts
 * const { gasUsed } = await anchorCheckpoint({ anchor, checkpoint: await latestCheckpoint(path) })
 * ```
 */
export async function anchorCheckpoint(parameters: AnchorCheckpointParameters): Promise<TransactionResult> {
  const checkpoint = parseInput(checkpointSchema, parameters.checkpoint, { what: 'anchorCheckpoint checkpoint' })
  const { anchor } = parameters
  return sendTransaction(
    () => anchor.getFunction('anchor')(toStruct(checkpoint as AnchorableCheckpoint)),
    anchor.interface,
    'Anchoring the checkpoint',
  )
}

/** What a `TraceAnchor` holds for one trace (agent, origin). */
export type AnchoredCheckpoint = { size: number; root: string; blockNumber: number; timestamp: number }

/**
 * The checkpoint anchored for `agent`'s trace `origin`, or undefined.
 *
 * @example
 * ```ts
 * const anchored = await readAnchoredCheckpoint({ anchor, agent, origin })
 * ```
 */
export async function readAnchoredCheckpoint(parameters: {
  anchor: Contract
  agent: string
  origin: string
}): Promise<AnchoredCheckpoint | undefined> {
  let value: { size: bigint; root: string; blockNumber: bigint; timestamp: bigint }
  try {
    value = await parameters.anchor.getFunction('anchored')(parameters.agent, parameters.origin)
  } catch (error) {
    throw chainErrorFrom(error, parameters.anchor.interface, 'Reading the anchored checkpoint')
  }
  if (value.size === 0n) return undefined
  return {
    size: Number(value.size),
    root: value.root,
    blockNumber: Number(value.blockNumber),
    timestamp: Number(value.timestamp),
  }
}

/**
 * The leaf data of a checkpoint in a batch, as `TraceAnchor.batchLeaf` computes it:
 * `keccak256(abi.encode(agent, chainId, keccak256(origin), size, root))`.
 *
 * @example
 * ```ts
 * merkleLeafHash(batchLeaf(checkpoint))
 * ```
 */
export function batchLeaf(checkpoint: AnchorableCheckpoint): Uint8Array {
  return getBytes(
    keccak256(
      AbiCoder.defaultAbiCoder().encode(
        ['address', 'uint256', 'bytes32', 'uint64', 'bytes32'],
        [checkpoint.agent, checkpoint.chainId, keccak256(toUtf8Bytes(checkpoint.origin)), checkpoint.size, checkpoint.root],
      ),
    ),
  )
}

/** A batch anchored in one transaction, and each checkpoint's RFC 9162 inclusion proof. */
export type AnchoredBatch = {
  batchId: number
  root: string
  transaction: TransactionResult
  inclusions: { checkpoint: AnchorableCheckpoint; index: number; proof: string[] }[]
}

/**
 * Anchors many agents' checkpoints in one transaction under one RFC 9162 (SHA-256) Merkle root. Each agent later
 * proves its checkpoint's inclusion with {@link verifyBatchInclusion} (the contract checks the signature then).
 *
 * @example
 * ```ts
 * const batch = await anchorCheckpointBatch({ anchor, checkpoints })
 * await verifyBatchInclusion({ anchor, batchId: batch.batchId, ...batch.inclusions[0] }) // true
 * ```
 */
export async function anchorCheckpointBatch(parameters: {
  anchor: Contract
  checkpoints: AnchorableCheckpoint[]
}): Promise<AnchoredBatch> {
  const checkpoints = parseInput(z.array(checkpointSchema).min(1).max(1_000_000), parameters.checkpoints, {
    what: 'anchorCheckpointBatch checkpoints',
  }) as AnchorableCheckpoint[]
  const { anchor } = parameters
  const leaves = checkpoints.map((checkpoint) => merkleLeafHash(batchLeaf(checkpoint)))
  const tree = new MerkleTree(leaves)
  const root = hexlify(tree.root())
  const batchId = Number(await anchor.getFunction('batchCount')())
  const transaction = await sendTransaction(
    () => anchor.getFunction('anchorBatch')(root, checkpoints.length),
    anchor.interface,
    'Anchoring the checkpoint batch',
  )
  return {
    batchId,
    root,
    transaction,
    inclusions: checkpoints.map((checkpoint, index) => ({
      checkpoint,
      index,
      proof: tree.inclusionProof(index).map((node) => hexlify(node)),
    })),
  }
}

/**
 * Asks the `TraceAnchor` whether a signed checkpoint is leaf `index` of batch `batchId` (a free `eth_call`).
 *
 * @example
 * ```ts
 * await verifyBatchInclusion({ anchor, batchId, checkpoint, index, proof }) // true
 * ```
 */
export async function verifyBatchInclusion(parameters: {
  anchor: Contract
  batchId: number
  checkpoint: AnchorableCheckpoint
  index: number
  proof: string[]
}): Promise<boolean> {
  const { anchor } = parameters
  try {
    return (await anchor.getFunction('verifyBatchInclusion')(
      parameters.batchId,
      toStruct(parameters.checkpoint),
      parameters.index,
      parameters.proof,
    )) as boolean
  } catch (error) {
    throw chainErrorFrom(error, anchor.interface, 'Checking batch inclusion')
  }
}

/** How a local trace relates to its anchored checkpoint. */
export type AnchoredTraceStatus =
  /** The local trace extends the anchored one (RFC 9162 consistency proof checks out) and verifies. */
  | 'consistent'
  /** Nothing is anchored for this trace. */
  | 'not-anchored'
  /** The local trace has fewer entries than were anchored. */
  | 'truncated'
  /** The local trace verifies on its own but its first `size` entries are not the anchored ones: another history. */
  | 'forked'
  /** Entries were changed after anchoring: the anchored prefix differs and the trace no longer verifies. */
  | 'rewritten'
  /** The anchored prefix matches but the trace fails verification after it. */
  | 'invalid'

export type VerifyAnchoredTraceReturnType = {
  status: AnchoredTraceStatus
  ok: boolean
  origin: string | undefined
  agent: string | undefined
  anchored: AnchoredCheckpoint | undefined
  localEntries: number
  localRoot: string
  /** The RFC 9162 consistency proof from the anchored size to the local size (when the prefix matches). */
  consistencyProof: string[] | undefined
  reason: string
}

/**
 * Checks a local trace against the checkpoint anchored on chain: the anchored (size, root) must be a prefix of the
 * local log (RFC 9162 consistency proof from the anchored tree to the local one), and the log must verify. A
 * truncated, forked or rewritten trace is named.
 *
 * @example
 * ```ts
 * const { status } = await verifyAnchoredTrace({ anchor, path: 'run.trace.jsonl' })
 * ```
 */
export async function verifyAnchoredTrace(parameters: {
  anchor: Contract
  path: string
}): Promise<VerifyAnchoredTraceReturnType> {
  const { anchor, path } = parameters
  // An open run may be anchored (and checked against its anchor) mid-run: completeness is not asked here.
  const report = await verifyTrace({ path, workers: 0, allowIncomplete: true })
  const lines = readTraceFile(path).lines.flatMap((entry) => (entry.ok ? [entry.line] : []))
  const leaves = lines.flatMap((line) => (line.type === 'entry' ? [merkleLeafHash(getBytes(line.hash))] : []))
  const localRoot = hexlify(new MerkleTree(leaves).root())
  const origin =
    report.origin ?? lines.find((line): line is TraceCheckpointLine => line.type === 'checkpoint')?.origin ?? undefined
  const agents = [...new Set([...report.agents, ...lines.flatMap((line) => [line.agent])])]
  const base = { origin, localEntries: leaves.length, localRoot, consistencyProof: undefined }
  let best: { agent: string; anchored: AnchoredCheckpoint } | undefined
  if (origin)
    for (const agent of agents) {
      const anchored = await readAnchoredCheckpoint({ anchor, agent, origin })
      if (anchored && (!best || anchored.size > best.anchored.size)) best = { agent, anchored }
    }
  if (!best)
    return {
      ...base,
      status: 'not-anchored',
      ok: false,
      agent: undefined,
      anchored: undefined,
      reason: 'no checkpoint of this trace is anchored',
    }
  const { agent, anchored } = best
  const failure = report.firstFailure
    ? `seq ${report.firstFailure.seq ?? '-'} ${report.firstFailure.field}: ${report.firstFailure.reason}`
    : undefined
  if (leaves.length < anchored.size)
    return {
      ...base,
      status: 'truncated',
      ok: false,
      agent,
      anchored,
      reason: `the trace has ${leaves.length} entries, ${anchored.size} were anchored in block ${anchored.blockNumber}`,
    }
  const prefixRoot = hexlify(new MerkleTree(leaves.slice(0, anchored.size)).root())
  if (prefixRoot !== anchored.root)
    return {
      ...base,
      status: report.ok ? 'forked' : 'rewritten',
      ok: false,
      agent,
      anchored,
      reason: report.ok
        ? `the first ${anchored.size} entries have root ${prefixRoot}, the anchored root is ${anchored.root}: a different, validly signed history`
        : `the first ${anchored.size} entries no longer have the anchored root; ${failure}`,
    }
  const proof = merkleConsistencyProof({ leafHashes: leaves, fromSize: anchored.size })
  const consistent = verifyMerkleConsistency({
    fromSize: anchored.size,
    toSize: leaves.length,
    fromRoot: getBytes(anchored.root),
    toRoot: getBytes(localRoot),
    proof,
  })
  const consistencyProof = proof.map((node) => hexlify(node))
  if (!consistent)
    return {
      ...base,
      consistencyProof,
      status: 'forked',
      ok: false,
      agent,
      anchored,
      reason: 'the consistency proof does not verify',
    }
  if (!report.ok)
    return {
      ...base,
      consistencyProof,
      status: 'invalid',
      ok: false,
      agent,
      anchored,
      reason: failure ?? 'the trace does not verify',
    }
  return {
    ...base,
    consistencyProof,
    status: 'consistent',
    ok: true,
    agent,
    anchored,
    reason: `the anchored ${anchored.size} entries are a prefix of the local ${leaves.length} (RFC 9162 consistency proof)`,
  }
}
