import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { ContractFactory, HDNodeWallet, JsonRpcProvider, Network, Wallet } from 'ethers'

const require = createRequire(import.meta.url)
const contractsDirectory = fileURLToPath(new URL('../../../contracts/', import.meta.url))

export type CompiledContract = { abi: unknown[]; bytecode: string }

/** Compiles contracts/<name>.sol with solc (npm, offline). */
export function compileContract(name: string): CompiledContract {
  const solc = require('solc') as { compile(input: string): string }
  const input = {
    language: 'Solidity',
    sources: { [`${name}.sol`]: { content: readFileSync(`${contractsDirectory}${name}.sol`, 'utf8') } },
    settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>
  }
  const errors = (output.errors ?? []).filter((error) => error.severity === 'error')
  if (errors.length) throw new Error(errors.map((error) => error.formattedMessage).join('\n'))
  const contract = output.contracts[`${name}.sol`]?.[name]
  if (!contract) throw new Error(`solc produced no ${name}`)
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` }
}

export type TestChain = {
  rpcUrl: string
  chainId: number
  provider: JsonRpcProvider
  /** Funded hardhat accounts. */
  wallets: Wallet[]
  deploy(name: string, from?: Wallet): Promise<{ address: string; contract: import('ethers').Contract }>
  close(): Promise<void>
}

const MNEMONIC = 'test test test test test test test test test test test junk'

/** Hardhat 2's in-process EVM (EDR), exposed over JSON-RPC on 127.0.0.1 so node processes can reach it. */
export async function startTestChain(): Promise<TestChain> {
  const { resolveConfig } = require('hardhat/internal/core/config/config-resolution')
  const { createProvider } = require('hardhat/internal/core/providers/construction')
  const { JsonRpcServer } = require('hardhat/internal/hardhat-network/jsonrpc/server')
  const chainId = 31337
  const config = resolveConfig(fileURLToPath(import.meta.url), {
    networks: { hardhat: { chainId, accounts: { mnemonic: MNEMONIC, count: 6 }, loggingEnabled: false } },
  })
  const hardhatProvider = await createProvider(config, 'hardhat')
  const server = new JsonRpcServer({ hostname: '127.0.0.1', port: 0, provider: hardhatProvider })
  const { port } = (await server.listen()) as { port: number }
  const rpcUrl = `http://127.0.0.1:${port}`
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: Network.from(chainId), cacheTimeout: -1 })
  const wallets = Array.from(
    { length: 6 },
    (_, index) => new Wallet(HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).privateKey, provider),
  )
  return {
    rpcUrl,
    chainId,
    provider,
    wallets,
    async deploy(name, from = wallets[0] as Wallet) {
      const compiled = compileContract(name)
      const factory = new ContractFactory(compiled.abi as never, compiled.bytecode, from)
      const contract = await factory.deploy()
      await contract.waitForDeployment()
      return { address: await contract.getAddress(), contract: contract as unknown as import('ethers').Contract }
    },
    async close() {
      provider.destroy()
      await server.close()
    },
  }
}
