import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { isDigest } from '../crypto/digest.js'
import { InvalidInputError } from '../errors.js'
import { type Receipt, receiptSchema } from '../proofs/receipt.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'

/**
 * A folder of settled receipts and their proofs, named by the receipt id (the digest of its claim,
 * stable from *pending* to *verified*): `<dir>/<hex>.json` and `<dir>/<hex>.proof.json`, the layout
 * `verity proof verify <dir>/<hex>.json` reads. Trace entries link receipts by that id, so a
 * verifier finds a receipt from the trace alone.
 */

export type ReceiptDirectoryParameters = { dir: string }
export type ReceiptDirectoryFiles = { receipt: string; proof: string }
export type ReceiptDirectoryReturnType = {
  readonly dir: string
  /** Paths of the receipt with this id (whether or not they exist). */
  pathsOf(receiptId: string): ReceiptDirectoryFiles
  /** Writes a receipt and its proof durably (proof first, so a receipt file never lacks its proof). */
  save(receipt: Receipt, proof: Uint8Array | undefined): ReceiptDirectoryFiles
  /** Reads the receipt with this id and its proof, or undefined when absent. */
  load(receiptId: string): { receipt: unknown; proof: Uint8Array | undefined } | undefined
}

const parametersSchema = z.object({ dir: z.string().min(1) })

/**
 * Opens (lazily creates) a receipt folder.
 *
 * @example
 * ```ts
 * const receipts = receiptDirectory({ dir: join(home, 'receipts') })
 * receipts.save(settled.receipt, settled.proof) // { receipt: '…/ab12….json', proof: '…/ab12….proof.json' }
 * ```
 */
export function receiptDirectory(parameters: ReceiptDirectoryParameters): ReceiptDirectoryReturnType {
  const options = parseInput(parametersSchema, parameters, { what: 'receiptDirectory parameters' })
  const dir = resolve(options.dir)
  const pathsOf = (receiptId: string): ReceiptDirectoryFiles => {
    if (!isDigest(receiptId))
      throw new InvalidInputError('Not a receipt id', { details: receiptId, hint: 'Receipt ids look like sha256:<64 hex>.' })
    const name = receiptId.slice('sha256:'.length)
    return { receipt: join(dir, `${name}.json`), proof: join(dir, `${name}.proof.json`) }
  }
  return {
    dir,
    pathsOf,
    save(receipt, proof) {
      const parsed = parseInput(receiptSchema, receipt, { what: 'receipt' }) as Receipt
      const paths = pathsOf(parsed.id)
      mkdirSync(dir, { recursive: true })
      if (proof) writeFileAtomic({ path: paths.proof, data: proof, mode: 0o644 })
      writeFileAtomic({ path: paths.receipt, data: `${JSON.stringify(parsed, null, 2)}\n`, mode: 0o644 })
      return paths
    },
    load(receiptId) {
      const paths = pathsOf(receiptId)
      if (!existsSync(paths.receipt)) return undefined
      let receipt: unknown
      try {
        receipt = JSON.parse(readFileSync(paths.receipt, 'utf8'))
      } catch {
        receipt = undefined
      }
      const proof = existsSync(paths.proof) ? new Uint8Array(readFileSync(paths.proof)) : undefined
      return { receipt, proof }
    },
  }
}
