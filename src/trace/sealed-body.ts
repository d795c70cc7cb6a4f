import { AEAD_ALGORITHM, AEAD_NONCE_LENGTH, aeadDecrypt, aeadEncrypt } from '../crypto/aead.js'
import { bytesToUtf8, fromBase64, toBase64, utf8ToBytes } from '../crypto/bytes.js'
import { canonicalJson } from '../crypto/canonical-json.js'
import { randomBytes } from '../crypto/random.js'
import { IntegrityError } from '../errors.js'
import type { JsonValue, TraceEntryKind } from './entry.js'

/**
 * Sealed (private) trace bodies: the personal fields of a body (texts, recalled memories, tool
 * arguments and results, errors) are encrypted with AES-256-GCM under the trace's body key, with
 * associated data binding the trace origin, the signing agent, the entry's seq and kind, so a
 * sealed part cannot be moved to another entry. The public fields (tool names, call ids, model,
 * token usage, digests...) stay readable. The sealed body is an ordinary JSON body: `bodyDigest`
 * commits to it as to any body, so the chain, signatures and checkpoints verify without the key.
 * Byte layout: docs/trace-format.md, "Sealed bodies".
 */

/** Version tag of the `sealed` field. */
export const SEALED_TRACE_BODY_VERSION = 'verity-sealed-body/1'
/** First element of the associated data. */
export const SEALED_TRACE_BODY_LABEL = 'verity/trace-body/v1'

/**
 * Body fields that stay readable in a sealed body; every other field is sealed (private by default).
 */
export const PUBLIC_TRACE_BODY_FIELDS: ReadonlySet<string> = new Set([
  'decision',
  'agent',
  'tool',
  'toolCallId',
  'status',
  'plugin',
  'receipt',
  'model',
  'provider',
  'turn',
  'usage',
  'startedAt',
  'durationMs',
  'policy',
  'outcome',
  'messages',
  'namespace',
  'ids',
  'automatic',
  'forSeq',
  'receiptDigest',
  'proofDigest',
  'textDigest',
  'argsDigest',
  'queryDigest',
  'command',
])

/** The `sealed` field of a body. */
export type SealedTraceBodyPart = {
  v: typeof SEALED_TRACE_BODY_VERSION
  alg: typeof AEAD_ALGORITHM
  /** 12-byte random nonce, base64. */
  nonce: string
  /** AES-256-GCM ciphertext of the canonical JSON of the private fields, then the 16-byte tag, base64. */
  ciphertext: string
}

/** Where a sealed body sits: the values bound as associated data. */
export type SealedTraceBodyContext = { origin: string; agent: string; seq: number; kind: TraceEntryKind }

/**
 * The associated data of a sealed body: UTF-8 of the canonical JSON array
 * `["verity/trace-body/v1", origin, agent (lower case), seq, kind]`.
 *
 * @example
 * ```ts
 * sealedBodyAssociatedData({ origin, agent, seq: 3, kind: 'tool-call' })
 * ```
 */
export function sealedBodyAssociatedData(context: SealedTraceBodyContext): Uint8Array {
  return utf8ToBytes(
    canonicalJson([SEALED_TRACE_BODY_LABEL, context.origin, context.agent.toLowerCase(), context.seq, context.kind]),
  )
}

/**
 * Splits an object body into its public fields (`PUBLIC_TRACE_BODY_FIELDS`, kept in clear) and its
 * private ones (sealed or withheld); `undefined` values are dropped.
 *
 * @example
 * ```ts
 * splitTraceBody({ tool: 'weather', args: { city: 'Lisbon' } })
 * // { open: { tool: 'weather' }, secret: { args: { city: 'Lisbon' } } }
 * ```
 */
export function splitTraceBody(body: { [name: string]: JsonValue | undefined }): {
  open: Record<string, JsonValue>
  secret: Record<string, JsonValue>
} {
  const open: Record<string, JsonValue> = {}
  const secret: Record<string, JsonValue> = {}
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined) continue
    if (PUBLIC_TRACE_BODY_FIELDS.has(name)) open[name] = value
    else secret[name] = value
  }
  return { open, secret }
}

export type SealTraceBodyParameters = SealedTraceBodyContext & { key: Uint8Array; body: JsonValue }
export type SealTraceBodyReturnType = JsonValue

/**
 * Seals the private fields of an object body (returns other bodies, and bodies with no private
 * field, unchanged).
 *
 * @example
 * ```ts
 * const sealed = sealTraceBody({ key, origin, agent, seq: 4, kind: 'tool-call', body: { tool: 'weather', args: { city: 'Lisbon' } } })
 * // { tool: 'weather', sealed: { v, alg, nonce, ciphertext } }
 * ```
 */
export function sealTraceBody(parameters: SealTraceBodyParameters): SealTraceBodyReturnType {
  const { key, body } = parameters
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body
  const { open, secret } = splitTraceBody(body)
  if (Object.keys(secret).length === 0) return body
  const nonce = randomBytes(AEAD_NONCE_LENGTH)
  const ciphertext = aeadEncrypt({
    key,
    nonce,
    plaintext: utf8ToBytes(canonicalJson(secret)),
    associatedData: sealedBodyAssociatedData(parameters),
  })
  const sealed: SealedTraceBodyPart = {
    v: SEALED_TRACE_BODY_VERSION,
    alg: AEAD_ALGORITHM,
    nonce: toBase64(nonce),
    ciphertext: toBase64(ciphertext),
  }
  return { ...open, sealed }
}

/**
 * Whether a body carries a sealed part.
 *
 * @example
 * ```ts
 * if (isSealedTraceBody(entry.body)) console.log('sealed')
 * ```
 */
export function isSealedTraceBody(body: JsonValue | undefined): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false
  const sealed = (body as Record<string, JsonValue>).sealed
  return typeof sealed === 'object' && sealed !== null && (sealed as { v?: unknown }).v === SEALED_TRACE_BODY_VERSION
}

export type OpenSealedTraceBodyParameters = SealedTraceBodyContext & { key: Uint8Array; body: JsonValue }
export type OpenSealedTraceBodyReturnType = JsonValue

/**
 * Opens a sealed body: the public fields merged with the decrypted private ones (a body that is
 * not sealed is returned as is). A wrong key, an altered ciphertext, or a sealed part moved to
 * another entry, trace or agent throws {@link IntegrityError}.
 *
 * @example
 * ```ts
 * const body = openSealedTraceBody({ key, origin, agent: entry.agent, seq: entry.seq, kind: entry.kind, body: entry.body })
 * ```
 */
export function openSealedTraceBody(parameters: OpenSealedTraceBodyParameters): OpenSealedTraceBodyReturnType {
  const { key, body } = parameters
  if (!isSealedTraceBody(body)) return body
  const { sealed, ...open } = body as Record<string, JsonValue> & { sealed: Record<string, JsonValue> }
  const where = `trace entry seq ${parameters.seq}`
  let nonce: Uint8Array
  let ciphertext: Uint8Array
  try {
    if (sealed.alg !== AEAD_ALGORITHM) throw new TypeError(`unknown algorithm ${String(sealed.alg)}`)
    nonce = fromBase64(sealed.nonce as string, 'sealed nonce')
    ciphertext = fromBase64(sealed.ciphertext as string, 'sealed ciphertext')
    if (nonce.length !== AEAD_NONCE_LENGTH) throw new TypeError('the nonce is not 12 bytes')
  } catch (cause) {
    throw new IntegrityError('Sealed trace body is malformed', { details: `${where}: ${(cause as Error).message}`, cause })
  }
  const plaintext = aeadDecrypt({
    key,
    nonce,
    ciphertext,
    associatedData: sealedBodyAssociatedData(parameters),
    label: `sealed body of ${where}`,
  })
  let secret: unknown
  try {
    secret = JSON.parse(bytesToUtf8(plaintext))
  } catch (cause) {
    throw new IntegrityError('Sealed trace body is malformed', { details: `${where}: not JSON`, cause })
  }
  if (typeof secret !== 'object' || secret === null || Array.isArray(secret))
    throw new IntegrityError('Sealed trace body is malformed', { details: `${where}: not an object` })
  return { ...open, ...(secret as Record<string, JsonValue>) }
}
