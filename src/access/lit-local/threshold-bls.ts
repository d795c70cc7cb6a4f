import { bls12_381 as bls } from '@noble/curves/bls12-381.js'
import { fromHex, toHex } from '../../crypto/bytes.js'

/**
 * Threshold BLS12-381 as Lit uses it for decryption: the network public key is in G1
 * (48 bytes compressed), signatures over the identity are in G2 (96 bytes) hashed with
 * {@link LIT_BLS_DST}. A `t`-of-`n` Shamir sharing of the master secret gives each node a
 * share; each node's signature share is checked against its public share, and any `t`
 * verified shares combine (Lagrange interpolation at 0, in the exponent) into the signature
 * that `@lit-protocol/wasm` `blsDecrypt` accepts as the decryption key.
 */

/** The hash-to-curve domain separation tag of Lit's BLS signatures (proof-of-possession scheme). */
export const LIT_BLS_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'

const Fr = bls.fields.Fr

/** One node's share of the master secret. Secret: never log it. */
export type SecretShare = { index: number; secret: string; publicKey: string }

export type DealSharesParameters = { nodes: number; threshold: number }
export type DealSharesReturnType = { publicKey: string; threshold: number; shares: SecretShare[] }

/**
 * Deals a fresh master key as `threshold`-of-`nodes` Shamir shares (indices 1..nodes) and
 * forgets the master secret. Returns the network public key (G1, hex) and the shares.
 *
 * @example
 * ```ts
 * const { publicKey, shares } = dealShares({ nodes: 3, threshold: 2 })
 * ```
 */
export function dealShares(parameters: DealSharesParameters): DealSharesReturnType {
  const { nodes, threshold } = parameters
  if (!Number.isInteger(nodes) || !Number.isInteger(threshold) || threshold < 1 || threshold > nodes || nodes > 64)
    throw new RangeError(`dealShares: need 1 <= threshold <= nodes <= 64, got ${threshold} of ${nodes}`)
  const coefficients = Array.from({ length: threshold }, () => Fr.fromBytes(bls.utils.randomSecretKey()))
  const publicKey = bls.G1.Point.BASE.multiply(coefficients[0] as bigint).toHex(true)
  const shares: SecretShare[] = []
  for (let index = 1; index <= nodes; index++) {
    let value = 0n
    for (let power = threshold - 1; power >= 0; power--)
      value = Fr.add(Fr.mul(value, BigInt(index)), coefficients[power] as bigint)
    shares.push({ index, secret: toHex(Fr.toBytes(value)), publicKey: bls.G1.Point.BASE.multiply(value).toHex(true) })
  }
  coefficients.fill(0n)
  return { publicKey, threshold, shares }
}

/** Hashes an identity to G2 with Lit's DST. */
export function hashIdentity(identity: Uint8Array) {
  return bls.G2.hashToCurve(identity, { DST: LIT_BLS_DST })
}

/**
 * A node's signature share over `identity` (G2, 96 bytes compressed, hex).
 *
 * @example
 * ```ts
 * const share = signShare({ secret: node.secret, identity })
 * ```
 */
export function signShare(parameters: { secret: string; identity: Uint8Array }): string {
  const scalar = Fr.fromBytes(fromHex(parameters.secret, 'share secret'))
  return hashIdentity(parameters.identity).multiply(scalar).toHex(true)
}

/**
 * Checks that public shares are consistent with the network key: any `threshold` of them
 * interpolate to it. Used when pinning a network at first contact.
 *
 * @example
 * ```ts
 * if (!publicSharesMatch({ publicKey, threshold: 2, shares })) throw new Error('inconsistent network')
 * ```
 */
export function publicSharesMatch(parameters: {
  publicKey: string
  threshold: number
  shares: { index: number; publicKey: string }[]
}): boolean {
  const { threshold, shares } = parameters
  if (shares.length < threshold) return false
  try {
    const master = bls.G1.Point.fromHex(parameters.publicKey)
    // every window of `threshold` consecutive shares must interpolate to the master key
    for (let start = 0; start + threshold <= shares.length; start++) {
      const window = shares.slice(start, start + threshold)
      const indices = window.map((share) => BigInt(share.index))
      let sum = bls.G1.Point.ZERO
      for (const [position, share] of window.entries()) {
        const xi = indices[position] as bigint
        let numerator = 1n
        let denominator = 1n
        for (const xj of indices) {
          if (xj === xi) continue
          numerator = Fr.mul(numerator, xj)
          denominator = Fr.mul(denominator, Fr.sub(xj, xi))
        }
        sum = sum.add(bls.G1.Point.fromHex(share.publicKey).multiply(Fr.div(numerator, denominator)))
      }
      if (!sum.equals(master)) return false
    }
    return true
  } catch {
    return false
  }
}
