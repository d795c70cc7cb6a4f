import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/**
 * `ethers`, required synchronously on first call, for the rare synchronous paths that need it
 * (an owner guard made from a keystore or from a signed message). Importing `verity/access` for a
 * passphrase guard never loads it (ethers is about 150 modules).
 *
 * @example
 * ```ts
 * const { Wallet } = ethersSdk()
 * ```
 */
export const ethersSdk = (): typeof import('ethers') => require('ethers')
