import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { InvalidInputError, NotFoundError } from '../errors.js'

export type ReadReceiptFilesParameters = {
  /** The receipt JSON file. */
  receipt: string
  /** `--proof FILE`; default the receipt's path with `.proof.json` for `.json`. */
  proof?: string | undefined
}

export type ReadReceiptFilesReturnType = {
  /** The parsed receipt JSON (checked later by whoever verifies it). */
  receipt: unknown
  receiptPath: string
  proof: Uint8Array
  proofPath: string
}

/**
 * Reads a receipt and its proof file as `verity proof verify` and `verity chain verify` take them.
 *
 * @example
 * ```ts
 * const { receipt, proof } = readReceiptFiles({ receipt: 'receipts/abc.json' }) // proof: receipts/abc.proof.json
 * ```
 */
export function readReceiptFiles(parameters: ReadReceiptFilesParameters): ReadReceiptFilesReturnType {
  const receiptPath = resolve(parameters.receipt)
  let receipt: unknown
  try {
    receipt = JSON.parse(readFileSync(receiptPath, 'utf8'))
  } catch (cause) {
    throw new InvalidInputError('Could not read the receipt', {
      details: `${receiptPath}: ${(cause as Error).message}`,
      hint: 'Pass the receipt JSON file a proven tool call wrote.',
      cause,
    })
  }
  const proofPath = resolve(parameters.proof ?? receiptPath.replace(/(\.json)?$/, '.proof.json'))
  if (!existsSync(proofPath))
    throw new NotFoundError('The proof file does not exist', { details: proofPath, hint: 'Pass it with --proof FILE.' })
  return { receipt, receiptPath, proof: new Uint8Array(readFileSync(proofPath)), proofPath }
}
