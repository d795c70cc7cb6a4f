import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalDigest } from '../../src/crypto/canonical-json.js'
import { digest } from '../../src/crypto/digest.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { buildModelPackage } from '../../src/proofs/build-model-package.js'
import { loadModelPackage, type ModelPackage } from '../../src/proofs/model-package.js'
import { normalizeProof } from '../../src/proofs/proof-file.js'
import { prove } from '../../src/proofs/prove.js'
import { signProverAttestation } from '../../src/proofs/prover-attestation.js'
import { createReceipt, type Receipt, verifyReceipt } from '../../src/proofs/receipt.js'
import { runWitness } from '../../src/proofs/witness.js'
import { SHARED_FIXTURES } from '../shared-fixtures.js'

// Issue 10, attack 6: every field of a receipt and of its proof file is bound.
const EXAMPLE = join(process.env.VERITY_EZKL_ONNX ?? join(SHARED_FIXTURES, 'ezkl', 'onnx'), '1l_relu')
const work = mkdtempSync(join(tmpdir(), 'verity-receipt-binding-'))
const CLI = resolve('src/cli/main.ts')
const TSX = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href
let model: ModelPackage
let proof: Uint8Array
let receipt: Receipt

const failed = (result: { checks: Array<{ name: string; ok: boolean }> }) =>
  result.checks.filter((check) => !check.ok).map((check) => check.name)
/** What an attacker does after editing the claim: recompute the id so the claim-id check passes. */
const withId = (edited: Receipt): Receipt => {
  const { format, model: m, input, output, createdAt } = edited
  return { ...edited, id: canonicalDigest({ format, model: m, input, output, createdAt }) }
}
const editProof = (edit: (object: Record<string, unknown>) => void): Uint8Array => {
  const object = JSON.parse(new TextDecoder().decode(proof)) as Record<string, unknown>
  edit(object)
  return new TextEncoder().encode(JSON.stringify(object))
}

beforeAll(async () => {
  // the attacker's own package, named like the bundled one
  await buildModelPackage({
    model: join(EXAMPLE, 'network.onnx'),
    sample: JSON.parse(readFileSync(join(EXAMPLE, 'input.json'), 'utf8')),
    out: join(work, 'pkg'),
    srs: 'dev',
    name: 'transaction-risk',
  })
  model = loadModelPackage({ dir: join(work, 'pkg'), cacheDir: join(work, 'pk-cache') })
  const input = [[0.25, -1.5, 2]]
  const witness = await runWitness({ package: model, input })
  proof = prove({ package: model, witness: witness.witness })
  const pending = createReceipt({ package: model, input, output: witness.output }).receipt
  const now = new Date().toISOString()
  receipt = { ...pending, status: 'verified', proofDigest: digest(proof), provenAt: now, verifiedAt: now }
}, 300_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('receipt labels are bound to the package manifest', () => {
  it('the honest receipt verifies', () => {
    const result = verifyReceipt({ receipt, proof, package: model })
    expect(failed(result)).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('relabelled srsKind "ceremony", name and version with the id recomputed is refused', () => {
    const relabelled = withId({
      ...receipt,
      model: { ...receipt.model, srsKind: 'ceremony', name: 'fraud-model-v9', version: '9.9.9' },
    })
    const result = verifyReceipt({ receipt: relabelled, proof, package: model })
    expect(result.valid).toBe(false)
    expect(failed(result)).toEqual(['model labels'])
    expect(result.checks.find((check) => check.name === 'model labels')?.details).toContain('srsKind ceremony ≠ dev')
  })

  it('each label alone is refused, and so is a relabelled input visibility', () => {
    for (const change of [{ srsKind: 'ceremony' as const }, { name: 'other' }, { version: '2.0.0' }]) {
      const result = verifyReceipt({
        receipt: withId({ ...receipt, model: { ...receipt.model, ...change } }),
        proof,
        package: model,
      })
      expect(failed(result)).toEqual(['model labels'])
    }
    const publicInput = withId({ ...receipt, input: { ...receipt.input, visibility: 'public', salted: false } })
    expect(failed(verifyReceipt({ receipt: publicInput, proof, package: model }))).toEqual(['input visibility'])
  })

  it('a field the format does not define is refused (nothing rides along unbound)', () => {
    const extra = { ...receipt, audited: true }
    expect(failed(verifyReceipt({ receipt: extra, proof, package: model }))).toEqual(['format'])
    const extraModel = withId({ ...receipt, model: { ...receipt.model, audit: 'ok' } as Receipt['model'] })
    expect(failed(verifyReceipt({ receipt: extraModel, proof, package: model }))).toEqual(['format'])
  })

  it('a verified receipt carrying an error, or without its timestamps, is refused', () => {
    expect(failed(verifyReceipt({ receipt: { ...receipt, error: 'ignore me' }, proof, package: model }))).toEqual([
      'status fields',
    ])
    const { verifiedAt: _dropped, ...noTime } = receipt
    expect(failed(verifyReceipt({ receipt: noTime, proof, package: model }))).toEqual(['status fields'])
  })
})

describe('the proof file is bound', () => {
  it('a changed hex_proof is refused even with the proof digest recomputed', () => {
    const edited = editProof((object) => {
      object.hex_proof = `0x${'00'.repeat(32)}${String(object.hex_proof).slice(66)}`
    })
    const result = verifyReceipt({ receipt: { ...receipt, proofDigest: digest(edited) }, proof: edited, package: model })
    expect(result.valid).toBe(false)
    expect(failed(result)).toEqual(['proof file'])
    expect(() => normalizeProof(edited)).toThrow(/hex_proof/)
  })

  it('fields the verifier ignores (timestamp, pretty_public_inputs, version) cannot ride along', () => {
    for (const edit of [
      (object: Record<string, unknown>) => {
        object.timestamp = 1
      },
      (object: Record<string, unknown>) => {
        object.pretty_public_inputs = null
      },
      (object: Record<string, unknown>) => {
        object.version = '99'
      },
    ]) {
      const edited = editProof(edit)
      const result = verifyReceipt({ receipt: { ...receipt, proofDigest: digest(edited) }, proof: edited, package: model })
      expect(failed(result)).toEqual(['proof file'])
      // and the normal form of the edited file is the original proof
      expect(digest(normalizeProof(edited))).toBe(digest(proof))
    }
  })
})

describe('prover signatures', () => {
  const node = createKeySigner({ privateKey: Wallet.createRandom().privateKey })
  const other = createKeySigner({ privateKey: Wallet.createRandom().privateKey })

  it('a signed receipt verifies and names its prover', () => {
    const prover = signProverAttestation({ receiptId: receipt.id, proofDigest: digest(proof), signer: node })
    const result = verifyReceipt({ receipt: { ...receipt, prover }, proof, package: model })
    expect(failed(result)).toEqual([])
    expect(result.prover).toBe(node.address)
  })

  it('a signature claimed for another prover, or over another receipt, is refused', () => {
    const prover = signProverAttestation({ receiptId: receipt.id, proofDigest: digest(proof), signer: node })
    const stolen = { address: other.address, signature: prover.signature }
    expect(failed(verifyReceipt({ receipt: { ...receipt, prover: stolen }, proof, package: model }))).toEqual([
      'prover signature',
    ])
    const elsewhere = signProverAttestation({ receiptId: digest(new Uint8Array([1])), proofDigest: digest(proof), signer: node })
    const result = verifyReceipt({ receipt: { ...receipt, prover: elsewhere }, proof, package: model })
    expect(failed(result)).toEqual(['prover signature'])
    expect(result.prover).toBeUndefined()
  })
})

describe('verity proof verify finds packages by digest, never in ./models', () => {
  const verity = (cwd: string, ...args: string[]) => {
    const result = spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    return { code: result.status, stdout: result.stdout, stderr: result.stderr }
  }

  it('a package planted in ./models named like the bundled one is not used', () => {
    const cwd = join(work, 'cwd')
    mkdirSync(join(cwd, 'models'), { recursive: true })
    // the planted package: a copy of the attacker's package under ./models/transaction-risk
    spawnSync('cp', ['-r', join(work, 'pkg'), join(cwd, 'models', 'transaction-risk')])
    writeFileSync(join(cwd, 'receipt.json'), JSON.stringify(receipt))
    writeFileSync(join(cwd, 'receipt.proof.json'), proof)

    const planted = verity(cwd, 'proof', 'verify', 'receipt.json', '--json')
    expect(planted.code, planted.stdout).toBe(1)
    expect(planted.stderr).toContain('VERITY_NOT_FOUND')

    const explicit = verity(cwd, 'proof', 'verify', 'receipt.json', '--model', join(work, 'pkg'), '--json')
    expect(explicit.code, explicit.stderr).toBe(0)
    const report = JSON.parse(explicit.stdout)
    expect(report.model).toMatchObject({ digest: model.digest, bundled: false, name: 'transaction-risk' })
  }, 240_000)
})
