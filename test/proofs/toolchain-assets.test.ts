import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ToolchainError } from '../../src/errors.js'
import { toolchainScriptPath } from '../../src/proofs/toolchain.js'

const ROOT = join(import.meta.dirname, '..', '..')
const work = mkdtempSync(join(tmpdir(), 'verity-assets-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('the toolchain bridge script in src/ and dist/', () => {
  it('scripts/copy-assets.mjs (run by npm run build) copies it into dist/proofs/', () => {
    // a miniature project: the real copy script, the real bridge script, no dist/ yet
    mkdirSync(join(work, 'project', 'scripts'), { recursive: true })
    mkdirSync(join(work, 'project', 'src', 'proofs'), { recursive: true })
    copyFileSync(join(ROOT, 'scripts', 'copy-assets.mjs'), join(work, 'project', 'scripts', 'copy-assets.mjs'))
    copyFileSync(join(ROOT, 'src', 'proofs', 'ezkl-toolchain.py'), join(work, 'project', 'src', 'proofs', 'ezkl-toolchain.py'))
    const run = spawnSync(process.execPath, [join(work, 'project', 'scripts', 'copy-assets.mjs')], { encoding: 'utf8' })
    expect(run.status, run.stderr).toBe(0)
    const copied = join(work, 'project', 'dist', 'proofs', 'ezkl-toolchain.py')
    expect(readFileSync(copied)).toEqual(readFileSync(join(ROOT, 'src', 'proofs', 'ezkl-toolchain.py')))
    // a compiled module in dist/proofs/ finds its copy
    expect(toolchainScriptPath({ moduleDirectory: join(work, 'project', 'dist', 'proofs') })).toBe(copied)
  })

  it('the build script runs the copy after tsc', () => {
    const build = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string } }).scripts.build
    expect(build).toMatch(/^tsc -p tsconfig\.build\.json && node scripts\/copy-assets\.mjs$/)
  })

  it('from the sources, and from a dist/ without the copy, it falls back to src/proofs/', () => {
    expect(toolchainScriptPath()).toBe(join(ROOT, 'src', 'proofs', 'ezkl-toolchain.py'))
    mkdirSync(join(work, 'fallback', 'dist', 'proofs'), { recursive: true })
    mkdirSync(join(work, 'fallback', 'src', 'proofs'), { recursive: true })
    writeFileSync(join(work, 'fallback', 'src', 'proofs', 'ezkl-toolchain.py'), '# bridge\n')
    expect(toolchainScriptPath({ moduleDirectory: join(work, 'fallback', 'dist', 'proofs') })).toBe(
      join(work, 'fallback', 'src', 'proofs', 'ezkl-toolchain.py'),
    )
  })

  it('a missing script is a ToolchainError that says to rebuild', () => {
    mkdirSync(join(work, 'empty', 'dist', 'proofs'), { recursive: true })
    let error: unknown
    try {
      toolchainScriptPath({ moduleDirectory: join(work, 'empty', 'dist', 'proofs') })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ToolchainError)
    expect((error as ToolchainError).hint).toContain('npm run build')
  })
})
