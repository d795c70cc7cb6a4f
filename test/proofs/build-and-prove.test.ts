import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest } from '../../src/crypto/digest.js'
import { ModelPackageError, ToolchainError } from '../../src/errors.js'
import { buildModelPackage } from '../../src/proofs/build-model-package.js'
import { loadModelPackage, type ModelPackage } from '../../src/proofs/model-package.js'
import { createProverPool, type ProverPool } from '../../src/proofs/prover-pool.js'
import { openInputCommitment, receiptDigest, verifyReceipt } from '../../src/proofs/receipt.js'
import { runVerifiableInference, type SettledReceipt } from '../../src/proofs/verifiable-inference.js'
import { SHARED_FIXTURES } from '../shared-fixtures.js'

const EXAMPLES = process.env.VERITY_EZKL_ONNX ?? join(SHARED_FIXTURES, 'ezkl', 'onnx')
const names = readdirSync(EXAMPLES).sort()
const work = mkdtempSync(join(tmpdir(), 'verity-proofs-'))
const cacheDir = join(work, 'pk-cache')

type Built = { model: ModelPackage; input: number[][]; settled: SettledReceipt; salt: string | undefined }
const built = new Map<string, Built>()
let pool: ProverPool

beforeAll(async () => {
  pool = createProverPool({ workers: 2 })
  // Build every example with the pinned toolchain (sequential: python is heavier than the tiny proofs),
  // and hand each to the pool as soon as it is built so proving overlaps the next build.
  const pending: Array<Promise<void>> = []
  for (const name of names) {
    const sample = JSON.parse(readFileSync(join(EXAMPLES, name, 'input.json'), 'utf8')) as { input_data: number[][] }
    const { package: built0 } = await buildModelPackage({
      model: join(EXAMPLES, name, 'network.onnx'),
      sample: { input_data: sample.input_data },
      out: join(work, name),
      srs: 'dev',
      name,
      maxShippedProvingKeyBytes: name === '1l_mlp' ? 0 : undefined,
    })
    const model = loadModelPackage({ dir: join(work, name), cacheDir })
    expect(model.digest).toBe(built0.digest)
    const run = await runVerifiableInference({ package: model, input: sample.input_data, pool })
    expect(run.receipt.status).toBe('pending')
    pending.push(
      (run.settled as Promise<SettledReceipt>).then((settled) => {
        built.set(name, { model, input: sample.input_data, settled, salt: run.salt })
      }),
    )
  }
  await Promise.all(pending)
}, 600_000)

afterAll(async () => {
  await pool?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('model build → prove → verify on every EZKL ONNX example', () => {
  it.each(names)('%s', (name) => {
    const entry = built.get(name) as Built
    expect(entry.settled.receipt.error).toBeUndefined()
    expect(entry.settled.receipt.status).toBe('verified')
    const proof = entry.settled.proof as Uint8Array
    const result = verifyReceipt({ receipt: entry.settled.receipt, proof, package: entry.model })
    expect(result.checks.filter((check) => !check.ok)).toEqual([])
    expect(result.valid).toBe(true)
    expect(openInputCommitment({ receipt: entry.settled.receipt, input: entry.input, salt: entry.salt })).toBe(true)
    expect(
      openInputCommitment({ receipt: entry.settled.receipt, input: [[...(entry.input[0] ?? []), 1]], salt: entry.salt }),
    ).toBe(false)
  })
})

describe('tampering is refused', () => {
  const failed = (checks: Array<{ name: string; ok: boolean }>) => checks.filter((check) => !check.ok).map((check) => check.name)

  it('a receipt with a changed output', () => {
    const { model, settled } = built.get('2l_relu_sigmoid_small') as Built
    const receipt = structuredClone(settled.receipt)
    const first = receipt.output[0] as number[]
    first[0] = (first[0] as number) + 1 / 128
    const result = verifyReceipt({ receipt, proof: settled.proof as Uint8Array, package: model })
    expect(result.valid).toBe(false)
    expect(failed(result.checks)).toEqual(['claim id', 'public outputs'])
    expect(receiptDigest(receipt)).not.toBe(receiptDigest(settled.receipt))
  })

  it('a proof with a flipped byte', () => {
    const { model, settled } = built.get('1l_relu') as Built
    const parsed = JSON.parse(new TextDecoder().decode(settled.proof)) as { proof: number[] }
    parsed.proof[64] = ((parsed.proof[64] as number) ^ 0x80) & 0xff
    const result = verifyReceipt({
      receipt: settled.receipt,
      proof: new TextEncoder().encode(JSON.stringify(parsed)),
      package: model,
    })
    expect(result.valid).toBe(false)
    // hex_proof no longer matches the flipped bytes either
    expect(failed(result.checks)).toEqual(['proof digest', 'proof file', 'proof', 'public outputs'])
  })

  it("a proof checked against another model's vk", () => {
    const a = built.get('2l_relu_small') as Built
    const b = built.get('1l_relu') as Built
    const result = verifyReceipt({ receipt: a.settled.receipt, proof: a.settled.proof as Uint8Array, package: b.model })
    expect(result.valid).toBe(false)
    expect(failed(result.checks)).toContain('proof')
    expect(failed(result.checks)).toContain('vk digest')
  })

  it('a package whose vk was swapped for another model’s', () => {
    const dir = join(work, 'swapped')
    cpSync(join(work, '1l_relu'), dir, { recursive: true })
    cpSync(join(work, '2l_relu_small', 'vk.key'), join(dir, 'vk.key'))
    expect(() => loadModelPackage({ dir, cacheDir })).toThrow(ModelPackageError)
    try {
      loadModelPackage({ dir, cacheDir })
    } catch (error) {
      expect((error as ModelPackageError).meta).toEqual({ file: 'vk.key' })
    }
  })

  it('a package whose manifest was edited to name the swapped vk is refused by the proof check', () => {
    const dir = join(work, 'swapped-manifest')
    cpSync(join(work, '1l_relu'), dir, { recursive: true })
    cpSync(join(work, '2l_relu_small', 'vk.key'), join(dir, 'vk.key'))
    const manifest = JSON.parse(readFileSync(join(dir, 'verity-model.json'), 'utf8'))
    manifest.files['vk.key'] = digest(new Uint8Array(readFileSync(join(dir, 'vk.key'))))
    writeFileSync(join(dir, 'verity-model.json'), JSON.stringify(manifest))
    const model = loadModelPackage({ dir, cacheDir })
    const { settled } = built.get('1l_relu') as Built
    const result = verifyReceipt({ receipt: settled.receipt, proof: settled.proof as Uint8Array, package: model })
    expect(result.valid).toBe(false)
    expect(failed(result.checks)).toEqual(expect.arrayContaining(['model digest', 'vk digest', 'proof']))
  })
})

describe('toolchain errors', () => {
  it('a missing toolchain says how to install it', async () => {
    const error = await buildModelPackage({
      model: join(EXAMPLES, '1l_relu', 'network.onnx'),
      sample: join(EXAMPLES, '1l_relu', 'input.json'),
      out: join(work, 'never'),
      srs: 'dev',
      python: join(work, 'no-such-python'),
    }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ToolchainError)
    expect((error as ToolchainError).hint).toContain('setup-toolchain.sh')
  })

  it('a file that is not ONNX is refused before the toolchain runs', async () => {
    const bogus = join(work, 'bogus.onnx')
    writeFileSync(bogus, 'not a model')
    await expect(
      buildModelPackage({ model: bogus, sample: join(EXAMPLES, '1l_relu', 'input.json'), out: join(work, 'bogus'), srs: 'dev' }),
    ).rejects.toThrow(ModelPackageError)
  })
})
