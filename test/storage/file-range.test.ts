import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readRange, writeRange } from '../../src/storage/file-range.js'

const work = mkdtempSync(join(tmpdir(), 'verity-file-range-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('readRange / writeRange', () => {
  it('writes ranges at their positions in any order and reads them back whole', async () => {
    const path = join(work, 'ranges.bin')
    const handle = await open(path, 'w+')
    const first = Buffer.alloc(3 * 1024 * 1024, 1)
    const second = Buffer.alloc(1024, 2)
    await writeRange(handle, second, first.length) // the later range first
    await writeRange(handle, first, 0)
    expect(Buffer.from(await readRange(handle, first.length - 2, 4))).toEqual(Buffer.from([1, 1, 2, 2]))
    expect(Buffer.from(await readRange(handle, 0, first.length))).toEqual(first)
    await handle.close()
    expect(readFileSync(path).length).toBe(first.length + second.length)
  })

  it('a read past the end returns the bytes that exist, not padding', async () => {
    const path = join(work, 'short.bin')
    writeFileSync(path, Buffer.from('abcdef'))
    const handle = await open(path, 'r')
    expect(Buffer.from(await readRange(handle, 4, 10)).toString()).toBe('ef')
    expect((await readRange(handle, 10, 5)).length).toBe(0)
    await handle.close()
  })
})
