import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * The public surface, pinned: for every subpath in package.json "exports" whose source exists,
 * the sorted names its index exports (values, and `type X` for type-only exports). A change to a
 * surface changes this file in the same commit, on purpose. Internals (wire protocols, locks,
 * pools, tokenizers, planners, folder-name constants) are imported by relative path instead.
 */

const root = resolve(import.meta.dirname, '..')

function sourceOf(subpath: string): string {
  const name = subpath === '.' ? 'index' : subpath.slice(2)
  const folder = join(root, 'src', name, 'index.ts')
  return existsSync(folder) ? folder : join(root, 'src', `${name}.ts`)
}

function surfaces(): Record<string, string[]> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }
  const entries = Object.keys(manifest.exports)
    .map((subpath) => [subpath, sourceOf(subpath)] as const)
    .filter(([, file]) => existsSync(file))
  const program = ts.createProgram(
    entries.map(([, file]) => file),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
    },
  )
  const checker = program.getTypeChecker()
  const result: Record<string, string[]> = {}
  for (const [subpath, file] of entries) {
    const source = program.getSourceFile(file)
    const module = source && checker.getSymbolAtLocation(source)
    if (!module) throw new Error(`no module symbol for ${file}`)
    result[subpath === '.' ? 'verity' : `verity${subpath.slice(1)}`] = checker
      .getExportsOfModule(module)
      .map((symbol) => {
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
        return target.flags & ts.SymbolFlags.Value ? symbol.name : `type ${symbol.name}`
      })
      .sort((a, b) => a.replace(/^type /, '').localeCompare(b.replace(/^type /, '')))
  }
  return result
}

const pinned = surfaces()

describe('export surface', () => {
  it.each(Object.keys(pinned))('%s exports exactly its pinned names', (subpath) => {
    expect(pinned[subpath]).toMatchSnapshot()
  })
})
