import { createSiweMessage, generateAuthSig, LitAccessControlConditionResource } from '@lit-protocol/auth-helpers'
import { LIT_ABILITY } from '@lit-protocol/constants'
import type { Signer } from 'ethers'
import { getAddress } from 'ethers'
import { z } from 'zod'
import { AccessDeniedError, NetworkError } from '../errors.js'
import { parseInput } from '../validation.js'
import type { LitDecryptParameters, LitNetwork } from './lit-network.js'

/** The slice of `LitNodeClient` v7 this adapter uses (so tests can stand in for the unreachable network). */
export type LitNodeClientLike = {
  connect(): Promise<unknown>
  disconnect?(): Promise<unknown>
  subnetPubKey?: string | null
  networkPubKey?: string | null
  getLatestBlockhash(): Promise<string>
  getSessionSigs(parameters: Record<string, unknown>): Promise<Record<string, unknown>>
  decrypt(parameters: Record<string, unknown>): Promise<{ decryptedData: Uint8Array }>
}

const parametersSchema = z.object({
  network: z.enum(['datil', 'datil-test', 'datil-dev']),
  client: z.custom<LitNodeClientLike>((value) => typeof value === 'object' && value !== null).optional(),
  sessionTtlSeconds: z.number().int().min(60).optional(),
  renewBeforeSeconds: z.number().int().min(0).optional(),
})

export type LitNodeNetworkParameters = {
  /** Lit network name (`datil` is mainnet). */
  network: 'datil' | 'datil-test' | 'datil-dev'
  /** A client to use instead of `new LitNodeClient({ litNetwork })` (tests, custom config). */
  client?: LitNodeClientLike | undefined
  /** Session lifetime, seconds (default 3600). */
  sessionTtlSeconds?: number | undefined
  /** Renew sessions this long before they expire, seconds (default 60). */
  renewBeforeSeconds?: number | undefined
}
export type LitNodeNetworkReturnType = LitNetwork

/**
 * The public Lit network through `@lit-protocol/lit-node-client` v7: connects once, takes
 * its `subnetPubKey` as the network key, signs SIWE session signatures with ReCap for
 * `access-control-condition-decryption` (renewed before they expire), and calls `decrypt`.
 *
 * @example
 * ```ts
 * const guard = litGuard({ network: litNodeNetwork({ network: 'datil' }), conditions, signer: wallet })
 * ```
 */
export function litNodeNetwork(parameters: LitNodeNetworkParameters): LitNodeNetworkReturnType {
  const options = parseInput(parametersSchema, parameters, { what: 'litNodeNetwork parameters', docsPath: 'access.md' })
  const ttl = (options.sessionTtlSeconds ?? 3600) * 1000
  const renewBefore = (options.renewBeforeSeconds ?? 60) * 1000
  const sessions = new Map<string, { sessionSigs: Record<string, unknown>; expiresAt: number }>()
  let connected: Promise<LitNodeClientLike> | undefined

  const client = () => {
    connected ??= (async () => {
      const instance =
        options.client ??
        (new (await import('@lit-protocol/lit-node-client')).LitNodeClient({
          litNetwork: options.network,
          debug: false,
        }) as unknown as LitNodeClientLike)
      try {
        await instance.connect()
      } catch (cause) {
        throw new NetworkError(`Cannot connect to the Lit network ${options.network}`, {
          cause,
          hint: 'Check the internet connection, or use litLocalNetwork for offline work.',
          docsPath: 'access.md',
        })
      }
      return instance
    })().catch((error: unknown) => {
      connected = undefined
      throw error
    })
    return connected
  }

  const sessionSigs = async (instance: LitNodeClientLike, signer: Signer, chain: string) => {
    const address = getAddress(await signer.getAddress())
    const existing = sessions.get(address)
    if (existing && existing.expiresAt - Date.now() > renewBefore) return existing.sessionSigs
    const expiresAt = Date.now() + ttl
    const expiration = new Date(expiresAt).toISOString()
    const resourceAbilityRequests = [
      { resource: new LitAccessControlConditionResource('*'), ability: LIT_ABILITY.AccessControlConditionDecryption },
    ]
    const signatures = await instance.getSessionSigs({
      chain,
      expiration,
      resourceAbilityRequests,
      authNeededCallback: async (callback: { uri?: string; expiration?: string; resourceAbilityRequests?: unknown }) => {
        const toSign = await createSiweMessage({
          uri: callback.uri as string,
          expiration: callback.expiration ?? expiration,
          resources: (callback.resourceAbilityRequests ?? resourceAbilityRequests) as never,
          walletAddress: address,
          nonce: await instance.getLatestBlockhash(),
          litNodeClient: instance as never,
        })
        return generateAuthSig({ signer: signer as never, toSign })
      },
    })
    sessions.set(address, { sessionSigs: signatures, expiresAt })
    return signatures
  }

  return {
    specificationVersion: 'v1',
    name: options.network,
    async getNetworkPublicKey() {
      const instance = await client()
      const key = instance.subnetPubKey ?? instance.networkPubKey
      if (!key) throw new NetworkError(`Lit network ${options.network} gave no public key`, { docsPath: 'access.md' })
      return key.replace(/^0x/, '')
    },
    async decrypt(request: LitDecryptParameters) {
      const instance = await client()
      const signatures = await sessionSigs(instance, request.signer, request.conditions.chain)
      try {
        const { decryptedData } = await instance.decrypt({
          ...(request.conditions.accessControlConditions
            ? { accessControlConditions: request.conditions.accessControlConditions }
            : {}),
          ...(request.conditions.evmContractConditions
            ? { evmContractConditions: request.conditions.evmContractConditions }
            : {}),
          ...(request.conditions.unifiedAccessControlConditions
            ? { unifiedAccessControlConditions: request.conditions.unifiedAccessControlConditions }
            : {}),
          chain: request.conditions.chain,
          ciphertext: request.ciphertext,
          dataToEncryptHash: request.dataToEncryptHash,
          sessionSigs: signatures,
        })
        return decryptedData
      } catch (cause) {
        const message = cause instanceof Error ? cause.message : String(cause)
        if (/not authorized|NodeAccessControlConditionsReturnedNotAuthorized|access control conditions/i.test(message))
          throw new AccessDeniedError('Access conditions not met', {
            details: message.slice(0, 400),
            cause,
            docsPath: 'access.md',
          })
        throw new NetworkError(`Lit network ${options.network} could not decrypt`, {
          details: message.slice(0, 400),
          cause,
          docsPath: 'access.md',
        })
      }
    },
    async close() {
      if (connected) await (await connected).disconnect?.()
      connected = undefined
    },
  }
}
