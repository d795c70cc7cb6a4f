import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { digest } from '../crypto/digest.js'
import { SolidityCompileError } from '../errors.js'
import { parseInput } from '../validation.js'

/** The EVM version Verity compiles for (Cancun: every current L1/L2 and Hardhat 2's default). */
export const EVM_VERSION = 'cancun'

/** One compiled contract: ABI, creation bytecode and runtime bytecode (`0x` hex). */
export type CompiledContract = { abi: unknown[]; bytecode: string; deployedBytecode: string }

export type CompileSolidityParameters = {
  /** File name -> Solidity source. */
  sources: Record<string, string>
  /** Optimizer runs (default 200); `0` turns the optimizer off. */
  optimizerRuns?: number | undefined
  /** Cache folder of compiled outputs keyed by the digest of the compiler input (default `~/.cache/verity/solc`). */
  cacheDir?: string | undefined
}
/** Contract name -> compiled contract (names must be unique across the sources). */
export type CompileSolidityReturnType = Record<string, CompiledContract>

const schema = z.object({
  sources: z.record(z.string().min(1), z.string()),
  optimizerRuns: z.number().int().min(0).max(1_000_000).optional(),
  cacheDir: z.string().min(1).optional(),
})

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[]
  contracts?: Record<
    string,
    Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
  >
}

/**
 * Compiles Solidity with the pinned solc-js (`solc` npm package, no native binary, offline). The output is
 * cached by the SHA-256 of the compiler input and version, so a second compile of the same sources is instant.
 *
 * @example
 * ```ts
 * const { RiskGate } = compileSolidity({ sources: { 'RiskGate.sol': source } })
 * ```
 */
export function compileSolidity(parameters: CompileSolidityParameters): CompileSolidityReturnType {
  const options = parseInput(schema, parameters, { what: 'compileSolidity parameters' })
  const require = createRequire(import.meta.url)
  const solc = require('solc') as { compile(input: string): string; version(): string }
  const runs = options.optimizerRuns ?? 200
  const input = JSON.stringify({
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(options.sources).map(([name, content]) => [name, { content }])),
    settings: {
      optimizer: { enabled: runs > 0, runs: Math.max(runs, 1) },
      evmVersion: EVM_VERSION,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  })
  const cacheDir = options.cacheDir ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'verity', 'solc')
  const cachePath = join(cacheDir, `${digest(`${solc.version()}\n${input}`).slice('sha256:'.length)}.json`)
  if (existsSync(cachePath)) {
    try {
      return JSON.parse(readFileSync(cachePath, 'utf8')) as CompileSolidityReturnType
    } catch {
      // a damaged cache entry is recompiled below
    }
  }
  const output = JSON.parse(solc.compile(input)) as SolcOutput
  const errors = (output.errors ?? []).filter((error) => error.severity === 'error')
  if (errors.length)
    throw new SolidityCompileError('The Solidity sources did not compile', {
      details: errors
        .map((error) => error.formattedMessage)
        .join('\n')
        .slice(0, 4000),
      hint: 'Check the sources compile with solc 0.8.28 (the pinned `solc` npm package).',
      docsPath: 'chain.md',
    })
  const result: CompileSolidityReturnType = {}
  for (const contracts of Object.values(output.contracts ?? {}))
    for (const [name, contract] of Object.entries(contracts))
      result[name] = {
        abi: contract.abi,
        bytecode: `0x${contract.evm.bytecode.object}`,
        deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      }
  try {
    mkdirSync(cacheDir, { recursive: true })
    const temporary = `${cachePath}.${process.pid}.tmp`
    writeFileSync(temporary, JSON.stringify(result))
    renameSync(temporary, cachePath)
  } catch {
    // the cache is an optimisation: a read-only home still compiles
  }
  return result
}
