import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Contract, ContractFactory } from 'ethers'
import { ChainError } from '../errors.js'
import type { ChainClient, TransactionResult } from './chain-client.js'
import { chainErrorFrom } from './chain-client.js'
import { type CompiledContract, compileSolidity } from './solidity-compiler.js'

/** The contracts Verity ships in `contracts/` (plus the test doubles in `contracts/testing/`). */
export type VerityContractName = 'RiskGate' | 'TraceAnchor' | 'ModelRegistry' | 'ProverMarket' | 'BountyToken' | 'ReentrantProver'

const FILES: Record<VerityContractName, string> = {
  RiskGate: 'RiskGate.sol',
  TraceAnchor: 'TraceAnchor.sol',
  ModelRegistry: 'ModelRegistry.sol',
  ProverMarket: 'ProverMarket.sol',
  BountyToken: 'testing/BountyToken.sol',
  ReentrantProver: 'testing/ReentrantProver.sol',
}

const here = dirname(fileURLToPath(import.meta.url))

/**
 * The folder of Verity's Solidity sources (`contracts/` at the package root, from `src/chain` or `dist/chain`).
 *
 * @example
 * ```ts
 * readFileSync(join(contractsDirectory(), 'RiskGate.sol'), 'utf8')
 * ```
 */
export function contractsDirectory(): string {
  const directory = resolve(here, '..', '..', 'contracts')
  if (!existsSync(join(directory, 'TraceAnchor.sol')))
    throw new ChainError('Verity contracts are missing', {
      details: `looked in ${directory}`,
      hint: 'Reinstall Verity: the package ships contracts/.',
      docsPath: 'chain.md',
    })
  return directory
}

/**
 * Compiles one of Verity's contracts with solc-js (cached after the first compile).
 *
 * @example
 * ```ts
 * const { abi, bytecode } = verityContract('TraceAnchor')
 * ```
 */
export function verityContract(name: VerityContractName): CompiledContract {
  const file = FILES[name]
  const source = readFileSync(join(contractsDirectory(), file), 'utf8')
  const compiled = compileSolidity({ sources: { [file]: source } })[name]
  if (!compiled) throw new ChainError(`solc produced no ${name}`, { docsPath: 'chain.md' })
  return compiled
}

/** A deployed contract, its address and what deploying it cost. */
export type DeployedContract = { contract: Contract; address: string; deployment: TransactionResult }

/**
 * Deploys compiled bytecode with the client's signer and waits for it to be mined.
 *
 * @example
 * ```ts
 * const { address } = await deployCompiled({ client, compiled: verityContract('TraceAnchor'), args: [] })
 * ```
 */
export async function deployCompiled(parameters: {
  client: ChainClient
  compiled: CompiledContract
  args?: unknown[] | undefined
  what?: string | undefined
}): Promise<DeployedContract> {
  const { client, compiled } = parameters
  const factory = new ContractFactory(compiled.abi as never, compiled.bytecode, client.signer)
  const what = parameters.what ?? 'Deploying a contract'
  try {
    const contract = await factory.deploy(...(parameters.args ?? []))
    const response = contract.deploymentTransaction()
    const receipt = await response?.wait()
    if (receipt?.status !== 1 || !receipt.contractAddress)
      throw new ChainError(`${what}: the deployment failed`, { docsPath: 'chain.md' })
    return {
      contract: new Contract(receipt.contractAddress, compiled.abi as never, client.signer),
      address: receipt.contractAddress,
      deployment: { hash: receipt.hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber },
    }
  } catch (error) {
    throw chainErrorFrom(error, factory.interface, what)
  }
}

/**
 * Deploys one of Verity's contracts (see {@link verityContract}).
 *
 * @example
 * ```ts
 * const { contract: anchor } = await deployVerityContract({ client, name: 'TraceAnchor' })
 * ```
 */
export async function deployVerityContract(parameters: {
  client: ChainClient
  name: VerityContractName
  args?: unknown[] | undefined
}): Promise<DeployedContract> {
  return deployCompiled({
    client: parameters.client,
    compiled: verityContract(parameters.name),
    args: parameters.args,
    what: `Deploying ${parameters.name}`,
  })
}

/**
 * An ethers handle on a deployed Verity contract, after checking that code exists at the address.
 *
 * @example
 * ```ts
 * const anchor = await attachVerityContract({ client, name: 'TraceAnchor', address })
 * ```
 */
export async function attachVerityContract(parameters: {
  client: ChainClient
  name: VerityContractName
  address: string
}): Promise<Contract> {
  const code = await parameters.client.provider.getCode(parameters.address)
  if (code === '0x')
    throw new ChainError(`No contract at ${parameters.address}`, {
      details: `chain ${parameters.client.chainId} (${parameters.client.rpc})`,
      hint: `Check the address and --rpc: deploy a ${parameters.name} first.`,
      docsPath: 'chain.md',
    })
  return new Contract(parameters.address, verityContract(parameters.name).abi as never, parameters.client.signer)
}
