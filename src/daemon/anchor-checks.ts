import { statSync } from 'node:fs'
import { Contract, JsonRpcProvider } from 'ethers'
import { z } from 'zod'
import { checkTraceAnchorRecord, readTraceAnchorRecords, verityContract } from '../chain/index.js'
import { isVerityError } from '../errors.js'

/** zod schema of one anchor of a run as the badge shows it. */
export const runAnchorSchema = z.object({
  chainId: z.string(),
  contract: z.string(),
  transaction: z.string(),
  blockNumber: z.number(),
  size: z.number(),
  root: z.string(),
  /** `verified` against the chain, `failed` (with the reason), or `unchecked` (the daemon has no `chainRpc`). */
  status: z.enum(['verified', 'failed', 'unchecked']),
  reason: z.string(),
})
export type RunAnchor = z.infer<typeof runAnchorSchema>

export type AnchorChecks = {
  /** The anchors recorded beside a trace, each checked against the chain when an RPC URL is configured. */
  check(tracePath: string): Promise<RunAnchor[]>
  close(): void
}
export type CreateAnchorChecksParameters = { rpc?: string | undefined }
export type CreateAnchorChecksReturnType = AnchorChecks

/**
 * Anchors of the daemon's run traces: the records `verity chain anchor` writes beside a trace, checked against the
 * chain (transaction, event, anchored root, RFC 9162 consistency). Results are cached per trace state, so the
 * explorer refreshing a page does not query the chain again until the trace or its records change.
 *
 * @example
 * ```ts
 * const anchors = createAnchorChecks({ rpc: 'http://127.0.0.1:8545' })
 * const shown = await anchors.check(runs.tracePath(runId)) // [{ chainId, contract, transaction, status: 'verified', ... }]
 * ```
 */
export function createAnchorChecks(parameters: CreateAnchorChecksParameters): CreateAnchorChecksReturnType {
  let provider: JsonRpcProvider | undefined
  const cache = new Map<string, RunAnchor>()
  const providerOf = () => {
    provider ??= new JsonRpcProvider(parameters.rpc, undefined, { staticNetwork: false, cacheTimeout: -1 })
    return provider
  }
  return {
    async check(tracePath) {
      let records: ReturnType<typeof readTraceAnchorRecords>
      try {
        records = readTraceAnchorRecords(tracePath)
      } catch (error) {
        const reason = isVerityError(error) ? error.shortMessage : 'unreadable anchor record file'
        return [{ chainId: '', contract: '', transaction: '', blockNumber: 0, size: 0, root: '', status: 'failed', reason }]
      }
      if (records.length === 0) return []
      const state = (path: string) => {
        try {
          const stat = statSync(path)
          return `${stat.size}:${stat.mtimeMs}`
        } catch {
          return 'missing'
        }
      }
      const version = `${state(tracePath)}|${state(`${tracePath}.anchors.json`)}`
      const shown: RunAnchor[] = []
      for (const record of records) {
        const base = {
          chainId: record.chainId,
          contract: record.contract,
          transaction: record.transaction,
          blockNumber: record.blockNumber,
          size: record.size,
          root: record.root,
        }
        if (!parameters.rpc) {
          shown.push({ ...base, status: 'unchecked', reason: 'the daemon has no chainRpc configured' })
          continue
        }
        const key = `${tracePath}|${record.transaction}|${version}`
        let result = cache.get(key)
        if (!result) {
          const anchor = new Contract(record.contract, verityContract('TraceAnchor').abi as never, providerOf())
          const checked = await checkTraceAnchorRecord({ provider: providerOf(), anchor, tracePath, record })
          result = { ...base, status: checked.ok ? 'verified' : 'failed', reason: checked.reason }
          // Only settled answers are kept: a chain that could not be reached is asked again next time.
          if (cache.size > 1000) cache.clear()
          if (!checked.reason.startsWith('the chain could not be read')) cache.set(key, result)
        }
        shown.push(result)
      }
      return shown
    },
    close() {
      provider?.destroy()
    },
  }
}
