import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest } from '../../src/crypto/digest.js'
import { IntegrityError, ModelPackageError } from '../../src/errors.js'
import { buildModelPackage } from '../../src/proofs/build-model-package.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { findToolchain } from '../../src/proofs/toolchain.js'
import { SHARED_FIXTURES } from '../shared-fixtures.js'

// A KZG SRS generated here with the pinned toolchain stands in for a ceremony's file: the flow is the
// one a ceremony SRS takes (its published sha256 pinned at build, at inspection and at verification).
const EXAMPLE = join(process.env.VERITY_EZKL_ONNX ?? join(SHARED_FIXTURES, 'ezkl', 'onnx'), '1l_relu')
const BUNDLED = join(import.meta.dirname, '..', '..', 'models', 'transaction-risk')
const work = mkdtempSync(join(tmpdir(), 'verity-srs-'))
const srsFile = join(work, 'ceremony.srs')
let srsDigest: string

const verity = (...args: string[]) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 240_000,
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}
const errorOf = (stderr: string) => JSON.parse(stderr.slice(stderr.search(/^\{/m))).error
/** The same digest with its last hex digit changed. */
const otherDigest = (value: string) => `${value.slice(0, -1)}${value.endsWith('0') ? '1' : '0'}`

beforeAll(async () => {
  // the circuit's size decides the SRS size: read it from a dev build, then make the "ceremony" file
  const dev = await buildModelPackage({
    model: join(EXAMPLE, 'network.onnx'),
    sample: join(EXAMPLE, 'input.json'),
    out: join(work, 'dev'),
    srs: 'dev',
  })
  const { python } = await findToolchain()
  const generated = spawnSync(
    python,
    ['-c', 'import sys, ezkl; ezkl.gen_srs(sys.argv[1], int(sys.argv[2]))', srsFile, String(dev.package.manifest.ezkl.logrows)],
    {
      encoding: 'utf8',
    },
  )
  expect(generated.status, generated.stderr).toBe(0)
  srsDigest = digest(new Uint8Array(readFileSync(srsFile)))
}, 180_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('a pinned (ceremony) SRS', () => {
  it('model build --srs FILE --srs-digest: refuses a file with another digest before building', () => {
    const out = join(work, 'refused')
    const refused = verity(
      'model',
      'build',
      join(EXAMPLE, 'network.onnx'),
      '--input',
      join(EXAMPLE, 'input.json'),
      '--out',
      out,
      '--srs',
      srsFile,
      '--srs-digest',
      otherDigest(srsDigest),
      '--json',
    )
    expect(refused.code).toBe(1)
    expect(errorOf(refused.stderr).code).toBe('VERITY_INTEGRITY')
    expect(errorOf(refused.stderr).details).toContain(srsDigest)
    expect(existsSync(out)).toBe(false)
  }, 60_000)

  it('builds with it, records its digest, proves, and verification pins it', () => {
    const pkg = join(work, 'ceremony')
    const build = verity(
      'model',
      'build',
      join(EXAMPLE, 'network.onnx'),
      '--input',
      join(EXAMPLE, 'input.json'),
      '--out',
      pkg,
      '--srs',
      srsFile,
      '--srs-digest',
      srsDigest,
      '--json',
    )
    expect(build.code, build.stderr).toBe(0)
    const manifest = JSON.parse(build.stdout).manifest
    expect(manifest.srs).toMatchObject({ kind: 'ceremony', digest: srsDigest })
    expect(digest(new Uint8Array(readFileSync(join(pkg, 'kzg.srs'))))).toBe(srsDigest)

    const inspect = verity('model', 'inspect', pkg, '--srs-digest', srsDigest, '--json')
    expect(inspect.code, inspect.stderr).toBe(0)

    const input = join(work, 'input.json')
    writeFileSync(input, JSON.stringify({ input_data: [[0.5, -1, 3]] }))
    const receipt = join(work, 'receipt.json')
    const infer = verity('infer', pkg, '--input', input, '--prove', '--receipt', receipt, '--json')
    expect(infer.code, infer.stderr).toBe(0)
    expect(JSON.parse(infer.stdout).receipt).toMatchObject({ status: 'verified', model: { srsDigest, srsKind: 'ceremony' } })

    const verified = verity('proof', 'verify', receipt, '--model', pkg, '--srs-digest', srsDigest, '--json')
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout).valid).toBe(true)

    const pinnedElsewhere = verity('proof', 'verify', receipt, '--model', pkg, '--srs-digest', otherDigest(srsDigest), '--json')
    expect(pinnedElsewhere.code).toBe(1)
    expect(errorOf(pinnedElsewhere.stderr).code).toBe('VERITY_MODEL_PACKAGE')
  }, 300_000)

  it('refuses a package built on another SRS, and a package whose SRS file was swapped', () => {
    // the bundled package is built on a dev SRS: pinning the ceremony digest refuses it
    expect(() => loadModelPackage({ dir: BUNDLED, expectedSrsDigest: srsDigest })).toThrow(ModelPackageError)
    const inspect = verity('model', 'inspect', BUNDLED, '--srs-digest', srsDigest, '--json')
    expect(inspect.code).toBe(1)
    expect(errorOf(inspect.stderr).shortMessage).toBe('The package was built on another SRS')

    // a dev package whose kzg.srs is replaced by the ceremony file: its digest no longer matches
    const swapped = join(work, 'swapped')
    cpSync(join(work, 'dev'), swapped, { recursive: true })
    copyFileSync(srsFile, join(swapped, 'kzg.srs'))
    let error: unknown
    try {
      loadModelPackage({ dir: swapped })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ModelPackageError)
    expect((error as ModelPackageError).shortMessage).toBe('kzg.srs does not match its digest')
    expect((error as ModelPackageError).meta).toEqual({ file: 'kzg.srs' })
  }, 60_000)

  it('buildModelPackage refuses a malformed pinned digest and a mismatching file with typed errors', async () => {
    await expect(
      buildModelPackage({
        model: join(EXAMPLE, 'network.onnx'),
        sample: join(EXAMPLE, 'input.json'),
        out: join(work, 'never'),
        srs: { path: srsFile, digest: 'sha256:abc' },
      }),
    ).rejects.toMatchObject({ code: 'VERITY_INVALID_INPUT' })
    await expect(
      buildModelPackage({
        model: join(EXAMPLE, 'network.onnx'),
        sample: join(EXAMPLE, 'input.json'),
        out: join(work, 'never'),
        srs: { path: srsFile, digest: otherDigest(srsDigest) },
      }),
    ).rejects.toBeInstanceOf(IntegrityError)
    expect(existsSync(join(work, 'never'))).toBe(false)
  })
})
