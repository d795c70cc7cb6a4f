import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { concatBytes } from '../../src/crypto/bytes.js'
import { randomBytes } from '../../src/crypto/random.js'
import { StorageError } from '../../src/errors.js'
import { writeFileAtomic, writeFileAtomicAsync } from '../../src/storage/atomic-file.js'
import { temporaryFolder } from '../memory/helpers.js'

let folder: { path: string; cleanup: () => void }
beforeEach(() => {
  folder = temporaryFolder('verity-atomic-file-')
})
afterEach(() => folder.cleanup())

describe('writeFileAtomicAsync', () => {
  it('writes bytes, text, and pieces (more than one writev can take) in order, leaving no temp file', async () => {
    const path = join(folder.path, 'file')
    const bytes = concatBytes(randomBytes(1 << 20), randomBytes(1 << 20), randomBytes(1 << 20), randomBytes(17))
    await writeFileAtomicAsync({ path, data: bytes })
    expect(readFileSync(path).equals(bytes)).toBe(true)
    await writeFileAtomicAsync({ path, data: 'héllo' })
    expect(readFileSync(path, 'utf8')).toBe('héllo')
    const pieces = Array.from({ length: 2500 }, (_, index) => randomBytes(index % 7 === 0 ? 0 : (index % 97) + 1))
    await writeFileAtomicAsync({ path, data: pieces })
    expect(new Uint8Array(readFileSync(path))).toEqual(concatBytes(...pieces))
    expect(readdirSync(folder.path)).toEqual(['file'])
  })
})

describe('writeFileAtomic', () => {
  it('replaces a file with private mode and leaves no temp file; a missing folder is a typed error', () => {
    const path = join(folder.path, 'sync')
    writeFileAtomic({ path, data: 'one' })
    writeFileAtomic({ path, data: new Uint8Array([116, 119, 111]) })
    expect(readFileSync(path, 'utf8')).toBe('two')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readdirSync(folder.path)).toEqual(['sync'])
    expect(() => writeFileAtomic({ path: join(folder.path, 'missing', 'x'), data: 'x' })).toThrow(StorageError)
  })

  it('the async twin reports a missing folder as the same typed error', async () => {
    await expect(writeFileAtomicAsync({ path: join(folder.path, 'missing', 'x'), data: 'x' })).rejects.toBeInstanceOf(
      StorageError,
    )
    expect(readdirSync(folder.path)).toEqual([])
  })
})
