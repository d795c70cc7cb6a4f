/**
 * BN254 scalar field elements as EZKL writes them, and EZKL's fixed-point encoding:
 * a real `x` at scale `s` is the integer `round(x * 2^s)`, negatives as `p - |n|`.
 */

/** The BN254 scalar field modulus (EZKL's `Fr`). */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

/**
 * Parses a field element written as `0x` big-endian hex (witness files) or bare little-endian
 * hex (proof `instances`).
 *
 * @example
 * ```ts
 * parseFelt('0x40') // 64n
 * parseFelt('4000000000000000000000000000000000000000000000000000000000000000') // 64n
 * ```
 */
export function parseFelt(text: string): bigint {
  if (/^0x[0-9a-fA-F]{1,64}$/.test(text)) return BigInt(text)
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new TypeError(`parseFelt: not a field element: ${text.slice(0, 80)}`)
  let bigEndian = ''
  for (let index = 62; index >= 0; index -= 2) bigEndian += text.slice(index, index + 2)
  return BigInt(`0x${bigEndian}`)
}

/**
 * The signed integer a field element stands for (values above p/2 are negative).
 *
 * @example
 * ```ts
 * feltToSignedInteger(FIELD_MODULUS - 3n) // -3n
 * ```
 */
export function feltToSignedInteger(felt: bigint): bigint {
  if (felt < 0n || felt >= FIELD_MODULUS) throw new RangeError('feltToSignedInteger: element out of field range')
  return felt > FIELD_MODULUS / 2n ? felt - FIELD_MODULUS : felt
}

/**
 * Decodes a fixed-point field element at `scale` to a float (exact for the values EZKL produces).
 *
 * @example
 * ```ts
 * feltToFloat(parseFelt('0x66'), 7) // 0.796875
 * ```
 */
export function feltToFloat(felt: bigint, scale: number): number {
  return Number(feltToSignedInteger(felt)) / 2 ** scale
}
