import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  BrowserProvider,
  type ContractTransactionResponse,
  type Eip1193Provider,
  type Interface,
  JsonRpcProvider,
  type Provider,
  type Signer,
  Wallet,
} from 'ethers'
import { z } from 'zod'
import { ChainError } from '../errors.js'
import { parseInput } from '../validation.js'

/** A connection to an EVM chain: a provider, the signer that sends transactions, and how to close it. */
export type ChainClient = {
  provider: Provider
  signer: Signer
  /** The signer's address. */
  address: string
  chainId: bigint
  /** The JSON-RPC URL, or `in-process` for the dev chain. */
  rpc: string
  close(): Promise<void>
}

export type ConnectChainParameters = {
  /** A JSON-RPC URL (`http://…`, `https://…`). Without it: Hardhat's in-process dev chain (gone when the process exits). */
  rpc?: string | undefined
  /** `0x` + 64 hex private key of the sender. Without it: the node's unlocked account `accountIndex` (dev nodes only). */
  privateKey?: string | undefined
  /** Unlocked account to use when no key is given (default 0). */
  accountIndex?: number | undefined
}
export type ConnectChainReturnType = ChainClient

const schema = z.object({
  rpc: z
    .string()
    .regex(/^(https?|wss?):\/\//, 'an http(s) or ws(s) JSON-RPC URL')
    .optional(),
  privateKey: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, '0x + 64 hex digits')
    .optional(),
  accountIndex: z.number().int().min(0).max(1000).optional(),
})

const here = dirname(fileURLToPath(import.meta.url))

/** Hardhat 2's in-process network as an EIP-1193 provider (chain id 31337, funded dev accounts). */
async function inProcessHardhat(): Promise<Eip1193Provider> {
  const require = createRequire(import.meta.url)
  let resolveConfig: (path: string, config: unknown) => unknown
  let createProvider: (config: unknown, network: string) => Promise<Eip1193Provider>
  try {
    resolveConfig = require('hardhat/internal/core/config/config-resolution').resolveConfig
    createProvider = require('hardhat/internal/core/providers/construction').createProvider
  } catch (cause) {
    throw new ChainError('The in-process dev chain needs Hardhat 2', {
      details: (cause as Error).message,
      hint: 'Install hardhat@2 (`npm install hardhat@2`) or pass --rpc URL of a running node.',
      docsPath: 'chain.md',
      cause,
    })
  }
  const config = resolveConfig(join(resolve(here, '..', '..'), 'package.json'), {
    networks: { hardhat: { chainId: 31337, loggingEnabled: false, allowUnlimitedContractSize: false } },
  })
  return createProvider(config, 'hardhat')
}

/**
 * Connects to an EVM chain through ethers: any JSON-RPC URL, or (without `rpc`) Hardhat's in-process dev chain.
 * Transactions are signed by `privateKey` when given, else by the node's unlocked account.
 *
 * @example
 * ```ts
 * const chain = await connectChain({ rpc: 'http://127.0.0.1:8545', privateKey })
 * console.log(chain.address, chain.chainId)
 * await chain.close()
 * ```
 */
export async function connectChain(parameters: ConnectChainParameters = {}): Promise<ConnectChainReturnType> {
  const options = parseInput(schema, parameters, { what: 'connectChain parameters' })
  let provider: JsonRpcProvider | BrowserProvider
  if (options.rpc) provider = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: false, cacheTimeout: -1 })
  else provider = new BrowserProvider(await inProcessHardhat(), undefined, { cacheTimeout: -1 })
  let chainId: bigint
  try {
    chainId = (await provider.getNetwork()).chainId
  } catch (cause) {
    provider.destroy()
    throw new ChainError('Could not reach the chain', {
      details: `${options.rpc ?? 'in-process'}: ${(cause as Error).message}`,
      hint: 'Check the --rpc URL and that the node is running.',
      docsPath: 'chain.md',
      cause,
    })
  }
  const signer: Signer = options.privateKey
    ? new Wallet(options.privateKey, provider)
    : await provider.getSigner(options.accountIndex ?? 0)
  const address = await signer.getAddress()
  return {
    provider,
    signer,
    address,
    chainId,
    rpc: options.rpc ?? 'in-process',
    close: async () => {
      provider.destroy()
    },
  }
}

/** What a mined transaction cost and where it is. */
export type TransactionResult = { hash: string; gasUsed: bigint; blockNumber: number }

function revertData(error: unknown): string | undefined {
  let current = error as { data?: unknown; error?: unknown; info?: { error?: { data?: unknown } } } | undefined
  for (let depth = 0; current && depth < 6; depth++) {
    if (typeof current.data === 'string' && current.data.startsWith('0x')) return current.data
    const nested = current.info?.error?.data
    if (typeof nested === 'string' && nested.startsWith('0x')) return nested
    if (typeof nested === 'object' && nested && typeof (nested as { data?: unknown }).data === 'string')
      return (nested as { data: string }).data
    current = (current.error ?? (current as { cause?: unknown }).cause) as typeof current
  }
  return undefined
}

/**
 * Turns an ethers error into a {@link ChainError} whose `meta.reason` is the decoded revert: a custom error
 * (`SizeMustGrow(4, 2)`), a `require` string, or `reverted without a reason`.
 *
 * @example
 * ```ts
 * try { await anchor.anchor(checkpoint) } catch (error) { throw chainErrorFrom(error, anchor.interface, 'Anchoring failed') }
 * ```
 */
export function chainErrorFrom(error: unknown, contractInterface: Interface | undefined, what: string): ChainError {
  if (error instanceof ChainError) return error
  const data = revertData(error)
  let reason: string | undefined
  let errorName: string | undefined
  if (data && data !== '0x' && contractInterface) {
    try {
      const parsed = contractInterface.parseError(data)
      if (parsed) {
        errorName = parsed.name
        reason =
          parsed.name === 'Error'
            ? String(parsed.args[0])
            : `${parsed.name}(${parsed.args.map((value) => String(value)).join(', ')})`
      }
    } catch {
      reason = undefined
    }
  }
  const ethersReason = (error as { reason?: unknown }).reason
  if (!reason && typeof ethersReason === 'string') reason = ethersReason
  const code = (error as { code?: unknown }).code
  const reverted = code === 'CALL_EXCEPTION' || data !== undefined || reason !== undefined
  if (!reason && reverted) reason = 'reverted without a reason'
  return new ChainError(reverted ? `${what}: the contract reverted (${reason})` : `${what}: the chain call failed`, {
    details: ((error as Error).message ?? String(error)).split('\n')[0]?.slice(0, 600),
    hint: reverted
      ? 'The revert reason names the check the contract refused; see docs/chain.md for each contract.'
      : 'Check the RPC URL, the account balance and the gas limit.',
    docsPath: 'chain.md',
    cause: error,
    meta: { reason, errorName, reverted },
  })
}

/**
 * Sends a prepared contract call, waits for it to be mined, and returns its hash and gas used; reverts become
 * {@link ChainError}s with the decoded reason.
 *
 * @example
 * ```ts
 * const { gasUsed } = await sendTransaction(() => registry.register(release), registry.interface, 'Registering')
 * ```
 */
export async function sendTransaction(
  send: () => Promise<ContractTransactionResponse>,
  contractInterface: Interface | undefined,
  what: string,
): Promise<TransactionResult> {
  try {
    const response = await send()
    const receipt = await response.wait()
    if (receipt?.status !== 1)
      throw new ChainError(`${what}: the transaction failed`, { details: response.hash, docsPath: 'chain.md' })
    return { hash: receipt.hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber }
  } catch (error) {
    throw chainErrorFrom(error, contractInterface, what)
  }
}
