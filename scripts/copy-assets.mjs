// Copies the non-TypeScript files the compiled code needs from src/ to dist/ (tsc copies only
// what it compiles). Run by `npm run build` after tsc.
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const ASSETS = ['proofs/ezkl-toolchain.py']

for (const asset of ASSETS) {
  const target = join(root, 'dist', asset)
  mkdirSync(dirname(target), { recursive: true })
  copyFileSync(join(root, 'src', asset), target)
  process.stdout.write(`copy-assets: dist/${asset}\n`)
}
