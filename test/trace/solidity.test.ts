import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { BrowserProvider, type Contract, ContractFactory } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TraceCheckpointLine, TraceEntryLine } from '../../src/trace/entry.js'
import { readLines, testSigner, writeSampleTrace } from './helpers.js'

const require = createRequire(import.meta.url)
const root = join(import.meta.dirname, '..', '..')

/** The Solidity snippet of docs/trace-format.md, compiled as written. */
function compileDocumentedVerifier(): { abi: unknown[]; bytecode: string } {
  const markdown = readFileSync(join(root, 'docs', 'trace-format.md'), 'utf8')
  const source = /```solidity\n([\s\S]*?)```/.exec(markdown)?.[1]
  if (!source) throw new Error('docs/trace-format.md has no solidity block')
  const solc = require('solc') as { compile(input: string): string }
  const output = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'VerityTraceVerifier.sol': { content: source } },
        settings: { outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
      }),
    ),
  ) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>
  }
  const errors = (output.errors ?? []).filter((error) => error.severity === 'error')
  if (errors.length) throw new Error(errors.map((error) => error.formattedMessage).join('\n'))
  const contract = output.contracts['VerityTraceVerifier.sol']?.VerityTraceVerifier
  if (!contract) throw new Error('no contract')
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` }
}

describe('the documented Solidity verifier (Hardhat in-process EVM)', { timeout: 120_000 }, () => {
  let verifier: Contract
  let close: () => Promise<void> = async () => {}

  beforeAll(async () => {
    const { resolveConfig } = require('hardhat/internal/core/config/config-resolution')
    const { createProvider } = require('hardhat/internal/core/providers/construction')
    const config = resolveConfig(join(root, 'package.json'), { networks: { hardhat: { chainId: 31337, loggingEnabled: false } } })
    const hardhat = await createProvider(config, 'hardhat')
    const provider = new BrowserProvider(hardhat)
    const deployer = await provider.getSigner(0)
    const compiled = compileDocumentedVerifier()
    const contract = await new ContractFactory(compiled.abi as never, compiled.bytecode, deployer).deploy()
    await contract.waitForDeployment()
    verifier = contract as unknown as Contract
    close = async () => provider.destroy()
  })
  afterAll(async () => close())

  it('ecrecovers the agent from every entry and checkpoint signature of a real trace, and not from a changed one', async () => {
    const { path, signer } = await writeSampleTrace()
    const lines = readLines(path).map((line) => JSON.parse(line) as TraceEntryLine | TraceCheckpointLine)
    for (const line of lines) {
      if (line.type === 'entry') {
        expect(await verifier.getFunction('entrySigner')(line.agent, 1, line.seq, line.prevHash, line.hash, line.signature)).toBe(
          signer.address,
        )
        const changedHash = `${line.hash.slice(0, -1)}${line.hash.endsWith('0') ? '1' : '0'}`
        expect(
          await verifier.getFunction('entrySigner')(line.agent, 1, line.seq, line.prevHash, changedHash, line.signature),
        ).not.toBe(signer.address)
        expect(
          await verifier.getFunction('entrySigner')(line.agent, 1, line.seq + 1, line.prevHash, line.hash, line.signature),
        ).not.toBe(signer.address)
      } else {
        expect(
          await verifier.getFunction('checkpointSigner')(line.agent, 1, line.origin, line.size, line.root, line.signature),
        ).toBe(signer.address)
        expect(
          await verifier.getFunction('checkpointSigner')(line.agent, 1, line.origin, line.size - 1, line.root, line.signature),
        ).not.toBe(signer.address)
      }
    }
    // The domain binds the agent and the chain: another agent's domain or chain recovers someone else.
    const entry = lines[1] as TraceEntryLine
    const other = testSigner('mallory').address
    expect(await verifier.getFunction('entrySigner')(other, 1, entry.seq, entry.prevHash, entry.hash, entry.signature)).not.toBe(
      signer.address,
    )
    expect(
      await verifier.getFunction('entrySigner')(entry.agent, 5, entry.seq, entry.prevHash, entry.hash, entry.signature),
    ).not.toBe(signer.address)
  })
})
