import { createECDH, ECDH } from 'node:crypto'
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { HDNodeWallet, Wallet } from 'ethers'
import { z } from 'zod'
import { concatBytes, fromHex, toHex } from '../crypto/bytes.js'
import { hkdf } from '../crypto/hkdf.js'
import { IntegrityError, InvalidInputError, InvalidStateError, WrongKeyError } from '../errors.js'
import { parseInput } from '../validation.js'
import { ethersSdk } from './ethers-sdk.js'
import type { Guard, GuardContext, Stanza } from './guard.js'
import { openStanza, readStanzaBody, sealStanza } from './stanza-seal.js'

const hexSchema = z.string().regex(/^(0x)?[0-9a-fA-F]+$/, 'must be hex')

const parametersSchema = z.union([
  z.object({
    wallet: z.custom<Wallet | HDNodeWallet>(
      (value) => value instanceof Object && 'signingKey' in (value as object),
      'must be an ethers Wallet',
    ),
  }),
  z.object({ privateKey: hexSchema }),
  z.object({ keystore: z.string().min(2), password: z.string() }),
  z.object({ publicKey: hexSchema }),
  z.object({ message: z.string(), signature: hexSchema }),
])

const stanzaParamsSchema = z.object({ ephemeralPublicKey: hexSchema, recipientPublicKey: hexSchema.optional() })

/** How to name the owner: a key that can unwrap, or a public key / signature that can only wrap. */
export type OwnerGuardParameters =
  /** An ethers Wallet (wrap and unwrap). */
  | { wallet: Wallet | HDNodeWallet }
  /** A raw secp256k1 private key, hex (wrap and unwrap). */
  | { privateKey: string }
  /** An encrypted JSON keystore (ethers / geth format) and its password (wrap and unwrap). */
  | { keystore: string; password: string }
  /** The owner's secp256k1 public key, hex, compressed or not (wrap only: for granting). */
  | { publicKey: string }
  /** A message the owner signed with `personal_sign`, from which the public key is recovered (wrap only). */
  | { message: string; signature: string }
export type OwnerGuardReturnType = Guard & {
  /** The owner's checksummed address (the stanza's `recipient`). */
  readonly address: string
  /** The owner's compressed public key, hex with `0x`. */
  readonly publicKey: string
  /** True when this guard holds the private key and can unwrap. */
  readonly canUnwrap: boolean
}

const INFO = 'verity/owner-guard/v1'

/**
 * A guard that wraps the data key to an Ethereum wallet's secp256k1 key with ECIES:
 * an ephemeral ECDH key agreement, HKDF-SHA256 over the shared point's x coordinate (salted with both public keys),
 * then AES-256-GCM bound to the vault id and key id. Only the owner's private key unwraps.
 *
 * An address alone cannot be wrapped to (an address is a hash of the public key): pass the
 * public key, or a message the owner signed so the public key can be recovered.
 *
 * @example
 * ```ts
 * const owner = ownerGuard({ wallet: Wallet.createRandom() })
 * const vault = await createVault({ path: './memory', guards: [owner] })
 * // grant a friend, knowing only their public key:
 * await vault.grant(ownerGuard({ publicKey: friendPublicKey }))
 * ```
 */
export function ownerGuard(parameters: OwnerGuardParameters): OwnerGuardReturnType {
  const input = parseInput(parametersSchema, parameters, {
    what: 'ownerGuard parameters',
    hint: 'Pass { wallet }, { privateKey }, { keystore, password }, or for wrap only { publicKey } or { message, signature }. An address alone is not enough: ECIES needs the public key.',
    docsPath: 'access.md',
  })
  let privateKey: Uint8Array | undefined
  let publicKey: Uint8Array
  try {
    if ('wallet' in input) privateKey = fromHex(input.wallet.privateKey)
    else if ('privateKey' in input) privateKey = fromHex(input.privateKey)
    else if ('keystore' in input)
      privateKey = fromHex(ethersSdk().Wallet.fromEncryptedJsonSync(input.keystore, input.password).privateKey)
    if (privateKey) {
      if (privateKey.length !== 32) throw new RangeError(`a secp256k1 private key is 32 bytes, got ${privateKey.length}`)
      publicKey = ecdhOf(privateKey).getPublicKey(null, 'compressed')
    } else if ('publicKey' in input) {
      publicKey = convertPoint(fromHex(input.publicKey), 'compressed')
    } else if ('signature' in input) {
      const { SigningKey, hashMessage, recoverAddress, computeAddress } = ethersSdk()
      const recovered = SigningKey.recoverPublicKey(hashMessage(input.message), input.signature)
      publicKey = convertPoint(fromHex(recovered), 'compressed')
      if (recoverAddress(hashMessage(input.message), input.signature) !== computeAddress(recovered))
        throw new Error('signature recovery is inconsistent')
    } else throw new Error('no key given')
  } catch (cause) {
    throw new InvalidInputError('Invalid owner key', {
      details: cause instanceof Error ? cause.message : String(cause),
      hint: 'Check the private key, keystore password, public key (33 or 65 bytes hex) or signature.',
      docsPath: 'access.md',
      cause,
    })
  }
  const address = ethereumAddress(publicKey)
  const ownPublicKey = publicKey
  const ownPrivateKey = privateKey

  return {
    specificationVersion: 'v1',
    kind: 'owner',
    address,
    publicKey: toHex0x(ownPublicKey),
    canUnwrap: ownPrivateKey !== undefined,
    async wrap(dataKey, context) {
      const ephemeral = createECDH('secp256k1')
      ephemeral.generateKeys()
      const ephemeralPublicKey = new Uint8Array(ephemeral.getPublicKey(null, 'compressed'))
      const shared = new Uint8Array(ephemeral.computeSecret(ownPublicKey))
      const header = {
        kind: 'owner',
        version: 1,
        keyId: context.keyId,
        recipient: address,
        params: { ephemeralPublicKey: toHex(ephemeralPublicKey), recipientPublicKey: toHex(ownPublicKey) },
      }
      const wrappingKey = deriveWrappingKey(shared, ephemeralPublicKey, ownPublicKey)
      shared.fill(0)
      return sealStanza({ header, context, wrappingKey, dataKey })
    },
    async unwrap(stanza, context) {
      return unwrapOwnerStanza(stanza, context, ownPrivateKey, ownPublicKey, address)
    },
  }
}

/** HKDF over the shared point's x coordinate (what ECDH yields), salted with both compressed public keys. */
function deriveWrappingKey(shared: Uint8Array, ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  return hkdf({ key: shared, salt: concatBytes(ephemeralPublicKey, recipientPublicKey), info: INFO })
}

function unwrapOwnerStanza(
  stanza: Stanza,
  context: GuardContext,
  privateKey: Uint8Array | undefined,
  publicKey: Uint8Array,
  address: string,
): Uint8Array {
  const body = readStanzaBody(stanza, 'owner')
  if (!privateKey)
    throw new InvalidStateError('This owner guard cannot unwrap: it holds only a public key', {
      hint: 'Construct ownerGuard with { wallet }, { privateKey } or { keystore, password } to open a vault.',
      docsPath: 'access.md',
    })
  const params = parseInput(stanzaParamsSchema, stanza.params, { what: 'owner stanza parameters' })
  const wrongKey = (cause?: unknown) =>
    new WrongKeyError('This wallet does not open the vault', {
      details: `key ${context.keyId} of vault ${context.vaultId} is wrapped to ${stanza.recipient}, not to ${address}`,
      hint: "Open it with the owner's wallet, or ask the owner to grant this wallet.",
      docsPath: 'access.md',
      cause,
    })
  let ephemeralPublicKey: Uint8Array
  let shared: Uint8Array
  try {
    ephemeralPublicKey = fromHex(params.ephemeralPublicKey, 'owner stanza ephemeral key')
    shared = new Uint8Array(ecdhOf(privateKey).computeSecret(ephemeralPublicKey))
  } catch (cause) {
    throw new IntegrityError('Owner stanza has an invalid ephemeral public key', { cause, docsPath: 'access.md' })
  }
  const wrappingKey = deriveWrappingKey(shared, ephemeralPublicKey, publicKey)
  shared.fill(0)
  try {
    return openStanza({ stanza, body, context, wrappingKey })
  } catch (cause) {
    throw wrongKey(cause)
  }
}

/**
 * The curve arithmetic is Node's (OpenSSL) secp256k1 ECDH: the same ECIES as before (the shared
 * secret is the x coordinate of the shared point), with nothing to load at import.
 */
function ecdhOf(privateKey: Uint8Array): ECDH {
  const ecdh = createECDH('secp256k1')
  ecdh.setPrivateKey(privateKey) // throws for 0 or a key not below the curve order
  return ecdh
}

/** A public key (33 or 65 bytes) in the given form; throws when it is not a point on the curve. */
function convertPoint(publicKey: Uint8Array, format: 'compressed' | 'uncompressed'): Uint8Array {
  return new Uint8Array(ECDH.convertKey(publicKey, 'secp256k1', undefined, undefined, format) as Buffer)
}

/** EIP-55 checksummed address of a secp256k1 public key (no ethers, so that a wallet guard never loads it). */
function ethereumAddress(publicKey: Uint8Array): string {
  const uncompressed = convertPoint(publicKey, 'uncompressed')
  const lower = toHex(keccak_256(uncompressed.subarray(1))).slice(24)
  const hash = toHex(keccak_256(new TextEncoder().encode(lower)))
  let checksummed = '0x'
  for (let index = 0; index < 40; index++)
    checksummed += Number.parseInt(hash[index] as string, 16) >= 8 ? (lower[index] as string).toUpperCase() : lower[index]
  return checksummed
}

function toHex0x(bytes: Uint8Array): string {
  return `0x${toHex(bytes)}`
}
