import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { IntegrityError } from '../../src/errors.js'
import { snapshotFilePath, snapshotReader, writeSnapshotStream } from '../../src/memory/index-snapshot-files.js'
import { encodeSnapshot } from '../../src/memory/segment-codec.js'
import type { IndexSnapshot } from '../../src/memory/vector-index.js'
import { temporaryFolder } from './helpers.js'

let folder: { path: string; cleanup: () => void }
beforeEach(() => {
  folder = temporaryFolder('verity-snapshot-files-')
})
afterEach(() => folder.cleanup())

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let start = 0
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, point))
    start = point
  }
  return pieces
}

function readTree(root: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const full = join(entry.parentPath, entry.name)
    out.set(full.slice(root.length + 1), new Uint8Array(readFileSync(full)))
  }
  return out
}

const pathArbitrary = fc
  .array(fc.stringMatching(/^[a-z0-9_.-]{1,8}$/), { minLength: 1, maxLength: 3 })
  .filter((parts) => parts.every((part) => part !== '.' && part !== '..'))
  .map((parts) => parts.join('/'))

describe('writeSnapshotStream', () => {
  it('writes exactly the encoded files, however the plaintext is cut into pieces (property)', () => {
    let run = 0
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(pathArbitrary, fc.uint8Array({ maxLength: 200 })), {
          selector: ([path]) => path,
          maxLength: 6,
        }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (entries, cuts) => {
          // A path may not be both a file and a folder of another file.
          const paths = entries.map(([path]) => path)
          fc.pre(!paths.some((path) => paths.some((other) => other.startsWith(`${path}/`))))
          const snapshot: IndexSnapshot = { sequence: 42, files: new Map(entries) }
          const directory = join(folder.path, `run-${run++}`)
          const written = writeSnapshotStream({
            chunks: split(encodeSnapshot(snapshot), cuts),
            directory,
            sequence: 42,
            where: 'test',
          })
          expect(written).toEqual(paths)
          if (entries.length) expect(readTree(directory)).toEqual(new Map(entries))
        },
      ),
      { numRuns: 60 },
    )
  })

  it('creates private files and folders', () => {
    const directory = join(folder.path, 'private')
    writeSnapshotStream({
      chunks: [encodeSnapshot({ sequence: 1, files: new Map([['data/a.lance', new Uint8Array([1, 2, 3])]]) })],
      directory,
      sequence: 1,
      where: 'test',
    })
    expect(statSync(join(directory, 'data/a.lance')).mode & 0o777).toBe(0o600)
    expect(statSync(join(directory, 'data')).mode & 0o777).toBe(0o700)
  })

  const file = (path: string) => new Map([[path, new Uint8Array([7])]])
  let attempt = 0
  const must = (chunks: Uint8Array[], pattern: RegExp) => {
    const directory = join(folder.path, `bad-${attempt++}`)
    let caught: unknown
    try {
      writeSnapshotStream({ chunks, directory, sequence: 1, where: 'snapshot-segment' })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(IntegrityError)
    expect((caught as IntegrityError).shortMessage).toMatch(pattern)
  }

  it('refuses unsafe paths, another sequence, duplicates, short and over-long plaintext', () => {
    for (const evil of ['../escape', '/etc/passwd', 'a/../../b', 'a//b', './a', 'a\\b', 'nul\0byte', ''])
      must([encodeSnapshot({ sequence: 1, files: file(evil) })], /unsafe file path/)
    expect(existsSync(join(folder.path, 'escape'))).toBe(false)
    must([encodeSnapshot({ sequence: 2, files: file('a') })], /another state/)
    const good = encodeSnapshot({ sequence: 1, files: file('a') })
    must([good.subarray(0, good.length - 1)], /malformed/)
    must([good.subarray(0, 10)], /malformed/)
    must([good, new Uint8Array([0])], /trailing bytes/)
    // The same path twice (hand-built: a Map cannot hold it).
    const twice = new Uint8Array(good.length * 2 - 12)
    twice.set(good, 0)
    twice.set(good.subarray(12), good.length)
    new DataView(twice.buffer).setUint32(8, 2, false)
    must([twice], /names a file twice/)
    // A path length no real snapshot has.
    const long = new Uint8Array(good)
    new DataView(long.buffer).setUint32(12, 1 << 20, false)
    must([long], /malformed/)
  })
})

describe('snapshotFilePath', () => {
  it('joins plain relative paths and refuses anything else', () => {
    expect(snapshotFilePath('/root', 'data/x.lance')).toBe('/root/data/x.lance')
    expect(() => snapshotFilePath('/root', '../x')).toThrow(IntegrityError)
  })
})

describe('snapshotReader', () => {
  it('turns an in-memory snapshot into a reader that writes and reads the same files', () => {
    const files = new Map([
      ['a/b.bin', new Uint8Array([1, 2])],
      ['c.json', new Uint8Array([3])],
    ])
    const reader = snapshotReader({ sequence: 3, files })
    expect(reader.sequence).toBe(3)
    expect(reader.readFiles()).toEqual(files)
    const directory = join(folder.path, 'reader')
    expect(reader.writeFiles(directory)).toEqual(['a/b.bin', 'c.json'])
    expect(readTree(directory)).toEqual(files)
    expect(snapshotReader(reader)).toBe(reader)
  })
})
