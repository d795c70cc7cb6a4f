import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { getEngine } from '../../src/proofs/ezkl-engine.js'
import { feltToFloat, parseFelt } from '../../src/proofs/field.js'
import { generateKeys } from '../../src/proofs/model-package.js'
import { verifyProof } from '../../src/proofs/prove.js'
import { SHARED_FIXTURES } from '../shared-fixtures.js'

// EZKL's own v21.0.0 artifacts (see /work/shared/fixtures/README.md).
const FIXTURE = process.env.VERITY_EZKL_FIXTURE ?? join(SHARED_FIXTURES, 'ezkl', 'v21.0.0-1l_mlp')
const read = (name: string) => new Uint8Array(readFileSync(join(FIXTURE, name)))
const clamp = (bytes: Uint8Array) => new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength)

describe('EZKL v21.0.0 fixture (1l_mlp)', () => {
  const engine = getEngine()
  const compiled = read('model.compiled')
  const settings = read('settings.json')
  const srs = read('kzg')

  it("genWitness reproduces EZKL's witness.json exactly", () => {
    const input = JSON.parse(readFileSync(join(FIXTURE, 'input.json'), 'utf8')) as { input_data: number[][] }
    const witness = JSON.parse(
      new TextDecoder().decode(
        engine.genWitness(clamp(compiled), clamp(new TextEncoder().encode(JSON.stringify({ input_data: input.input_data })))),
      ),
    )
    const expected = JSON.parse(readFileSync(join(FIXTURE, 'witness.json'), 'utf8'))
    expect(witness).toEqual(expected)
    // and the rescaled outputs are the input.json's output_data (scale 0 at this fixture)
    const outputs = (witness.outputs as string[][]).map((row) => row.map((felt) => feltToFloat(parseFelt(felt), 0)))
    expect(outputs.flat()).toEqual(expected.pretty_elements.rescaled_outputs.flat().map(Number))
  })

  it('the shipped proof does not verify with the shipped vk (known mismatch)', () => {
    expect(verifyProof({ proof: read('proof.json'), vk: read('vk.key'), settings, srs })).toBe(false)
  })

  it('keys regenerated from kzg make a proof that verifies, and a flipped byte is refused', () => {
    const { vk, pk } = generateKeys({ compiled, srs })
    const witness = read('witness.json')
    const proof = new Uint8Array(engine.prove(clamp(witness), clamp(pk), clamp(compiled), clamp(srs)))
    expect(verifyProof({ proof, vk, settings, srs })).toBe(true)

    // flip one byte inside the hex proof (the bytes the verifier checks)
    const parsed = JSON.parse(new TextDecoder().decode(proof)) as { proof: number[] }
    const flippedProof = structuredClone(parsed)
    flippedProof.proof[100] = ((flippedProof.proof[100] as number) ^ 0x01) & 0xff
    expect(verifyProof({ proof: new TextEncoder().encode(JSON.stringify(flippedProof)), vk, settings, srs })).toBe(false)

    // the shipped vk refuses the fresh proof too
    expect(verifyProof({ proof, vk: read('vk.key'), settings, srs })).toBe(false)
  })
})
