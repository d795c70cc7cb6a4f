import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import { writeFileAtomic } from '../storage/atomic-file.js'

/** Where the `lit` guard pins network public keys, by network name. */
export type LitKeyCache = {
  get(network: string): string | undefined
  set(network: string, publicKey: string): void
}

/**
 * A key cache in memory (lost on exit).
 *
 * @example
 * ```ts
 * const cache = memoryLitKeyCache()
 * ```
 */
export function memoryLitKeyCache(): LitKeyCache {
  const keys = new Map<string, string>()
  return { get: (network) => keys.get(network), set: (network, publicKey) => void keys.set(network, publicKey) }
}

const fileSchema = z.record(z.string(), z.string().regex(/^[0-9a-f]{96}$/))

/**
 * A key cache in a JSON file (written atomically), e.g. `~/.verity/lit-keys.json`, so a vault
 * can wrap keys for a Lit network without contacting it again.
 *
 * @example
 * ```ts
 * const cache = fileLitKeyCache({ path: join(homedir(), '.verity', 'lit-keys.json') })
 * ```
 */
export function fileLitKeyCache(parameters: { path: string }): LitKeyCache {
  const read = (): Record<string, string> => {
    if (!existsSync(parameters.path)) return {}
    const parsed = fileSchema.safeParse(JSON.parse(readFileSync(parameters.path, 'utf8')))
    return parsed.success ? parsed.data : {}
  }
  return {
    get: (network) => read()[network],
    set(network, publicKey) {
      const keys = read()
      keys[network] = publicKey
      mkdirSync(dirname(parameters.path), { recursive: true, mode: 0o700 })
      writeFileAtomic({ path: parameters.path, data: `${JSON.stringify(keys, null, 2)}\n`, mode: 0o644 })
    },
  }
}
