import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest } from '../../src/crypto/digest.js'
import { InvalidInputError, ProverCrashedError } from '../../src/errors.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { buildModelPackage } from '../../src/proofs/build-model-package.js'
import { createProver } from '../../src/proofs/create-prover.js'
import { loadModelPackage, type ModelPackage } from '../../src/proofs/model-package.js'
import { createNativeProver } from '../../src/proofs/native-backend.js'
import { proofFileProblem } from '../../src/proofs/proof-file.js'
import { verifyProof } from '../../src/proofs/prove.js'
import type { ProverBackend } from '../../src/proofs/prover-backend.js'
import { createReceipt, verifyReceipt } from '../../src/proofs/receipt.js'
import { createWasmProver } from '../../src/proofs/wasm-backend.js'
import { runWitness } from '../../src/proofs/witness.js'
import { SHARED_FIXTURES } from '../shared-fixtures.js'

const EXAMPLE = join(process.env.VERITY_EZKL_ONNX ?? join(SHARED_FIXTURES, 'ezkl', 'onnx'), '1l_relu')
const work = mkdtempSync(join(tmpdir(), 'verity-backends-'))
const signer = createKeySigner({ privateKey: Wallet.createRandom().privateKey })
let model: ModelPackage
let witness: Uint8Array
let output: number[][]
let native: ProverBackend
let wasm: ProverBackend
const pids: number[] = []

beforeAll(async () => {
  await buildModelPackage({
    model: join(EXAMPLE, 'network.onnx'),
    sample: JSON.parse(readFileSync(join(EXAMPLE, 'input.json'), 'utf8')),
    out: join(work, 'pkg'),
    srs: 'dev',
    name: '1l_relu',
    maxShippedProvingKeyBytes: 0, // the native backend must regenerate the proving key once
  })
  model = loadModelPackage({ dir: join(work, 'pkg'), cacheDir: join(work, 'pk-cache') })
  const run = await runWitness({ package: model, input: [[0.5, -2, 1.25]] })
  witness = run.witness
  output = run.output
  native = await createNativeProver({ signer, onWorker: ({ pid }) => pids.push(pid) })
  wasm = createWasmProver({ workers: 1, signer })
}, 300_000)

afterAll(async () => {
  await native?.close()
  await wasm?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('prover backends v1: native and wasm proofs are interchangeable', () => {
  it('a native proof verifies with the engine, in a receipt signed by the node', async () => {
    const { receipt } = createReceipt({ package: model, input: [[0.5, -2, 1.25]], output })
    const result = await native.prove({ package: model, witness, receiptId: receipt.id })
    expect(result.verified).toBe(true)
    expect(proofFileProblem(result.proof)).toBeUndefined()
    expect(verifyProof({ proof: result.proof, vk: model.vk, settings: model.settings, srs: model.srs })).toBe(true)
    const now = new Date().toISOString()
    const proven = {
      ...receipt,
      status: 'verified' as const,
      proofDigest: digest(result.proof),
      provenAt: now,
      verifiedAt: now,
      prover: result.prover,
    }
    const verdict = verifyReceipt({ receipt: proven, proof: result.proof, package: model })
    expect(verdict.checks.filter((check) => !check.ok)).toEqual([])
    expect(verdict.prover).toBe(signer.address)
    expect(native.models()).toEqual([model.digest])
    expect(native.capacity()).toMatchObject({ slots: 1, running: 0, queued: 0 })
  }, 120_000)

  it('a wasm proof verifies natively; a flipped proof byte does not; both have the same normal form', async () => {
    const fromWasm = await wasm.prove({ package: model, witness })
    expect(await native.verify({ package: model, proof: fromWasm.proof })).toBe(true)
    const parsed = JSON.parse(new TextDecoder().decode(fromWasm.proof)) as { proof: number[]; hex_proof: string }
    parsed.proof[40] = ((parsed.proof[40] as number) ^ 1) & 0xff
    parsed.hex_proof = `0x${Buffer.from(parsed.proof).toString('hex')}`
    expect(await native.verify({ package: model, proof: new TextEncoder().encode(JSON.stringify(parsed)) })).toBe(false)
    const fromNative = await native.prove({ package: model, witness })
    const keys = (bytes: Uint8Array) => Object.keys(JSON.parse(new TextDecoder().decode(bytes)))
    expect(keys(fromNative.proof)).toEqual(keys(fromWasm.proof))
    // same public instances: the same statement, proven by either
    const instances = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)).instances
    expect(instances(fromNative.proof)).toEqual(instances(fromWasm.proof))
    expect(await wasm.verify({ package: model, proof: fromNative.proof })).toBe(true)
  }, 180_000)

  it('a worker killed mid-job fails that job with ProverCrashedError and is restarted for the next', async () => {
    const before = pids.length
    const kill = () => {
      const pid = pids.at(-1)
      if (pid) process.kill(pid, 'SIGKILL')
    }
    native.on('proof-started', kill)
    await expect(native.prove({ package: model, witness })).rejects.toBeInstanceOf(ProverCrashedError)
    native.off('proof-started', kill)
    const next = await native.prove({ package: model, witness })
    expect(next.verified).toBe(true)
    expect(pids.length).toBe(before + 1)
  }, 120_000)
})

describe('createProver picks the backend', () => {
  it('auto is native where the toolchain answers; --prover/VERITY_PROVER choose; an unknown kind is refused', async () => {
    const auto = await createProver()
    expect(auto.kind).toBe(process.env.VERITY_PROVER ?? 'native')
    await auto.close()
    const chosen = await createProver({ kind: 'wasm', workers: 1 })
    expect(chosen.kind).toBe('wasm')
    await chosen.close()
    const saved = process.env.VERITY_PROVER
    process.env.VERITY_PROVER = 'quantum'
    try {
      await expect(createProver()).rejects.toBeInstanceOf(InvalidInputError)
    } finally {
      if (saved === undefined) delete process.env.VERITY_PROVER
      else process.env.VERITY_PROVER = saved
    }
    await expect(createProver({ kind: 'queue' })).rejects.toBeInstanceOf(InvalidInputError)
  }, 60_000)
})
