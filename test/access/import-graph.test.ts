import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * What `import { passphraseGuard } from 'verity/access'` loads in a fresh process (the source,
 * through tsx): the modules are listed by a module-loader hook, not timed. Ethers (about 150
 * modules), the Lit SDK, and the local Lit network's BLS, SIWE sessions and node server are loaded
 * only by the guards that use them, on first use. The import time is measured in
 * bench/langchain.bench.ts.
 */

const root = resolve(import.meta.dirname, '../..')

const LIST_LOADS = `export async function load(url, context, nextLoad) {
  if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n')
  return nextLoad(url, context)
}`
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(LIST_LOADS)}`)})`

function modulesLoadedBy(script: string): string[] {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, '--input-type=module', '-e', script],
    { cwd: root, encoding: 'utf8', timeout: 60_000 },
  )
  expect(result.status, result.stderr).toBe(0)
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED '))
    .map((line) => line.slice('LOADED '.length))
}

const HEAVY = [
  /node_modules\/ethers\//,
  /node_modules\/@lit-protocol\//,
  /node_modules\/siwe\//,
  /bls12-381/,
  /lit-local\/node-server/,
]

describe("import 'verity/access'", () => {
  it('for a passphrase guard loads neither ethers, nor the Lit SDK, nor the local Lit network', () => {
    const loaded = modulesLoadedBy(
      "const { passphraseGuard } = await import('./src/access/index.ts'); passphraseGuard({ passphrase: 'x' })",
    )
    expect(loaded.some((url) => url.endsWith('/src/access/passphrase-guard.ts'))).toBe(true)
    expect(loaded.filter((url) => HEAVY.some((pattern) => pattern.test(url)))).toEqual([])
  }, 90_000)

  it('an owner guard from a private key needs no ethers and no noble curves either (Node ECDH, noble keccak)', () => {
    const loaded = modulesLoadedBy(
      `const { ownerGuard } = await import('./src/access/index.ts'); ownerGuard({ privateKey: '0x${'11'.repeat(32)}' })`,
    )
    expect(loaded.some((url) => url.endsWith('/src/access/owner-guard.ts'))).toBe(true)
    expect(loaded.filter((url) => /node_modules\/(ethers|@noble\/curves)\//.test(url))).toEqual([])
  }, 90_000)
})
