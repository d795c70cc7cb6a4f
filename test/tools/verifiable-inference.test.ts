import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidInputError } from '../../src/errors.js'
import { buildModelPackage } from '../../src/proofs/build-model-package.js'
import type { ModelPackage } from '../../src/proofs/model-package.js'
import { createProverPool, type ProverPool } from '../../src/proofs/prover-pool.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import { parseToolArguments, verifiableInferenceTool } from '../../src/tools/verifiable-inference.js'
import { SHARED_FIXTURES } from '../shared-fixtures.js'

const EXAMPLE = join(process.env.VERITY_EZKL_ONNX ?? join(SHARED_FIXTURES, 'ezkl', 'onnx'), '2l_relu_fc')
const work = mkdtempSync(join(tmpdir(), 'verity-tool-'))
let model: ModelPackage
let pool: ProverPool

beforeAll(async () => {
  ;({ package: model } = await buildModelPackage({
    model: join(EXAMPLE, 'network.onnx'),
    sample: join(EXAMPLE, 'input.json'),
    out: join(work, 'pkg'),
    srs: 'dev',
    name: 'relu-fc',
    inputLabels: [['a', 'b', 'c']],
    outputLabels: [['score']],
  }))
  pool = createProverPool({ workers: 1 })
}, 300_000)

afterAll(async () => {
  await pool?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('verifiableInferenceTool', () => {
  it('returns the proven output with a pending receipt before the proof finishes; awaiting gives verified', async () => {
    const events: string[] = []
    const states: string[] = []
    pool.on('proof-finished', () => events.push('proof-finished'))
    const riskTool = verifiableInferenceTool({ package: model, pool, onReceipt: (receipt) => states.push(receipt.status) })
    expect(riskTool.name).toBe('relu-fc')
    const text = (await riskTool.invoke({ a: 0.5, b: -1.25, c: 2 })) as string
    events.push('tool-returned')
    const result = JSON.parse(text)
    expect(result.receipt.status).toBe('pending')
    expect(result.output[0]).toHaveLength(1)
    expect(result.labelled).toEqual({ score: result.output[0][0] })
    expect(events).toEqual(['tool-returned'])
    expect(states).toEqual([])

    const settled = await riskTool.awaitReceipt(result.receipt.id)
    expect(settled.receipt.status).toBe('verified')
    expect(events).toEqual(['tool-returned', 'proof-finished'])
    expect(states).toEqual(['proven', 'verified'])
    expect(settled.receipt.output).toEqual(result.output)
    expect(verifyReceipt({ receipt: settled.receipt, proof: settled.proof as Uint8Array, package: model }).valid).toBe(true)
  }, 120_000)

  it('derives its argument schema from the package and refuses bad arguments', async () => {
    const riskTool = verifiableInferenceTool({ package: model, pool })
    expect(Object.keys(riskTool.inputSchema.shape)).toEqual(['a', 'b', 'c'])
    await expect(riskTool.invoke({ a: 1, b: 2 } as never)).rejects.toThrow()
    expect(() => parseToolArguments(model, { a: 1, b: 'x', c: 3 })).toThrow(InvalidInputError)
    expect(parseToolArguments(model, { a: 1, b: 2, c: 3 })).toEqual([[1, 2, 3]])
    await expect(riskTool.awaitReceipt('sha256:nope')).rejects.toThrow(/No receipt/)
  })
})
