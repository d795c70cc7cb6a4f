import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sha256Parallel } from '../../src/crypto/sha256-parallel.js'

const nodeSha256 = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest())

describe('sha256Parallel', () => {
  it('gives the known answers of FIPS 180-2 (inline sizes)', async () => {
    expect(Buffer.from(await sha256Parallel(new TextEncoder().encode('abc'))).toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
    expect(Buffer.from(await sha256Parallel(new Uint8Array(0))).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
  })

  it('equals sha256 around the worker threshold, for many inputs at once (workers and the calling thread both hash)', async () => {
    const inputs = [256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 1024 * 1024, 3 * 1024 * 1024 + 7].flatMap((size) =>
      Array.from({ length: 4 }, () => new Uint8Array(randomBytes(size))),
    )
    const digests = await Promise.all(inputs.map((input) => sha256Parallel(input)))
    expect(digests.map((digest) => Buffer.from(digest).toString('hex'))).toEqual(
      inputs.map((input) => Buffer.from(nodeSha256(input)).toString('hex')),
    )
  })

  it('hashes only the bytes of a view into a larger buffer, and shared memory', async () => {
    const big = new Uint8Array(randomBytes(4 * 1024 * 1024))
    const view = big.subarray(1000, 1000 + 1024 * 1024)
    expect(Buffer.from(await sha256Parallel(view))).toEqual(Buffer.from(nodeSha256(view)))
    // a view a few bytes into a slightly larger buffer crosses with its buffer: the worker hashes its range only
    const host = new Uint8Array(randomBytes(1024 * 1024 + 100))
    const near = host.subarray(10, 10 + 1024 * 1024)
    expect(Buffer.from(await sha256Parallel(near))).toEqual(Buffer.from(nodeSha256(near)))
    const shared = new Uint8Array(new SharedArrayBuffer(512 * 1024))
    shared.set(big.subarray(0, shared.length))
    expect(Buffer.from(await sha256Parallel(shared))).toEqual(Buffer.from(nodeSha256(shared)))
  })

  it('refuses what is not bytes with a labelled TypeError', async () => {
    await expect(sha256Parallel('abc' as unknown as Uint8Array)).rejects.toThrow(TypeError)
  })

  it('keeps a process alive while a hash is pending, and lets it exit once idle', () => {
    const module = join(import.meta.dirname, '..', '..', 'src', 'crypto', 'sha256-parallel.ts')
    const script = `import { sha256Parallel } from ${JSON.stringify(module)}
      sha256Parallel(new Uint8Array(2 * 1024 * 1024).fill(1)).then((d) => console.log(Buffer.from(d).toString('hex')))`
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(output.trim()).toBe(Buffer.from(nodeSha256(new Uint8Array(2 * 1024 * 1024).fill(1))).toString('hex'))
  })
})
