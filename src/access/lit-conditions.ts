import { z } from 'zod'
import { toHex, utf8ToBytes } from '../crypto/bytes.js'
import { sha256 } from '../crypto/digest.js'
import { InvalidInputError } from '../errors.js'
import { parseInput } from '../validation.js'
import { litAuthHelpers, litConditionsSdk } from './lit-sdk.js'

/**
 * Lit access-control conditions, exactly the JSON Lit documents: one of
 * `accessControlConditions` (basic EVM conditions), `evmContractConditions` (any view call)
 * or `unifiedAccessControlConditions` (both, tagged by `conditionType`), with `{ operator: 'and' | 'or' }`
 * between conditions and nested arrays for grouping. `:userAddress` stands for the requester.
 */

const conditionList = z.array(z.unknown()).min(1, 'conditions must not be empty').max(64)

/** zod schema of {@link LitConditions}: exactly one of the three condition lists, plus an optional chain. */
export const litConditionsSchema = z
  .object({
    accessControlConditions: conditionList.optional(),
    evmContractConditions: conditionList.optional(),
    unifiedAccessControlConditions: conditionList.optional(),
    chain: z.string().min(1).max(64).optional(),
  })
  .strict()
  .refine(
    (value) =>
      [value.accessControlConditions, value.evmContractConditions, value.unifiedAccessControlConditions].filter(
        (list) => list !== undefined,
      ).length === 1,
    'give exactly one of accessControlConditions, evmContractConditions, unifiedAccessControlConditions',
  )

/** Lit access-control conditions (see {@link litConditionsSchema}). */
export type LitConditions = {
  accessControlConditions?: unknown[] | undefined
  evmContractConditions?: unknown[] | undefined
  unifiedAccessControlConditions?: unknown[] | undefined
  /** The chain Lit's `decrypt` call names (defaults to the first condition's chain). */
  chain?: string | undefined
}

export type ParseLitConditionsReturnType = LitConditions & { chain: string }

/**
 * Validates conditions with zod and then with Lit's own JSON schemas (`@lit-protocol/access-control-conditions`),
 * so anything accepted here is accepted by the Lit network. Throws `InvalidInputError`.
 *
 * @example
 * ```ts
 * const conditions = await parseLitConditions({ accessControlConditions: [{ contractAddress: nft, standardContractType: 'ERC721',
 *   chain: 'ethereum', method: 'balanceOf', parameters: [':userAddress'], returnValueTest: { comparator: '>', value: '0' } }] })
 * ```
 */
export async function parseLitConditions(input: unknown): Promise<ParseLitConditionsReturnType> {
  const value = parseInput(litConditionsSchema, input, {
    what: 'Lit access-control conditions',
    hint: 'Give { accessControlConditions | evmContractConditions | unifiedAccessControlConditions: [...] } as Lit documents them.',
    docsPath: 'access.md',
  })
  try {
    if (value.accessControlConditions)
      await litConditionsSdk().validateAccessControlConditionsSchema(value.accessControlConditions as never)
    if (value.evmContractConditions)
      await litConditionsSdk().validateEVMContractConditionsSchema(value.evmContractConditions as never)
    if (value.unifiedAccessControlConditions)
      await litConditionsSdk().validateUnifiedAccessControlConditionsSchema(value.unifiedAccessControlConditions as never)
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    throw new InvalidInputError('Invalid Lit access-control conditions', {
      details: message.length > 600 ? `${message.slice(0, 600)}...` : message,
      hint: 'Check the conditions against Lit\'s schema (chain names are Lit\'s, e.g. "ethereum"; every condition needs returnValueTest).',
      docsPath: 'access.md',
      cause,
    })
  }
  const list = (value.accessControlConditions ?? value.evmContractConditions ?? value.unifiedAccessControlConditions) as unknown[]
  const chain = value.chain ?? firstChain(list)
  if (!chain)
    throw new InvalidInputError('Lit conditions name no chain', { hint: 'Add "chain" to the conditions.', docsPath: 'access.md' })
  return { ...value, chain }
}

function firstChain(list: unknown[]): string | undefined {
  for (const item of list) {
    if (Array.isArray(item)) {
      const nested = firstChain(item)
      if (nested) return nested
    } else if (item && typeof item === 'object' && typeof (item as { chain?: unknown }).chain === 'string')
      return (item as { chain: string }).chain
  }
  return undefined
}

/**
 * The hash Lit binds a ciphertext to (`hashAccessControlConditions` and friends), hex.
 *
 * @example
 * ```ts
 * const hash = await hashLitConditions(conditions) // '735d08...'
 * ```
 */
export async function hashLitConditions(conditions: LitConditions): Promise<string> {
  let hash: ArrayBuffer
  if (conditions.accessControlConditions)
    hash = await litConditionsSdk().hashAccessControlConditions(conditions.accessControlConditions as never)
  else if (conditions.evmContractConditions)
    hash = await litConditionsSdk().hashEVMContractConditions(conditions.evmContractConditions as never)
  else if (conditions.unifiedAccessControlConditions)
    hash = await litConditionsSdk().hashUnifiedAccessControlConditions(conditions.unifiedAccessControlConditions as never)
  else throw new InvalidInputError('No Lit conditions to hash')
  return toHex(new Uint8Array(hash))
}

/**
 * Lit's `dataToEncryptHash`: SHA-256 of the plaintext, hex.
 *
 * @example
 * ```ts
 * const dataToEncryptHash = litDataHash(dataKey)
 * ```
 */
export function litDataHash(data: Uint8Array): string {
  return toHex(sha256(data))
}

/**
 * The identity a Lit ciphertext is encrypted to, exactly as `LitNodeClient.encrypt` forms it:
 * the resource key `lit-accesscontrolcondition://<conditionsHash>/<dataToEncryptHash>`, UTF-8.
 *
 * @example
 * ```ts
 * const identity = litIdentity({ conditionsHash, dataToEncryptHash })
 * ```
 */
export function litIdentity(parameters: { conditionsHash: string; dataToEncryptHash: string }): Uint8Array {
  const resource = new (litAuthHelpers().LitAccessControlConditionResource)(
    `${parameters.conditionsHash}/${parameters.dataToEncryptHash}`,
  )
  return utf8ToBytes(resource.getResourceKey())
}
