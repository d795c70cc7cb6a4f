import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { passphraseGuard } from '../../src/access/passphrase-guard.js'
import { sha256 } from '../../src/crypto/digest.js'
import { tokenize } from '../../src/memory/tokenize.js'
import type { VaultEmbedder } from '../../src/memory/vault-embedder.js'

/** Low scrypt cost so tests stay fast. */
export const TEST_COST = { logN: 10, r: 8, p: 1 }

export function testGuard(passphrase = 'correct horse battery staple') {
  return passphraseGuard({ passphrase, cost: TEST_COST })
}

/**
 * A small deterministic embedder for tests: feature hashing of word tokens into `dimension`
 * buckets with signs, then L2-normalised. Texts sharing words get close vectors.
 */
export function hashEmbedder(dimension = 16, id = `test/hash-embedder-${dimension}`): VaultEmbedder {
  const embed = (text: string): number[] => {
    const vector = new Array<number>(dimension).fill(0)
    for (const token of tokenize(text)) {
      const hash = sha256(token)
      const bucket = (((hash[0] as number) << 8) | (hash[1] as number)) % dimension
      vector[bucket] = (vector[bucket] as number) + ((hash[2] as number) & 1 ? 1 : -1)
    }
    vector[0] = (vector[0] as number) + 0.25 // never the zero vector (cosine needs a direction)
    const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1
    return vector.map((value) => value / norm)
  }
  return {
    id,
    dimension,
    async embedDocuments(documents) {
      return documents.map(embed)
    },
    async embedQuery(document) {
      return embed(document)
    },
  }
}

export function temporaryFolder(prefix = 'verity-vault-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) }
}
