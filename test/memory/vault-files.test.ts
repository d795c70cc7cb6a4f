import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { concatBytes } from '../../src/crypto/bytes.js'
import { randomBytes } from '../../src/crypto/random.js'
import { writeFileDurably } from '../../src/memory/vault-files.js'
import { temporaryFolder } from './helpers.js'

let folder: { path: string; cleanup: () => void }
beforeEach(() => {
  folder = temporaryFolder('verity-vault-files-')
})
afterEach(() => folder.cleanup())

describe('writeFileDurably', () => {
  it('writes bytes, text, and pieces (more than one writev can take) in order, leaving no temp file', async () => {
    const path = join(folder.path, 'file')
    const bytes = concatBytes(randomBytes(1 << 20), randomBytes(1 << 20), randomBytes(1 << 20), randomBytes(17))
    await writeFileDurably(path, bytes)
    expect(readFileSync(path).equals(bytes)).toBe(true)
    await writeFileDurably(path, 'héllo')
    expect(readFileSync(path, 'utf8')).toBe('héllo')
    const pieces = Array.from({ length: 2500 }, (_, index) => randomBytes(index % 7 === 0 ? 0 : (index % 97) + 1))
    await writeFileDurably(path, pieces)
    expect(new Uint8Array(readFileSync(path))).toEqual(concatBytes(...pieces))
    expect(readdirSync(folder.path)).toEqual(['file'])
  })
})
