import { fileURLToPath } from 'node:url'

/**
 * The real third-party artifacts in `../shared/fixtures/` beside the repository (CI clones the
 * repo with `shared/` next to it). Override with VERITY_SHARED_FIXTURES.
 */
export const SHARED_FIXTURES =
  process.env.VERITY_SHARED_FIXTURES ?? fileURLToPath(new URL('../../shared/fixtures', import.meta.url))
