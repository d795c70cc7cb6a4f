import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import semver from 'semver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The package as a user gets it: built (dist/), resolved by its name from another folder's node_modules.
const root = resolve(import.meta.dirname, '../..')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  peerDependencies: Record<string, string>
}

function newestSource(folder: string): number {
  return Math.max(
    0,
    ...readdirSync(folder).map((name) => {
      const path = join(folder, name)
      return statSync(path).isDirectory() ? newestSource(path) : statSync(path).mtimeMs
    }),
  )
}

let app: string
beforeAll(() => {
  const built = join(root, 'dist/index.js')
  if (!existsSync(built) || statSync(built).mtimeMs < newestSource(join(root, 'src')))
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore', timeout: 600_000 })
  app = mkdtempSync(join(tmpdir(), 'verity-user-app-'))
  mkdirSync(join(app, 'node_modules'))
  symlinkSync(root, join(app, 'node_modules/verity'), 'dir')
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'user-app', type: 'module', private: true }))
}, 600_000)
afterAll(() => rmSync(app, { recursive: true, force: true }))

describe('the built package', () => {
  it("imports 'verity' and every subpath of package.json exports by the package name", () => {
    const specifiers = Object.keys(manifest.exports).map((key) => (key === '.' ? 'verity' : `verity/${key.slice(2)}`))
    writeFileSync(
      join(app, 'check.mjs'),
      `const out = {}
       for (const specifier of ${JSON.stringify(specifiers)}) out[specifier] = Object.keys(await import(specifier))
       process.stdout.write(JSON.stringify(out))`,
    )
    const loaded = JSON.parse(
      execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8', timeout: 120_000 }),
    ) as Record<string, string[]>
    expect(Object.keys(loaded).sort()).toEqual([...specifiers].sort())
    for (const specifier of specifiers) expect(loaded[specifier]?.length, specifier).toBeGreaterThan(0)
    expect(loaded.verity).toEqual(
      expect.arrayContaining(['createVerityAgent', 'createVault', 'VerityError', 'VerityCheckpointSaver']),
    )
    expect(loaded['verity/langchain']).toEqual(
      expect.arrayContaining(['VerityVectorStore', 'VerityStore', 'VerityCheckpointSaver']),
    )
  })

  it('has LangChain as peer dependencies whose tested versions (devDependencies) satisfy the declared range', () => {
    for (const name of ['@langchain/core', 'langchain', '@langchain/langgraph-checkpoint']) {
      expect(manifest.dependencies[name], name).toBeUndefined()
      const range = manifest.peerDependencies[name] as string
      expect(range, name).toBeDefined()
      const installed = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version as string
      expect(installed).toBe(manifest.devDependencies[name])
      expect(semver.satisfies(installed, range), `${name}@${installed} in ${range}`).toBe(true)
    }
  })
})
