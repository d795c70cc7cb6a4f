import { fromHex, toHex } from '../crypto/bytes.js'
import { randomBytes } from '../crypto/random.js'
import { NotFoundError } from '../errors.js'
import { type AdapterVault, recordId } from '../langchain/vault-records.js'

/**
 * The body key of a trace, kept in the owner's vault: a random 32-byte key per trace, stored as an
 * (encrypted) vault record in the `verity:trace-keys` namespace, so whoever the vault's guards let
 * open the vault can reveal the trace's sealed bodies, and nobody else. The key travels with the
 * vault (export/import) and survives the vault's key rotation. Layout: docs/trace-format.md.
 */

/** Namespace of trace body key records in a vault. */
export const TRACE_BODY_KEY_NAMESPACE = 'verity:trace-keys'

/**
 * Id of the vault record holding the body key of the trace with this origin.
 *
 * @example
 * ```ts
 * traceBodyKeyRecordId(trace.origin) // 'trace-key-…'
 * ```
 */
export function traceBodyKeyRecordId(origin: string): string {
  return recordId('trace-key', [origin])
}

export type TraceBodyKeyParameters = {
  vault: Pick<AdapterVault, 'get' | 'add' | 'info'>
  /** The trace's origin (`run-start` body, `TraceWriter.origin`). */
  origin: string
  /** Create the key when the vault holds none (default false: throw {@link NotFoundError}). */
  create?: boolean | undefined
}
export type TraceBodyKeyReturnType = Uint8Array

/**
 * Reads (or creates) the body key of a trace in a vault.
 *
 * @example
 * ```ts
 * const key = await traceBodyKey({ vault, origin: trace.origin, create: true })
 * await trace.append({ kind: 'tool-call', body, seal: key })
 * ```
 */
export async function traceBodyKey(parameters: TraceBodyKeyParameters): Promise<TraceBodyKeyReturnType> {
  const { vault, origin } = parameters
  const id = traceBodyKeyRecordId(origin)
  const known = vault.get(id)
  if (known) return fromHex(known.text, 'trace body key')
  if (!parameters.create)
    throw new NotFoundError('This vault holds no body key for the trace', {
      details: origin,
      hint: 'Open the vault the agent ran with (the one given to createVerityAgent or `--vault` of the run).',
    })
  const key = randomBytes(32)
  // A fixed unit vector: the key is never given to the embedder (which may be a remote API).
  const embedding = new Float32Array(vault.info().embedder.dimension)
  embedding[0] = 1
  await vault.add({ id, text: toHex(key), embedding, namespace: TRACE_BODY_KEY_NAMESPACE, metadata: { origin } })
  return key
}
