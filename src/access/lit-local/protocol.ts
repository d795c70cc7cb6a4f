/**
 * The wire constants of the local Lit-compatible network, shared by its nodes and its client
 * without either loading the other (the client must stay light to import).
 *
 * @example
 * ```ts
 * await fetch(`${nodeUrl}${INFO_PATH}`)
 * ```
 */

/** The path nodes serve share requests on (Lit's `LIT_ENDPOINT.ENCRYPTION_SIGN`). @example `${url}${ENCRYPTION_SIGN_PATH}` */
export const ENCRYPTION_SIGN_PATH = '/web/encryption/sign'
/** The path of a node's public facts. @example `${url}${INFO_PATH}` */
export const INFO_PATH = '/web/info'
/** Protocol identifier of the local network. @example body.protocol === LIT_LOCAL_PROTOCOL */
export const LIT_LOCAL_PROTOCOL = 'verity-lit-local/1'
