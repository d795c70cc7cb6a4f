import { createHash } from 'node:crypto'
import { cpSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Deterministic pseudo-random bytes (SHA-256 in counter mode over a label). */
export function patternBytes(label: string, length: number): Uint8Array {
  const out = Buffer.alloc(length)
  for (let offset = 0, counter = 0; offset < length; counter += 1) {
    const block = createHash('sha256').update(`${label}:${counter}`).digest()
    offset += block.copy(out, offset)
  }
  return new Uint8Array(out.buffer, out.byteOffset, length)
}

export const MODEL_DIR = join(import.meta.dirname, '..', '..', 'models', 'transaction-risk')

/** A nested folder: the bundled model package, a sub-folder with a > 1-chunk file, an empty file and an empty folder. */
export function writeNestedFolder(dir: string): void {
  cpSync(MODEL_DIR, dir, { recursive: true })
  mkdirSync(join(dir, 'extra', 'deeper'), { recursive: true })
  mkdirSync(join(dir, 'extra', 'empty-folder'), { recursive: true })
  writeFileSync(join(dir, 'extra', 'weights.bin'), patternBytes('weights', 2_621_440 + 17))
  writeFileSync(join(dir, 'extra', 'deeper', 'empty.txt'), new Uint8Array(0))
  writeFileSync(join(dir, 'extra', 'deeper', 'note.txt'), 'nested\n')
}
