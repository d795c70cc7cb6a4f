import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SHARED_FIXTURES } from '../shared-fixtures.js'

const EXAMPLE = join(process.env.VERITY_EZKL_ONNX ?? join(SHARED_FIXTURES, 'ezkl', 'onnx'), '1l_relu')
const work = mkdtempSync(join(tmpdir(), 'verity-cli-proofs-'))
const verity = (...args: string[]) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 240_000,
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

// stderr may carry other modules' log lines before the JSON error document
const errorOf = (stderr: string) => JSON.parse(stderr.slice(stderr.search(/^\{/m))).error

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('verity model build → infer --prove → proof verify', () => {
  it('round-trips and refuses a tampered receipt', () => {
    const pkg = join(work, 'pkg')
    const build = verity(
      'model',
      'build',
      join(EXAMPLE, 'network.onnx'),
      '--input',
      join(EXAMPLE, 'input.json'),
      '--out',
      pkg,
      '--dev-srs',
      '--json',
    )
    expect(build.code, build.stderr).toBe(0)
    expect(JSON.parse(build.stdout).manifest.srs.kind).toBe('dev')

    const inspect = verity('model', 'inspect', pkg, '--json')
    expect(JSON.parse(inspect.stdout).valid).toBe(true)

    const input = join(work, 'input.json')
    writeFileSync(input, JSON.stringify({ input_data: [[0.25, -1.5, 2]] }))
    const receipt = join(work, 'receipt.json')
    const infer = verity('infer', pkg, '--input', input, '--prove', '--receipt', receipt, '--json')
    expect(infer.code, infer.stderr).toBe(0)
    const inferred = JSON.parse(infer.stdout)
    expect(inferred.receipt.status).toBe('verified')
    expect(inferred.output).toEqual([[0.25, 0, 2]])

    const verify = verity('proof', 'verify', receipt, '--model', pkg, '--json')
    expect(verify.code, verify.stderr).toBe(0)
    expect(JSON.parse(verify.stdout).valid).toBe(true)

    const tampered = JSON.parse(readFileSync(receipt, 'utf8'))
    tampered.output[0][1] = 1
    writeFileSync(join(work, 'tampered.json'), JSON.stringify(tampered))
    const refused = verity(
      'proof',
      'verify',
      join(work, 'tampered.json'),
      '--proof',
      join(work, 'receipt.proof.json'),
      '--model',
      pkg,
      '--json',
    )
    expect(refused.code).toBe(1)
    expect(errorOf(refused.stderr).code).toBe('VERITY_PROOF')
    expect(errorOf(refused.stderr).meta.failed).toContain('public outputs')
  }, 300_000)

  it('model build without an SRS choice is a usage error with a hint', () => {
    const result = verity(
      'model',
      'build',
      join(EXAMPLE, 'network.onnx'),
      '--input',
      join(EXAMPLE, 'input.json'),
      '--out',
      join(work, 'x'),
      '--json',
    )
    expect(result.code).toBe(1)
    expect(errorOf(result.stderr).code).toBe('VERITY_INVALID_INPUT')
  })
})
