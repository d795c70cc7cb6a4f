import { z } from 'zod'
import { constantTimeEqual, toHex, utf8ToBytes } from '../crypto/bytes.js'
import { canonicalDigest, canonicalJson } from '../crypto/canonical-json.js'
import { digest, isDigest } from '../crypto/digest.js'
import { randomBytes } from '../crypto/random.js'
import { parseInput } from '../validation.js'
import type { ModelPackage } from './model-package.js'
import { proofFileProblem } from './proof-file.js'
import { proofOutputs, verifyProof } from './prove.js'
import { verifyProverAttestation } from './prover-attestation.js'

/** Format tag of receipts. */
export const RECEIPT_FORMAT = 'verity-receipt/v1'

const digestSchema = z.string().refine(isDigest, 'expected sha256:<64 hex>')

/** Lifecycle of a receipt: made with the witness, then proven, then verified (or failed). */
export const receiptStatusSchema = z.enum(['pending', 'proven', 'verified', 'failed'])
export type ReceiptStatus = z.output<typeof receiptStatusSchema>

/**
 * A receipt (zod schema): what was computed, by which circuit, and where its proof stands.
 * Strict: a field this format does not define is refused, so nothing rides along unbound.
 */
export const receiptSchema = z.strictObject({
  format: z.literal(RECEIPT_FORMAT),
  /** Digest of the claim (model, input commitment, output, createdAt): stable across statuses. */
  id: digestSchema,
  model: z.strictObject({
    name: z.string(),
    version: z.string(),
    digest: digestSchema,
    settingsDigest: digestSchema,
    vkDigest: digestSchema,
    srsDigest: digestSchema,
    srsKind: z.enum(['dev', 'ceremony']),
  }),
  input: z.strictObject({
    /** `sha256(canonicalJson({ input, salt }))` for private input; without `salt` when public. */
    commitment: digestSchema,
    salted: z.boolean(),
    visibility: z.enum(['private', 'public', 'hashed']),
  }),
  /** The proven output (circuit fixed-point rescaled to floats), one array per model output. */
  output: z.array(z.array(z.number())),
  proofDigest: digestSchema.nullable(),
  status: receiptStatusSchema,
  createdAt: z.string(),
  provenAt: z.string().optional(),
  verifiedAt: z.string().optional(),
  error: z.string().optional(),
  /** The prover node's EIP-712 signature over (id, proofDigest, address); see prover-attestation.ts. */
  prover: z
    .strictObject({
      address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
      signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
    })
    .optional(),
})
export type Receipt = z.output<typeof receiptSchema>

function claimOf(receipt: Pick<Receipt, 'format' | 'model' | 'input' | 'output' | 'createdAt'>) {
  return {
    format: receipt.format,
    model: receipt.model,
    input: receipt.input,
    output: receipt.output,
    createdAt: receipt.createdAt,
  }
}

/**
 * The content address of a receipt in its current state: `canonicalDigest(receipt)` (RFC 8785).
 *
 * @example
 * ```ts
 * trace.append({ kind: 'receipt-proven', refs: [receiptDigest(receipt)] })
 * ```
 */
export function receiptDigest(receipt: Receipt): string {
  return canonicalDigest(receipt)
}

/**
 * Commits to a model input: sha256 of the RFC 8785 form of `{ input, salt }` (salt: 32 random bytes
 * as hex) for a private input, of `{ input }` for a public one. Keep the salt to open it later.
 *
 * @example
 * ```ts
 * const { commitment, salt } = commitInput({ input: [[1, 2]], salted: true })
 * ```
 */
export function commitInput(parameters: { input: number[][]; salted: boolean; salt?: string | undefined }): {
  commitment: string
  salt: string | undefined
} {
  const salt = parameters.salted ? (parameters.salt ?? toHex(randomBytes(32))) : undefined
  const commitment = canonicalDigest(salt === undefined ? { input: parameters.input } : { input: parameters.input, salt })
  return { commitment, salt }
}

/**
 * True when `input` (and `salt`) open the receipt's input commitment (constant-time compare).
 *
 * @example
 * ```ts
 * openInputCommitment({ receipt, input: [[1, 2]], salt }) // true
 * ```
 */
export function openInputCommitment(parameters: { receipt: Receipt; input: number[][]; salt?: string | undefined }): boolean {
  const { commitment } = commitInput({ input: parameters.input, salted: parameters.salt !== undefined, salt: parameters.salt })
  return constantTimeEqual(utf8ToBytes(commitment), utf8ToBytes(parameters.receipt.input.commitment))
}

export type CreateReceiptParameters = { package: ModelPackage; input: number[][]; output: number[][]; now?: Date | undefined }
export type CreateReceiptReturnType = { receipt: Receipt; salt: string | undefined }

/**
 * A *pending* receipt for a witness output. Private inputs are committed with a fresh salt,
 * returned to the caller (it is not in the receipt).
 *
 * @example
 * ```ts
 * const { receipt, salt } = createReceipt({ package: model, input, output })
 * ```
 */
export function createReceipt(parameters: CreateReceiptParameters): CreateReceiptReturnType {
  const model = parameters.package
  const visibility = model.manifest.visibility.input
  const { commitment, salt } = commitInput({ input: parameters.input, salted: visibility !== 'public' })
  const base = {
    format: RECEIPT_FORMAT as typeof RECEIPT_FORMAT,
    model: {
      name: model.manifest.name,
      version: model.manifest.version,
      digest: model.digest,
      settingsDigest: digest(model.settings),
      vkDigest: digest(model.vk),
      srsDigest: digest(model.srs),
      srsKind: model.manifest.srs.kind,
    },
    input: { commitment, salted: salt !== undefined, visibility },
    output: parameters.output,
    createdAt: (parameters.now ?? new Date()).toISOString(),
  }
  return { receipt: { ...base, id: canonicalDigest(claimOf(base)), proofDigest: null, status: 'pending' }, salt }
}

/** One check {@link verifyReceipt} made. */
export type ReceiptCheck = { name: string; ok: boolean; details?: string | undefined }
export type VerifyReceiptParameters = {
  receipt: unknown
  proof: Uint8Array
  /** The model package (only its vk, settings, SRS and manifest are used). */
  package: ModelPackage
}
export type VerifyReceiptReturnType = {
  valid: boolean
  checks: ReceiptCheck[]
  receipt?: Receipt | undefined
  /** The prover whose signature the receipt carries and which verified (undefined when unsigned). */
  prover?: string | undefined
}

const verifySchema = z.object({
  receipt: z.unknown(),
  proof: z.instanceof(Uint8Array),
  package: z.custom<ModelPackage>((value) => typeof value === 'object' && value !== null && 'manifest' in value),
})

/**
 * Verifies a receipt offline with nothing but the receipt, the proof and the package: format
 * (strict: no unknown field), claim id, model/settings/vk/SRS digests, the model labels (name,
 * version, SRS kind and digest, input visibility) against the package's manifest, proof digest, the
 * proof file's normal form (`hex_proof` equal to the proof bytes, no unbound field), the proof
 * itself, that the proof's public outputs equal the receipt's output, and the prover's signature
 * when the receipt carries one. Never throws for a
 * bad receipt or proof: `valid` is false and `checks` says which check failed.
 *
 * @example
 * ```ts
 * const { valid, checks } = verifyReceipt({ receipt, proof, package: model })
 * ```
 */
export function verifyReceipt(parameters: VerifyReceiptParameters): VerifyReceiptReturnType {
  const options = parseInput(verifySchema, parameters, { what: 'verifyReceipt parameters' })
  const checks: ReceiptCheck[] = []
  const add = (name: string, ok: boolean, details?: string) => {
    checks.push(details === undefined ? { name, ok } : { name, ok, details })
    return ok
  }
  const parsed = receiptSchema.safeParse(options.receipt)
  if (
    !add(
      'format',
      parsed.success,
      parsed.success ? undefined : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    )
  )
    return { valid: false, checks }
  const receipt = parsed.data as Receipt
  const model = options.package
  add(
    'claim id',
    canonicalDigest(claimOf(receipt)) === receipt.id,
    'the receipt id is the digest of its model, input, output and createdAt',
  )
  add('model digest', receipt.model.digest === model.digest, `receipt ${receipt.model.digest}, package ${model.digest}`)
  add('settings digest', receipt.model.settingsDigest === digest(model.settings))
  add('vk digest', receipt.model.vkDigest === digest(model.vk))
  add('srs digest', receipt.model.srsDigest === digest(model.srs) && receipt.model.srsDigest === model.manifest.srs.digest)
  const manifest = model.manifest
  const labels: string[] = []
  if (receipt.model.name !== manifest.name)
    labels.push(`name ${JSON.stringify(receipt.model.name)} ≠ ${JSON.stringify(manifest.name)}`)
  if (receipt.model.version !== manifest.version)
    labels.push(`version ${JSON.stringify(receipt.model.version)} ≠ ${JSON.stringify(manifest.version)}`)
  if (receipt.model.srsKind !== manifest.srs.kind) labels.push(`srsKind ${receipt.model.srsKind} ≠ ${manifest.srs.kind}`)
  add('model labels', labels.length === 0, labels.length ? labels.join('; ') : 'name, version and SRS kind are the manifest’s')
  add(
    'input visibility',
    receipt.input.visibility === manifest.visibility.input && receipt.input.salted === (manifest.visibility.input !== 'public'),
    `receipt ${receipt.input.visibility}${receipt.input.salted ? ' (salted)' : ''}, package ${manifest.visibility.input}`,
  )
  add('status', receipt.status === 'proven' || receipt.status === 'verified', `status is ${receipt.status}`)
  add(
    'status fields',
    (receipt.status !== 'verified' || (receipt.provenAt !== undefined && receipt.verifiedAt !== undefined)) &&
      (receipt.status === 'failed' || receipt.error === undefined),
    'a verified receipt has provenAt and verifiedAt; only a failed one has an error',
  )
  add('proof digest', receipt.proofDigest === digest(options.proof))
  const fileProblem = proofFileProblem(options.proof)
  add('proof file', fileProblem === undefined, fileProblem)
  let prover: string | undefined
  if (receipt.prover) {
    const signed =
      receipt.proofDigest !== null &&
      verifyProverAttestation({ receiptId: receipt.id, proofDigest: receipt.proofDigest, attestation: receipt.prover })
    if (add('prover signature', signed, `prover ${receipt.prover.address}`)) prover = receipt.prover.address
  }
  const proofOk = add('proof', verifyProof({ proof: options.proof, vk: model.vk, settings: model.settings, srs: model.srs }))
  if (proofOk) {
    let outputs: number[][] | undefined
    try {
      outputs = proofOutputs({ proof: options.proof, package: model })
    } catch (error) {
      add('public outputs', false, (error as Error).message)
    }
    if (outputs)
      add('public outputs', canonicalJson(outputs) === canonicalJson(receipt.output), `proof attests ${canonicalJson(outputs)}`)
  } else add('public outputs', false, 'the proof does not verify')
  return { valid: checks.every((check) => check.ok), checks, receipt, prover }
}
