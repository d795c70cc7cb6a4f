import type { Signer } from 'ethers'
import type { ParseLitConditionsReturnType } from './lit-conditions.js'

/**
 * The `LitNetwork` extension point, version 1: what the `lit` guard needs from a Lit network.
 * Two implementations ship: {@link litNodeNetwork} (the public Lit network through
 * `@lit-protocol/lit-node-client` v7) and `litLocalNetwork` (the local Lit-compatible network).
 */
export interface LitNetwork {
  readonly specificationVersion: 'v1'
  /** A stable name for pinning its public key (`datil`, `lit-local`...). */
  readonly name: string
  /** Handshake: the network's BLS12-381 public key (G1, 96 hex characters). */
  getNetworkPublicKey(): Promise<string>
  /**
   * Asks the network to decrypt a Lit ciphertext for the wallet behind `signer` (which signs a
   * SIWE session). Throws `AccessDeniedError` when the conditions or authentication refuse,
   * `NetworkError` when too few nodes answer, `InvalidInputError` for conditions it cannot evaluate.
   */
  decrypt(parameters: LitDecryptParameters): Promise<Uint8Array>
  /** Releases connections (optional). */
  close?(): Promise<void>
}

export type LitDecryptParameters = {
  /** Lit ciphertext, base64 (as `encryptString` returns it). */
  ciphertext: string
  /** SHA-256 of the plaintext, hex (Lit's `dataToEncryptHash`). */
  dataToEncryptHash: string
  conditions: ParseLitConditionsReturnType
  signer: Signer
}
