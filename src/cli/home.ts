import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { toHex } from '../crypto/bytes.js'
import { randomBytes } from '../crypto/random.js'
import { writeFileAtomic } from '../storage/atomic-file.js'

/**
 * Light helpers shared by the `demo`, `agent` and `trace` commands (kept apart from the demo's
 * module so `verity trace verify` does not load the agent, vault and prover to find a folder).
 */

/** The model packages shipped with Verity (`models/` at the package root, from `src/` or `dist/`). */
export const BUNDLED_MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models')

/**
 * The passphrase of a home's keystore and vault: `$VERITY_PASSPHRASE`, else the one in
 * `<home>/passphrase`, generated (24 random bytes, hex) with mode 0600 on first use.
 *
 * @example
 * ```ts
 * const { passphrase } = homePassphrase('.verity-demo')
 * ```
 */
export function homePassphrase(home: string): { passphrase: string; file: string | undefined } {
  const fromEnvironment = process.env.VERITY_PASSPHRASE
  if (fromEnvironment) return { passphrase: fromEnvironment, file: undefined }
  mkdirSync(home, { recursive: true, mode: 0o700 })
  const file = join(home, 'passphrase')
  let passphrase: string
  if (existsSync(file)) passphrase = readFileSync(file, 'utf8').trim()
  else {
    passphrase = toHex(randomBytes(24))
    writeFileAtomic({ path: file, data: `${passphrase}\n`, mode: 0o600 })
  }
  chmodSync(file, 0o600)
  return { passphrase, file }
}
