import type { LitNodeClientNodeJs } from '@lit-protocol/lit-node-client'

type SessionSigsMap = Awaited<ReturnType<LitNodeClientNodeJs['getSessionSigs']>>

import type { Signer } from 'ethers'
import { z } from 'zod'
import { AccessDeniedError, NetworkError, VerityError } from '../errors.js'
import { parseInput } from '../validation.js'
import type { LitDecryptParameters, LitNetwork } from './lit-network.js'
import { litAuthHelpers, litConstants } from './lit-sdk.js'

/**
 * The slice of `LitNodeClient` v7 this adapter uses, typed by Lit's own declarations (so the
 * compiler checks the parameter shapes), with the network key fields it reads after `connect`.
 */
export type LitNodeClientLike = Pick<LitNodeClientNodeJs, 'connect' | 'getLatestBlockhash' | 'getSessionSigs' | 'decrypt'> & {
  disconnect?: (() => Promise<unknown>) | undefined
  subnetPubKey?: string | null
  networkPubKey?: string | null
}

/** Error codes Lit nodes answer with when the conditions refuse the requester. */
const NOT_AUTHORIZED_CODES = new Set(['NodeAccessControlConditionsReturnedNotAuthorized', 'NodeNotAuthorized', 'not_authorized'])

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
  const sessions = new Map<string, { sessionSigs: SessionSigsMap; expiresAt: number }>()
  let connected: Promise<LitNodeClientLike> | undefined

  const client = () => {
    connected ??= (async () => {
      const instance =
        options.client ??
        (new (await import('@lit-protocol/lit-node-client')).LitNodeClient({
          litNetwork: options.network,
          debug: false,
        }) as LitNodeClientLike)
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
    const { getAddress } = await import('ethers') // on first use: importing `verity/access` stays light
    const address = getAddress(await signer.getAddress())
    const existing = sessions.get(address)
    if (existing && existing.expiresAt - Date.now() > renewBefore) return existing.sessionSigs
    const expiresAt = Date.now() + ttl
    const expiration = new Date(expiresAt).toISOString()
    const resourceAbilityRequests = [
      {
        resource: new (litAuthHelpers().LitAccessControlConditionResource)('*'),
        ability: litConstants().LIT_ABILITY.AccessControlConditionDecryption,
      },
    ]
    let signatures: SessionSigsMap
    try {
      signatures = await instance.getSessionSigs({
        chain,
        expiration,
        resourceAbilityRequests,
        authNeededCallback: async (callback: { uri?: string; expiration?: string; resourceAbilityRequests?: unknown }) => {
          const toSign = await litAuthHelpers().createSiweMessage({
            uri: callback.uri as string,
            expiration: callback.expiration ?? expiration,
            resources: (callback.resourceAbilityRequests ?? resourceAbilityRequests) as never,
            walletAddress: address,
            nonce: await instance.getLatestBlockhash(),
            litNodeClient: instance as never,
          })
          try {
            return await litAuthHelpers().generateAuthSig({ signer: signer as never, toSign })
          } catch (cause) {
            throw new AccessDeniedError('The wallet did not sign the Lit session', {
              details: cause instanceof Error ? cause.message.slice(0, 200) : undefined,
              hint: 'Approve the Sign-In with Ethereum message in the wallet.',
              docsPath: 'access.md',
              cause,
              meta: { reason: 'session-refused' },
            })
          }
        },
      })
    } catch (cause) {
      const refused = cause instanceof VerityError ? cause : (cause as { cause?: unknown })?.cause
      if (refused instanceof VerityError) throw refused
      throw new NetworkError(`Could not create Lit session signatures on ${options.network}`, {
        details: (cause instanceof Error ? cause.message : String(cause)).slice(0, 400),
        cause,
        docsPath: 'access.md',
      })
    }
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
        const errorCode = String((cause as { info?: { errorCode?: unknown } })?.info?.errorCode ?? '')
        if (
          NOT_AUTHORIZED_CODES.has(errorCode) ||
          /not authorized|NodeAccessControlConditionsReturnedNotAuthorized|NodeNotAuthorized/i.test(message)
        )
          throw new AccessDeniedError('Access conditions not met', {
            details: message.slice(0, 400),
            hint: "This wallet does not satisfy the vault's Lit conditions.",
            cause,
            docsPath: 'access.md',
            meta: { reason: 'conditions-not-met', errorCode },
          })
        throw new NetworkError(`Lit network ${options.network} could not decrypt`, {
          details: message.slice(0, 400),
          meta: { reason: 'network', errorCode },
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
