import { createRequire } from 'node:module'

/**
 * The Lit SDK (v7, CommonJS), loaded on first use: importing `verity/access` for a passphrase or
 * owner guard never pays for it (about 2 s and a deprecation warning). Each getter returns the
 * module, required once.
 */
const require = createRequire(import.meta.url)

/** `@lit-protocol/auth-helpers`, loaded on first call. @example const { LitAccessControlConditionResource } = litAuthHelpers() */
export const litAuthHelpers = (): typeof import('@lit-protocol/auth-helpers') => require('@lit-protocol/auth-helpers')
/** `@lit-protocol/constants`, loaded on first call. @example const { LIT_ABILITY } = litConstants() */
export const litConstants = (): typeof import('@lit-protocol/constants') => require('@lit-protocol/constants')
/** `@lit-protocol/crypto`, loaded on first call. @example await litCrypto().encrypt(publicKey, data, identity) */
export const litCrypto = (): typeof import('@lit-protocol/crypto') => require('@lit-protocol/crypto')
/** `@lit-protocol/wasm`, loaded on first call. @example await litWasm().blsVerify('Bls12381G2', key, message, signature) */
export const litWasm = (): typeof import('@lit-protocol/wasm') => require('@lit-protocol/wasm')
/** `@lit-protocol/access-control-conditions`, loaded on first call. @example await litConditionsSdk().hashAccessControlConditions(conditions) */
export const litConditionsSdk = (): typeof import('@lit-protocol/access-control-conditions') =>
  require('@lit-protocol/access-control-conditions')
/** `siwe` (Sign-In with Ethereum messages of Lit sessions), loaded on first call. @example new (siweSdk().SiweMessage)(text) */
export const siweSdk = (): typeof import('siwe') => require('siwe')
