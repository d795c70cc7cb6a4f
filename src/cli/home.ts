import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Light helpers shared by the `demo`, `agent` and `trace` commands (kept apart from the demo's
 * module so `verity trace verify` does not load the agent, vault and prover to find a folder).
 * Passphrases: ./resolve-secrets.ts.
 */

/** The model packages shipped with Verity (`models/` at the package root, from `src/` or `dist/`). */
export const BUNDLED_MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models')
