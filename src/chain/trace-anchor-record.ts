import { existsSync, readFileSync } from 'node:fs'
import { type Contract, getAddress, type Provider } from 'ethers'
import { z } from 'zod'
import { ChainError, InvalidInputError } from '../errors.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import type { AnchorableCheckpoint } from './trace-anchor.js'
import { verifyAnchoredTrace } from './trace-anchor.js'

/**
 * Anchor records: where a trace's checkpoints were anchored (`verity chain anchor` / `verity trace anchor` write one
 * per transaction into `<trace>.anchors.json`, replaced atomically). A record is a claim, not a proof: anyone
 * who can write the file can forge one, so {@link checkTraceAnchorRecord} checks it against the chain (the
 * transaction and its `CheckpointAnchored` event, the contract's anchored root, and the RFC 9162 consistency of
 * the local trace with it). Layout: docs/chain.md, "Anchor records".
 */

/** Format tag of the anchor record file. */
export const TRACE_ANCHORS_FORMAT = 'verity-trace-anchors/v1'

/** zod schema of one anchor record. */
export const traceAnchorRecordSchema = z.object({
  /** EIP-155 chain id of the chain the transaction is on (decimal string). */
  chainId: z.string().regex(/^[0-9]{1,30}$/),
  /** The TraceAnchor contract. */
  contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  transaction: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  blockNumber: z.number().int().nonnegative(),
  origin: z.string().min(1).max(256),
  agent: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  /** Entries covered by the anchored checkpoint, and their RFC 9162 Merkle root. */
  size: z.number().int().positive(),
  root: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  anchoredAt: z.string(),
})
export type TraceAnchorRecord = z.infer<typeof traceAnchorRecordSchema>

const fileSchema = z.object({ format: z.literal(TRACE_ANCHORS_FORMAT), anchors: z.array(traceAnchorRecordSchema) })

/**
 * The anchor record file of a trace.
 *
 * @example
 * ```ts
 * traceAnchorRecordPath('run.trace.jsonl') // 'run.trace.jsonl.anchors.json'
 * ```
 */
export function traceAnchorRecordPath(tracePath: string): string {
  return `${tracePath}.anchors.json`
}

/**
 * The anchor records of a trace (none when the file does not exist). A file that does not parse is an
 * {@link InvalidInputError}: it was written by something else, or tampered with.
 *
 * @example
 * ```ts
 * for (const record of readTraceAnchorRecords('run.trace.jsonl')) console.log(record.transaction)
 * ```
 */
export function readTraceAnchorRecords(tracePath: string): TraceAnchorRecord[] {
  const path = traceAnchorRecordPath(tracePath)
  if (!existsSync(path)) return []
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new InvalidInputError('The anchor record file is not JSON', { details: path, cause })
  }
  return parseInput(fileSchema, json, { what: 'anchor record file', docsPath: 'chain.md' }).anchors
}

export type RecordTraceAnchorParameters = {
  tracePath: string
  checkpoint: AnchorableCheckpoint
  chainId: bigint
  contract: string
  transaction: { hash: string; blockNumber: number }
}

/**
 * Adds an anchor record beside a trace after its checkpoint was anchored (atomic replace: a crash leaves the old
 * file or the new one).
 *
 * @example
 * ```ts
 * const result = await anchorCheckpoint({ anchor, checkpoint })
 * recordTraceAnchor({ tracePath, checkpoint, chainId: client.chainId, contract: anchorAddress, transaction: result })
 * ```
 */
export function recordTraceAnchor(parameters: RecordTraceAnchorParameters): TraceAnchorRecord {
  const { tracePath, checkpoint } = parameters
  const record = parseInput(
    traceAnchorRecordSchema,
    {
      chainId: parameters.chainId.toString(),
      contract: getAddress(parameters.contract),
      transaction: parameters.transaction.hash,
      blockNumber: parameters.transaction.blockNumber,
      origin: checkpoint.origin,
      agent: getAddress(checkpoint.agent),
      size: checkpoint.size,
      root: checkpoint.root,
      anchoredAt: new Date().toISOString(),
    },
    { what: 'anchor record' },
  )
  const anchors = [...readTraceAnchorRecords(tracePath), record]
  writeFileAtomic({
    path: traceAnchorRecordPath(tracePath),
    data: `${JSON.stringify({ format: TRACE_ANCHORS_FORMAT, anchors }, null, 2)}\n`,
  })
  return record
}

export type CheckTraceAnchorRecordParameters = {
  provider: Provider
  /** The TraceAnchor contract at `record.contract` (read-only is enough). */
  anchor: Contract
  tracePath: string
  record: TraceAnchorRecord
}
export type CheckTraceAnchorRecordReturnType = { ok: boolean; reason: string }

/**
 * Checks an anchor record against the chain: same chain id; the transaction was mined, succeeded, was sent to the
 * contract and emitted `CheckpointAnchored` for exactly this agent, origin, size and root; and the local trace is
 * consistent with what the contract holds now (RFC 9162 consistency proof, `verifyAnchoredTrace`).
 *
 * @example
 * ```ts
 * const { ok, reason } = await checkTraceAnchorRecord({ provider, anchor, tracePath, record })
 * ```
 */
export async function checkTraceAnchorRecord(
  parameters: CheckTraceAnchorRecordParameters,
): Promise<CheckTraceAnchorRecordReturnType> {
  const { provider, anchor, tracePath, record } = parameters
  try {
    const chainId = (await provider.getNetwork()).chainId
    if (chainId.toString() !== record.chainId)
      return { ok: false, reason: `the record names chain ${record.chainId}, the RPC serves chain ${chainId}` }
    const receipt = await provider.getTransactionReceipt(record.transaction)
    if (!receipt) return { ok: false, reason: `transaction ${record.transaction} is not on chain ${chainId}` }
    if (receipt.status !== 1) return { ok: false, reason: `transaction ${record.transaction} reverted` }
    if (receipt.blockNumber !== record.blockNumber)
      return { ok: false, reason: `the transaction is in block ${receipt.blockNumber}, the record says ${record.blockNumber}` }
    if (receipt.to === null || getAddress(receipt.to) !== getAddress(record.contract))
      return { ok: false, reason: `the transaction was sent to ${receipt.to}, not to ${record.contract}` }
    const emitted = receipt.logs
      .filter((log) => getAddress(log.address) === getAddress(record.contract))
      .map((log) => anchor.interface.parseLog({ topics: [...log.topics], data: log.data }))
      .find((event) => event?.name === 'CheckpointAnchored')
    if (
      !emitted ||
      getAddress(emitted.args.agent as string) !== getAddress(record.agent) ||
      emitted.args.origin !== record.origin ||
      Number(emitted.args.size) !== record.size ||
      String(emitted.args.root).toLowerCase() !== record.root.toLowerCase()
    )
      return { ok: false, reason: 'the transaction did not anchor this checkpoint (agent, origin, size, root)' }
    const verdict = await verifyAnchoredTrace({ anchor, path: tracePath })
    return { ok: verdict.ok, reason: `${verdict.status}: ${verdict.reason}` }
  } catch (cause) {
    if (cause instanceof ChainError) return { ok: false, reason: cause.shortMessage }
    return { ok: false, reason: `the chain could not be read: ${(cause as Error).message}` }
  }
}
