import { toHex } from '../crypto/bytes.js'
import { ProofError } from '../errors.js'

/**
 * The fields of an EZKL 21 proof file and what binds each one:
 * - read by the verifier: `protocol`, `instances`, `proof`, `transcript_type`, `split`, `commitment`;
 * - derived from `proof` and checked: `hex_proof` (`0x` + the hex of `proof`: an EVM verifier reads it).
 * Fields the verifier ignores (`pretty_public_inputs`, `timestamp`, `version`) are dropped by
 * {@link normalizeProof}: nothing in a Verity proof file can change without the verdict noticing.
 */
const PROOF_FIELDS = ['protocol', 'instances', 'proof', 'hex_proof', 'transcript_type', 'split', 'commitment'] as const
const DROPPED_FIELDS = new Set(['pretty_public_inputs', 'timestamp', 'version'])

type ProofObject = Record<string, unknown> & { proof: number[] }

function parseProofObject(bytes: Uint8Array): ProofObject {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes))
  } catch (cause) {
    throw new ProofError('The proof is not an EZKL proof file', {
      details: (cause as Error).message,
      cause,
      docsPath: 'proofs.md',
    })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ProofError('The proof is not an EZKL proof file', { details: 'not a JSON object', docsPath: 'proofs.md' })
  const object = parsed as Record<string, unknown>
  const proof = object.proof
  if (!Array.isArray(proof) || !proof.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255))
    throw new ProofError('The proof is not an EZKL proof file', { details: '`proof` is not a byte array', docsPath: 'proofs.md' })
  if (!Array.isArray(object.instances))
    throw new ProofError('The proof is not an EZKL proof file', { details: '`instances` is missing', docsPath: 'proofs.md' })
  for (const key of Object.keys(object))
    if (!(PROOF_FIELDS as readonly string[]).includes(key) && !DROPPED_FIELDS.has(key))
      throw new ProofError('The proof file has an unknown field', { details: key, docsPath: 'proofs.md' })
  return object as ProofObject
}

function hexOf(proof: number[]): string {
  return `0x${toHex(new Uint8Array(proof))}`
}

/**
 * The normal form of an EZKL proof file that every Verity backend returns: `hex_proof` checked
 * against (or filled from) the `proof` bytes, the fields the verifier ignores (`pretty_public_inputs`,
 * `timestamp`, `version`) dropped, keys in a fixed order. The engine and the native toolchain give the same
 * normal form for the same proof. Throws {@link ProofError} for a file that is not a proof or whose
 * `hex_proof` disagrees with its `proof`.
 *
 * @example
 * ```ts
 * const proof = normalizeProof(new Uint8Array(engine.prove(witness, pk, compiled, srs)))
 * ```
 */
export function normalizeProof(bytes: Uint8Array): Uint8Array {
  const object = parseProofObject(bytes)
  const hex = hexOf(object.proof)
  if (object.hex_proof !== undefined && object.hex_proof !== null && String(object.hex_proof).toLowerCase() !== hex)
    throw new ProofError('The proof file’s hex_proof disagrees with its proof bytes', { docsPath: 'proofs.md' })
  const normal: Record<string, unknown> = {}
  for (const key of PROOF_FIELDS) normal[key] = key === 'hex_proof' ? hex : (object[key] ?? null)
  return new TextEncoder().encode(JSON.stringify(normal))
}

/**
 * Checks that a proof file is in {@link normalizeProof normal form}: every field bound, `hex_proof`
 * equal to the `proof` bytes. Returns a reason when it is not, undefined when it is.
 *
 * @example
 * ```ts
 * proofFileProblem(proof) // undefined for a proof a Verity backend made
 * ```
 */
export function proofFileProblem(bytes: Uint8Array): string | undefined {
  let normal: Uint8Array
  try {
    normal = normalizeProof(bytes)
  } catch (error) {
    return (error as Error).message
  }
  if (normal.length !== bytes.length || !normal.every((byte, index) => byte === bytes[index]))
    return 'the proof file is not in normal form (fields the verifier ignores such as timestamp, or reordered)'
  return undefined
}
