import { keccak_256 } from '@noble/hashes/sha3.js'
import { getAddress } from 'ethers'
import * as secp256k1 from 'tiny-secp256k1'
import { assertBytes, fromHex, toHex } from '../crypto/bytes.js'
import { InvalidInputError } from '../errors.js'

/**
 * Fast secp256k1 signing and recovery for EIP-712 digests, on libsecp256k1 (compiled to WASM by
 * `tiny-secp256k1`). Signatures are RFC 6979 deterministic with low `s`, so they are byte-identical
 * to ethers' `Wallet.signTypedData` and to `@noble/curves` (tested), about ten times faster than
 * either on this machine.
 */

/**
 * Signs 32-byte digests for one address. A small versioned interface so that a hardware or
 * remote signer can stand in for the built-in key signer.
 *
 * @example
 * ```ts
 * const signature = signer.signDigest(traceEntryDigest) // 65 bytes: r || s || v (27 or 28)
 * ```
 */
export type AgentSigner = {
  readonly specificationVersion: 'v1'
  /** EIP-55 checksummed address of the key. */
  readonly address: string
  /** Signs a 32-byte digest; returns the 65-byte Ethereum signature `r || s || v` with v in {27, 28}. */
  signDigest(digest: Uint8Array): Uint8Array
}

export type CreateKeySignerParameters = {
  /** The 32-byte secret key, as bytes or `0x` hex. */
  privateKey: Uint8Array | string
}
export type CreateKeySignerReturnType = AgentSigner

/**
 * An {@link AgentSigner} over a raw secp256k1 key. The key stays in the closure: it is never
 * exposed as a property and never serialised.
 *
 * @example
 * ```ts
 * const signer = createKeySigner({ privateKey: wallet.privateKey })
 * signer.address === wallet.address // true
 * ```
 */
export function createKeySigner(parameters: CreateKeySignerParameters): CreateKeySignerReturnType {
  const key = typeof parameters.privateKey === 'string' ? fromHex(parameters.privateKey, 'privateKey') : parameters.privateKey
  if (!(key instanceof Uint8Array) || key.length !== 32 || !secp256k1.isPrivate(key))
    throw new InvalidInputError('Invalid secp256k1 private key', {
      details: 'A private key is 32 bytes, non-zero and below the curve order.',
      hint: 'Pass the key of an ethers Wallet (wallet.privateKey) or 32 random bytes.',
    })
  const secret = new Uint8Array(key)
  const publicKey = secp256k1.pointFromScalar(secret, false)
  if (!publicKey) throw new InvalidInputError('Invalid secp256k1 private key')
  const address = publicKeyToAddress(publicKey)
  return {
    specificationVersion: 'v1',
    address,
    signDigest(digest) {
      assertBytes(digest, 'signDigest(digest)', 32)
      const { signature, recoveryId } = secp256k1.signRecoverable(digest, secret)
      const out = new Uint8Array(65)
      out.set(signature, 0)
      out[64] = 27 + recoveryId
      return out
    },
  }
}

/**
 * The Ethereum address of an uncompressed secp256k1 public key (65 bytes, `0x04 || x || y`).
 *
 * @example
 * ```ts
 * publicKeyToAddress(publicKey) // '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826'
 * ```
 */
export function publicKeyToAddress(publicKey: Uint8Array): string {
  assertBytes(publicKey, 'publicKeyToAddress(publicKey)', 65)
  return checksumAddress(`0x${toHex(keccak_256(publicKey.subarray(1))).slice(24)}`)
}

const checksummed = new Map<string, string>()

/**
 * EIP-55 checksum form of an address (cached: a trace has few signers and checksumming costs a keccak).
 * Throws like ethers' `getAddress` on a malformed address.
 *
 * @example
 * ```ts
 * checksumAddress('0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826') // '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826'
 * ```
 */
export function checksumAddress(address: string): string {
  let result = checksummed.get(address)
  if (result === undefined) {
    result = getAddress(address)
    if (checksummed.size > 4096) checksummed.clear()
    checksummed.set(address, result)
  }
  return result
}

export type RecoverDigestSignerParameters = {
  /** The 32-byte digest that was signed. */
  digest: Uint8Array
  /** 65-byte signature `r || s || v`, v in {27, 28} (or {0, 1}). */
  signature: Uint8Array
}
/** The signer's address, or `undefined` when the signature is malformed or recovers to nothing. */
export type RecoverDigestSignerReturnType = string | undefined

/**
 * Recovers the address that signed a digest, like Solidity's `ecrecover`. Refuses high-`s`
 * (malleable) signatures, as OpenZeppelin's `ECDSA.recover` does.
 *
 * @example
 * ```ts
 * recoverDigestSigner({ digest, signature }) === signer.address
 * ```
 */
export function recoverDigestSigner(parameters: RecoverDigestSignerParameters): RecoverDigestSignerReturnType {
  const publicKey = recoverPublicKey(parameters.digest, parameters.signature)
  return publicKey ? publicKeyToAddress(publicKey) : undefined
}

/** Half the secp256k1 group order: signatures with a larger `s` are malleable and refused. */
const HALF_ORDER = fromHex('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0')

/**
 * Splits and checks an Ethereum signature; returns the 64-byte compact form and recovery id,
 * or `undefined` when it is malformed (wrong length, bad v, high s).
 *
 * @example
 * ```ts
 * const parts = splitSignature(signature)
 * ```
 */
export function splitSignature(signature: Uint8Array): { compact: Uint8Array; recoveryId: 0 | 1 } | undefined {
  if (!(signature instanceof Uint8Array) || signature.length !== 65) return undefined
  const v = signature[64] as number
  const recoveryId = v === 27 || v === 0 ? 0 : v === 28 || v === 1 ? 1 : undefined
  if (recoveryId === undefined) return undefined
  const s = signature.subarray(32, 64)
  if (compareBytes(s, HALF_ORDER) > 0) return undefined
  return { compact: signature.subarray(0, 64), recoveryId }
}

function recoverPublicKey(digest: Uint8Array, signature: Uint8Array): Uint8Array | undefined {
  assertBytes(digest, 'recoverDigestSigner(digest)', 32)
  const parts = splitSignature(signature)
  if (!parts) return undefined
  try {
    return secp256k1.recover(digest, parts.compact, parts.recoveryId, false) ?? undefined
  } catch {
    return undefined
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let index = 0; index < a.length; index++) {
    const difference = (a[index] as number) - (b[index] as number)
    if (difference !== 0) return difference
  }
  return 0
}
