import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { loadModelPackage, MODEL_MANIFEST_FILE, type ModelPackage } from '../proofs/model-package.js'
import { type ReceiptCheck, verifyReceipt } from '../proofs/receipt.js'
import type { TraceEntryLine, TraceRef } from '../trace/entry.js'
import type { ReceiptVerdict } from '../trace/verify-trace.js'
import { parseInput } from '../validation.js'
import { receiptDirectory } from './receipt-directory.js'

/**
 * Where the trace and the proofs meet: a `verifyReceipt` hook for `verifyTrace` that checks every
 * receipt a trace entry links, through the proofs module. It finds the receipt and its proof by id
 * in receipt folders (see `receiptDirectory`), the model package by the digest the receipt names in
 * model folders, and runs `verifyReceipt` (format, claim id, model/settings/vk/SRS digests, the EZKL
 * proof itself, the proven output). A `proof` ref on the same entry must be the receipt's proof.
 * A receipt it cannot find is `unchecked` (not a failure: it may have been withheld).
 */

/** Why each receipt got its verdict (filled as the trace is verified). */
export type TraceReceiptDetail = {
  digest: string
  verdict: ReceiptVerdict
  reason: string
  receiptFile?: string | undefined
  proofFile?: string | undefined
  model?: string | undefined
  output?: number[][] | undefined
  proofDigest?: string | undefined
  checks?: ReceiptCheck[] | undefined
}

export type CreateTraceReceiptVerifierParameters = {
  /** Folders holding `<hex>.json` receipts and `<hex>.proof.json` proofs. */
  receiptDirectories: string[]
  /** Model package folders, or folders of packages (e.g. `models/`). */
  modelDirectories: string[]
}
export type CreateTraceReceiptVerifierReturnType = {
  /** Pass as `verifyTrace({ path, verifyReceipt })`. */
  verifyReceipt: (ref: TraceRef, entry: TraceEntryLine) => Promise<ReceiptVerdict>
  /** One detail per distinct receipt checked. */
  readonly details: Map<string, TraceReceiptDetail>
}

const parametersSchema = z.object({
  receiptDirectories: z.array(z.string().min(1)),
  modelDirectories: z.array(z.string().min(1)),
})

/**
 * Creates the receipt hook for `verifyTrace`.
 *
 * @example
 * ```ts
 * const receipts = createTraceReceiptVerifier({ receiptDirectories: ['run/receipts'], modelDirectories: ['models'] })
 * const report = await verifyTrace({ path: 'run/trace.jsonl', verifyReceipt: receipts.verifyReceipt })
 * ```
 */
export function createTraceReceiptVerifier(
  parameters: CreateTraceReceiptVerifierParameters,
): CreateTraceReceiptVerifierReturnType {
  const options = parseInput(parametersSchema, parameters, { what: 'createTraceReceiptVerifier parameters' })
  const folders = options.receiptDirectories.map((dir) => receiptDirectory({ dir }))
  const details = new Map<string, TraceReceiptDetail>()
  let packages: ModelPackage[] | undefined
  const findPackage = (modelDigest: string): ModelPackage | undefined => {
    packages ??= loadPackages(options.modelDirectories)
    return packages.find((candidate) => candidate.digest === modelDigest)
  }
  const check = (digest: string): TraceReceiptDetail => {
    for (const folder of folders) {
      let found: ReturnType<typeof folder.load>
      try {
        found = folder.load(digest)
      } catch {
        return { digest, verdict: 'failed', reason: 'not a receipt id' }
      }
      if (!found) continue
      const files = folder.pathsOf(digest)
      const base = { digest, receiptFile: files.receipt }
      if (!found.proof)
        return { ...base, verdict: 'unchecked', reason: 'the receipt has no proof file (proving failed or it was withheld)' }
      const receipt = found.receipt as { id?: unknown; model?: { digest?: unknown } } | undefined
      if (receipt?.id !== digest) return { ...base, verdict: 'failed', reason: `the file holds receipt ${String(receipt?.id)}` }
      const model = findPackage(String(receipt.model?.digest))
      if (!model)
        return {
          ...base,
          proofFile: files.proof,
          verdict: 'unchecked',
          reason: `no model package with digest ${String(receipt.model?.digest)}`,
        }
      const result = verifyReceipt({ receipt: found.receipt, proof: found.proof, package: model })
      const failed = result.checks.filter((item) => !item.ok)
      return {
        ...base,
        proofFile: files.proof,
        verdict: result.valid ? 'verified' : 'failed',
        reason: result.valid
          ? 'verified'
          : failed.map((item) => `${item.name}${item.details ? ` (${item.details})` : ''}`).join('; '),
        model: `${model.manifest.name}@${model.manifest.version}`,
        output: result.receipt?.output,
        proofDigest: result.receipt?.proofDigest ?? undefined,
        checks: result.checks,
      }
    }
    return { digest, verdict: 'unchecked', reason: 'receipt not found in the receipt folders' }
  }
  return {
    details,
    async verifyReceipt(ref, entry) {
      let detail = details.get(ref.digest)
      if (!detail) {
        detail = check(ref.digest)
        details.set(ref.digest, detail)
      }
      if (detail.verdict !== 'verified') return detail.verdict
      // A proof linked beside the receipt must be the receipt's proof.
      const proofRefs = entry.refs.filter((item) => item.type === 'proof')
      if (proofRefs.length > 0 && !proofRefs.some((item) => item.digest === detail.proofDigest)) return 'failed'
      return 'verified'
    },
  }
}

function loadPackages(directories: string[]): ModelPackage[] {
  const found: ModelPackage[] = []
  const tryLoad = (dir: string) => {
    try {
      found.push(loadModelPackage({ dir }))
    } catch {
      // not a valid package: skipped (receipts naming it stay unchecked)
    }
  }
  for (const directory of directories.map((dir) => resolve(dir))) {
    if (!existsSync(directory)) continue
    if (existsSync(join(directory, MODEL_MANIFEST_FILE))) tryLoad(directory)
    else
      for (const name of readdirSync(directory))
        if (existsSync(join(directory, name, MODEL_MANIFEST_FILE))) tryLoad(join(directory, name))
  }
  return found
}
