import type { Signer } from 'ethers'
import { z } from 'zod'
import { randomBytes } from '../crypto/random.js'
import { IntegrityError, InvalidStateError, WrongKeyError } from '../errors.js'
import { parseInput } from '../validation.js'
import type { Guard, Stanza } from './guard.js'
import {
  hashLitConditions,
  type LitConditions,
  litDataHash,
  litIdentity,
  type ParseLitConditionsReturnType,
  parseLitConditions,
} from './lit-conditions.js'
import { type LitKeyCache, memoryLitKeyCache } from './lit-key-cache.js'
import type { LitNetwork } from './lit-network.js'
import { litCrypto } from './lit-sdk.js'
import { openStanza, readStanzaBody, sealStanza } from './stanza-seal.js'

const parametersSchema = z.object({
  network: z.custom<LitNetwork>(
    (value) => typeof value === 'object' && value !== null && (value as LitNetwork).specificationVersion === 'v1',
    'must be a LitNetwork (v1)',
  ),
  conditions: z.unknown().optional(),
  signer: z
    .custom<Signer>(
      (value) => typeof value === 'object' && value !== null && typeof (value as Signer).signMessage === 'function',
      'must be an ethers Signer',
    )
    .optional(),
  keyCache: z
    .custom<LitKeyCache>(
      (value) => typeof value === 'object' && value !== null && typeof (value as LitKeyCache).get === 'function',
    )
    .optional(),
})

const stanzaParamsSchema = z.object({
  network: z.string(),
  networkPublicKey: z.string().regex(/^[0-9a-f]{96}$/),
  ciphertext: z
    .string()
    .min(1)
    .max(1 << 16),
  dataToEncryptHash: z.string().regex(/^[0-9a-f]{64}$/),
  conditionsHash: z.string().regex(/^[0-9a-f]{64}$/),
  conditions: z.record(z.string(), z.unknown()),
})

export type LitGuardParameters = {
  /** The Lit network: `litNodeNetwork({ network: 'datil' })` or `litLocalNetwork({ nodes })`. */
  network: LitNetwork
  /** Conditions to wrap new keys under (Lit's JSON). Needed to wrap, not to unwrap. */
  conditions?: LitConditions | undefined
  /** The requester's wallet, which signs SIWE sessions. Needed to unwrap, not to wrap. */
  signer?: Signer | undefined
  /** Where network public keys are pinned (default: in memory). */
  keyCache?: LitKeyCache | undefined
}
export type LitGuardReturnType = Guard

/**
 * A guard that encrypts a wrapping key under Lit access-control conditions, as Lit does
 * (`@lit-protocol/crypto` `encrypt` to the network's BLS key, identity
 * `lit-accesscontrolcondition://<hashAccessControlConditions>/<dataToEncryptHash>`), and wraps
 * the data key with it (AES-256-GCM bound to vault id and key id). Unwrapping asks the Lit
 * network, with the signer's SIWE session, to release the decryption key: only a wallet that
 * meets the conditions gets it.
 *
 * The network public key is fetched once and pinned in `keyCache`, so wrapping needs no
 * handshake afterwards; a stanza made for another key is refused with `WrongKeyError`.
 *
 * @example
 * ```ts
 * const guard = litGuard({
 *   network: litLocalNetwork({ nodes }),
 *   conditions: { accessControlConditions: [{ contractAddress: nft, standardContractType: 'ERC721', chain: 'ethereum',
 *     method: 'balanceOf', parameters: [':userAddress'], returnValueTest: { comparator: '>', value: '0' } }] },
 *   signer: wallet,
 * })
 * ```
 */
export function litGuard(parameters: LitGuardParameters): LitGuardReturnType {
  const {
    network,
    signer,
    conditions: rawConditions,
    keyCache = memoryLitKeyCache(),
  } = parseInput(parametersSchema, parameters, {
    what: 'litGuard parameters',
    hint: 'Pass { network, conditions } to wrap and { network, signer } to unwrap.',
    docsPath: 'access.md',
  })
  let conditions: Promise<ParseLitConditionsReturnType> | undefined
  const pinnedKey = async (): Promise<string> => {
    const cached = keyCache.get(network.name)
    if (cached) return cached
    const fresh = await network.getNetworkPublicKey()
    if (!/^[0-9a-f]{96}$/.test(fresh))
      throw new IntegrityError('Lit network returned a malformed public key', { details: fresh.slice(0, 120) })
    keyCache.set(network.name, fresh)
    return fresh
  }
  return {
    specificationVersion: 'v1',
    kind: 'lit',
    async wrap(dataKey, context) {
      if (rawConditions === undefined)
        throw new InvalidStateError('This lit guard has no conditions to wrap under', {
          hint: 'Pass { conditions } to litGuard.',
          docsPath: 'access.md',
        })
      conditions ??= parseLitConditions(rawConditions)
      const parsed = await conditions
      const networkPublicKey = await pinnedKey()
      const wrappingKey = randomBytes(32)
      const dataToEncryptHash = litDataHash(wrappingKey)
      const conditionsHash = await hashLitConditions(parsed)
      const ciphertext = await litCrypto().encrypt(
        networkPublicKey,
        wrappingKey,
        litIdentity({ conditionsHash, dataToEncryptHash }),
      )
      const header = {
        kind: 'lit',
        version: 1,
        keyId: context.keyId,
        recipient: `lit:${conditionsHash}`,
        params: {
          network: network.name,
          networkPublicKey,
          ciphertext,
          dataToEncryptHash,
          conditionsHash,
          conditions: { ...parsed },
        },
      }
      return sealStanza({ header, context, wrappingKey, dataKey })
    },
    async unwrap(stanza: Stanza, context) {
      const body = readStanzaBody(stanza, 'lit')
      if (!signer)
        throw new InvalidStateError('This lit guard has no signer', {
          hint: 'Pass { signer: wallet } to litGuard to open a vault.',
          docsPath: 'access.md',
        })
      const params = parseInput(stanzaParamsSchema, stanza.params, { what: 'lit stanza parameters' })
      const stanzaConditions = await parseLitConditions(params.conditions)
      if ((await hashLitConditions(stanzaConditions)) !== params.conditionsHash)
        throw new IntegrityError('Lit stanza conditions do not match their hash', {
          details: `key ${context.keyId} of vault ${context.vaultId}`,
        })
      const networkPublicKey = await pinnedKey()
      if (params.networkPublicKey !== networkPublicKey)
        throw new WrongKeyError('This vault key was encrypted to another Lit network', {
          details: `stanza network ${params.network} key ${params.networkPublicKey.slice(0, 16)}..., configured ${network.name} key ${networkPublicKey.slice(0, 16)}...`,
          hint: 'Point the lit guard at the network the vault was created with.',
          docsPath: 'access.md',
        })
      const wrappingKey = await network.decrypt({
        ciphertext: params.ciphertext,
        dataToEncryptHash: params.dataToEncryptHash,
        conditions: stanzaConditions,
        signer,
      })
      try {
        if (litDataHash(wrappingKey) !== params.dataToEncryptHash)
          throw new Error('wrapping key does not match dataToEncryptHash')
        return openStanza({ stanza, body, context, wrappingKey })
      } catch (cause) {
        throw new IntegrityError('Lit stanza does not open', {
          details: `key ${context.keyId} of vault ${context.vaultId} was altered`,
          cause,
          docsPath: 'access.md',
        })
      } finally {
        wrappingKey.fill(0)
      }
    },
  }
}
