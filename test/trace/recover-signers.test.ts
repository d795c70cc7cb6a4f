import { describe, expect, it } from 'vitest'
import { sha256 } from '../../src/crypto/digest.js'
import { recoverSigners } from '../../src/trace/recover-signers.js'
import { testSigner } from './helpers.js'

describe('recoverSigners', () => {
  it('worker threads recover the same addresses as the inline path, in order, and nothing from bad signatures', async () => {
    const signers = [testSigner('a'), testSigner('b'), testSigner('c')]
    const tasks = Array.from({ length: 300 }, (_, i) => {
      const digest = sha256(`message ${i}`)
      const signature = (signers[i % 3] as (typeof signers)[number]).signDigest(digest)
      if (i % 50 === 7) signature[64] = 30 // invalid v
      if (i % 50 === 9) signature[10] = (signature[10] as number) ^ 1 // changed r: recovers someone else or nothing
      return { digest, signature }
    })
    const inline = await recoverSigners({ tasks, workers: 0 })
    const parallel = await recoverSigners({ tasks, workers: 2, parallelThreshold: 0 })
    expect(parallel).toEqual(inline)
    for (const [i, address] of inline.entries()) {
      if (i % 50 === 7) expect(address).toBeUndefined()
      else if (i % 50 === 9) expect(address).not.toBe(signers[i % 3]?.address)
      else expect(address).toBe(signers[i % 3]?.address)
    }
  })
})
