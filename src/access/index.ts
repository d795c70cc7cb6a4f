/**
 * `verity/access`: guards that release a vault's data key under an access policy.
 *
 * @example
 * ```ts
 * import { passphraseGuard } from 'verity/access'
 * ```
 */

export type { Guard, GuardContext, Stanza } from './guard.js'
export { stanzaSchema } from './guard.js'
export type { PassphraseGuardParameters, PassphraseGuardReturnType } from './passphrase-guard.js'
export { passphraseGuard } from './passphrase-guard.js'
