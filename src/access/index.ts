/**
 * `verity/access`: guards that release a vault's data key under an access policy.
 *
 * @example
 * ```ts
 * import { passphraseGuard } from 'verity/access'
 * ```
 */

export type { Guard, GuardContext, Stanza } from './guard.js'
export type { LitConditions, ParseLitConditionsReturnType } from './lit-conditions.js'
export { parseLitConditions } from './lit-conditions.js'
export type { LitGuardParameters, LitGuardReturnType } from './lit-guard.js'
export { litGuard } from './lit-guard.js'
export type { LitKeyCache } from './lit-key-cache.js'
export { fileLitKeyCache, memoryLitKeyCache } from './lit-key-cache.js'
export type { StartLitLocalNetworkParameters, StartLitLocalNetworkReturnType } from './lit-local/launch.js'
export { startLitLocalNetwork } from './lit-local/launch.js'
export type { LitLocalNetworkParameters, LitLocalNetworkReturnType } from './lit-local/lit-local-network.js'
export { litLocalNetwork } from './lit-local/lit-local-network.js'
export { readNetworkFile } from './lit-local/share-file.js'
export type { LitDecryptParameters, LitNetwork } from './lit-network.js'
export type { LitNodeClientLike, LitNodeNetworkParameters, LitNodeNetworkReturnType } from './lit-node-network.js'
export { litNodeNetwork } from './lit-node-network.js'
export type { OwnerGuardParameters, OwnerGuardReturnType } from './owner-guard.js'
export { ownerGuard } from './owner-guard.js'
export type { PassphraseGuardParameters, PassphraseGuardReturnType } from './passphrase-guard.js'
export { passphraseGuard } from './passphrase-guard.js'
