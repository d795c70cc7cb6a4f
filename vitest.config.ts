import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
    // Vaults remember the newest state they saw (rollback refusal) under ~/.verity by default: tests keep it in a
    // run-private folder instead of the user's home.
    env: { VERITY_VAULT_STATE: join(tmpdir(), `verity-test-vault-state-${process.pid}`) },
  },
})
