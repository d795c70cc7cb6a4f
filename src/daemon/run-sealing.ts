import { traceBodyKey } from '../agent/index.js'
import type { JsonValue } from '../crypto/index.js'
import { canonicalDigest } from '../crypto/index.js'
import type { TraceWriter } from '../trace/index.js'
import { splitTraceBody } from '../trace/sealed-body.js'
import type { RunStore } from './run-store.js'
import type { VaultSessions } from './vault-sessions.js'

/**
 * Personal data in the daemon's run traces (tasks, answers, tool arguments and results, memory texts) never
 * reaches the disk in plaintext. Every body written through {@link sealRunTrace} is either
 *
 * - **sealed** (AES-256-GCM, the trace format's "sealed bodies") under the trace's body key, a random key kept as
 *   an encrypted record (`verity:trace-keys`) in the owner's vault: only the vault's guard (the owner's
 *   passphrase, wallet or Lit conditions) releases it, so the daemon itself cannot reveal a run once the vault
 *   session is closed, and `verity trace reveal TRACE --vault VAULT` works on the run folder; or
 * - **withheld** when the owner has no vault open: the private fields are replaced by their digest
 *   (`withheldDigest`), which still commits to the content but cannot be revealed by anyone.
 */

/** Resolves the run's body key, or `undefined` when no vault of the owner is open (bodies are then withheld). */
export type RunSealKey = () => Promise<Uint8Array | undefined>

export type SealRunTraceParameters = { trace: TraceWriter; key: RunSealKey }
export type SealRunTraceReturnType = TraceWriter

/** A body with its private fields replaced by their digest (public fields kept). */
function withheld(body: JsonValue): JsonValue {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { withheldDigest: canonicalDigest(body) }
  const { open, secret } = splitTraceBody(body)
  return Object.keys(secret).length === 0 ? body : { ...open, withheldDigest: canonicalDigest(secret) }
}

/**
 * A run's trace writer that seals every body under the run's key, or withholds private fields without one.
 *
 * @example
 * ```ts
 * const sealed = sealRunTrace({ trace, key: async () => key })
 * await sealed.append({ kind: 'note', body: { event: 'task', task } }) // { event, task } sealed
 * ```
 */
export function sealRunTrace(parameters: SealRunTraceParameters): SealRunTraceReturnType {
  const { trace, key } = parameters
  return new Proxy(trace, {
    get(target, property, receiver) {
      if (property === 'append')
        return async (entry: Parameters<TraceWriter['append']>[0]) => {
          // A key that cannot be had (the vault closed meanwhile) withholds the body: an entry is never lost, nor
          // written in plaintext, for want of a key (the run's error note and run-end still land).
          const seal = await key().catch(() => undefined)
          if (entry.body === undefined) return target.append(entry)
          if (!seal) return target.append({ ...entry, body: withheld(entry.body as JsonValue), seal: undefined })
          // A body that is not an object would be stored as is by the sealer: wrap it so it is sealed too.
          const body = entry.body as JsonValue
          const object = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : { value: body }
          return target.append({ ...entry, body: object, seal })
        }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

export type RunKeyResolverParameters = {
  vaults: VaultSessions
  runs: RunStore
  owner: string
  runId: string
  origin: string
  /** The vault to keep the key in; default: the owner's first open vault, looked up at each call until one is open. */
  vault?: string | undefined
}

/**
 * The key resolver of a run: reads or creates the trace's body key in the owner's vault (once, then cached) and
 * records that vault in the run's status file.
 *
 * @example
 * ```ts
 * const key = runKeyResolver({ vaults, runs, owner, runId: run.id, origin: trace.origin, vault: 'notes' })
 * const sealed = sealRunTrace({ trace, key })
 * ```
 */
export function runKeyResolver(parameters: RunKeyResolverParameters): RunSealKey {
  const { vaults, runs, owner, runId, origin } = parameters
  let key: Promise<Uint8Array> | undefined
  return async () => {
    if (key) return key
    const name = parameters.vault ?? vaults.defaultName(owner)
    if (!name) return undefined
    key = vaults.use(owner, name, (vault) => traceBodyKey({ vault, origin, create: true }))
    key.catch(() => {
      key = undefined
    })
    const resolved = await key
    if (runs.get(runId)?.sealedIn !== name) runs.sealedIn(runId, name)
    return resolved
  }
}
