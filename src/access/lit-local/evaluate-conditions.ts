import { Contract, FetchRequest, getAddress, isAddress, JsonRpcProvider, Network } from 'ethers'
import type { LitConditions } from '../lit-conditions.js'

/**
 * Node side: evaluates Lit access-control conditions for a requester against EVM chains
 * through ethers. Supports `:userAddress` equality, native balance (`eth_getBalance`),
 * ERC-20 / ERC-721 / ERC-1155 `balanceOf`, ERC-721 `ownerOf`, any view call
 * (`evmContractConditions`, or `conditionType: 'evmContract'`) with a comparator, and
 * `and` / `or` operators with nested groups.
 */

/** Why evaluation could not decide (as opposed to deciding "no"). */
export class ConditionEvaluationError extends Error {
  constructor(
    readonly reason: 'unsupported-chain' | 'unsupported-condition' | 'chain-unreachable',
    message: string,
  ) {
    super(message)
  }
}

export type ChainEndpoints = Record<string, { rpcUrl: string; chainId?: number | undefined }>

export type ConditionEvaluator = {
  evaluate(conditions: LitConditions, userAddress: string): Promise<boolean>
}

/**
 * Creates an evaluator over configured chains (`{ ethereum: { rpcUrl } }`).
 *
 * @example
 * ```ts
 * const evaluator = createConditionEvaluator({ chains: { ethereum: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337 } } })
 * await evaluator.evaluate({ accessControlConditions }, requester)
 * ```
 */
export function createConditionEvaluator(parameters: {
  chains: ChainEndpoints
  timeoutMs?: number | undefined
}): ConditionEvaluator {
  const providers = new Map<string, JsonRpcProvider>()
  const provider = (chain: unknown): JsonRpcProvider => {
    if (typeof chain !== 'string' || !Object.hasOwn(parameters.chains, chain))
      throw new ConditionEvaluationError('unsupported-chain', `this node serves no chain named ${JSON.stringify(chain)}`)
    let existing = providers.get(chain)
    if (!existing) {
      const endpoint = parameters.chains[chain] as { rpcUrl: string; chainId?: number | undefined }
      const request = new FetchRequest(endpoint.rpcUrl)
      request.timeout = parameters.timeoutMs ?? 5000
      existing = new JsonRpcProvider(request, undefined, {
        staticNetwork: Network.from(endpoint.chainId ?? 31337),
        batchMaxCount: 1,
      })
      providers.set(chain, existing)
    }
    return existing
  }

  const call = async <T>(run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run()
    } catch (error) {
      const code = (error as { code?: string }).code
      // A revert (e.g. ownerOf a burnt token) means "condition not met", not a failure.
      if (code === 'CALL_EXCEPTION' || code === 'BAD_DATA') return undefined
      throw new ConditionEvaluationError('chain-unreachable', `EVM call failed: ${code ?? (error as Error).message}`)
    }
  }

  const evaluateOne = async (condition: Record<string, unknown>, user: string): Promise<boolean> => {
    const test = condition.returnValueTest as { comparator: string; value: string; key?: string }
    const isContract = condition.conditionType === 'evmContract' || 'functionAbi' in condition
    if (condition.conditionType !== undefined && condition.conditionType !== 'evmBasic' && !isContract)
      throw new ConditionEvaluationError(
        'unsupported-condition',
        `conditionType ${String(condition.conditionType)} is not supported`,
      )
    const substitute = (value: unknown) => (value === ':userAddress' ? user : value)
    if (isContract) {
      const abi = condition.functionAbi as { name: string; outputs?: { name?: string }[] }
      const contract = new Contract(String(condition.contractAddress), [{ ...abi, type: 'function' }], provider(condition.chain))
      const params = ((condition.functionParams as unknown[]) ?? []).map(substitute)
      const result = await call(() => contract.getFunction(String(condition.functionName)).staticCallResult(...params))
      if (result === undefined) return false
      const value = test.key ? (result as unknown as Record<string, unknown>)[test.key] : result[0]
      return compare(value, test.comparator, substitute(test.value))
    }
    const method = String(condition.method ?? '')
    const parameters = ((condition.parameters as unknown[]) ?? []).map(substitute)
    const type = String(condition.standardContractType ?? '')
    let value: unknown
    if (type === '' && method === '') value = parameters[0]
    else if (type === '' && method === 'eth_getBalance') {
      const target = String(parameters[0])
      if (!isAddress(target)) return false
      value = await call(() => provider(condition.chain).getBalance(target, (parameters[1] as string | undefined) ?? 'latest'))
    } else if ((type === 'ERC20' || type === 'ERC721') && method === 'balanceOf') {
      const contract = new Contract(
        String(condition.contractAddress),
        ['function balanceOf(address) view returns (uint256)'],
        provider(condition.chain),
      )
      value = await call(() => contract.getFunction('balanceOf').staticCall(parameters[0]))
    } else if (type === 'ERC1155' && method === 'balanceOf') {
      const contract = new Contract(
        String(condition.contractAddress),
        ['function balanceOf(address,uint256) view returns (uint256)'],
        provider(condition.chain),
      )
      value = await call(() => contract.getFunction('balanceOf').staticCall(parameters[0], parameters[1]))
    } else if (type === 'ERC721' && method === 'ownerOf') {
      const contract = new Contract(
        String(condition.contractAddress),
        ['function ownerOf(uint256) view returns (address)'],
        provider(condition.chain),
      )
      value = await call(() => contract.getFunction('ownerOf').staticCall(parameters[0]))
    } else
      throw new ConditionEvaluationError(
        'unsupported-condition',
        `condition ${type || 'basic'}.${method} is not supported by lit-local`,
      )
    if (value === undefined) return false
    return compare(value, test.comparator, substitute(test.value))
  }

  const evaluateList = async (list: unknown[], user: string): Promise<boolean> => {
    let result: boolean | undefined
    let pending: 'and' | 'or' | undefined
    for (const item of list) {
      if (item && typeof item === 'object' && !Array.isArray(item) && 'operator' in item) {
        const operator = String((item as { operator: unknown }).operator).toLowerCase()
        if (operator !== 'and' && operator !== 'or')
          throw new ConditionEvaluationError('unsupported-condition', `unknown operator ${operator}`)
        pending = operator
        continue
      }
      const skip = (pending === 'and' && result === false) || (pending === 'or' && result === true)
      if (skip) {
        pending = undefined
        continue
      }
      const value = Array.isArray(item)
        ? await evaluateList(item, user)
        : await evaluateOne(item as Record<string, unknown>, user)
      result = result === undefined ? value : pending === 'or' ? result || value : result && value
      pending = undefined
    }
    return result ?? false
  }

  return {
    async evaluate(conditions, userAddress) {
      const user = getAddress(userAddress)
      const list =
        conditions.accessControlConditions ?? conditions.evmContractConditions ?? conditions.unifiedAccessControlConditions ?? []
      return evaluateList(list, user)
    },
  }
}

function compare(actual: unknown, comparator: string, expected: unknown): boolean {
  if (comparator === 'contains')
    return Array.isArray(actual) && actual.some((item) => String(item).toLowerCase() === String(expected).toLowerCase())
  if (comparator === '!contains')
    return Array.isArray(actual) && !actual.some((item) => String(item).toLowerCase() === String(expected).toLowerCase())
  const a = toBigInt(actual)
  const b = toBigInt(expected)
  if (a !== undefined && b !== undefined && !isAddress(String(actual))) {
    switch (comparator) {
      case '=':
        return a === b
      case '!=':
        return a !== b
      case '>':
        return a > b
      case '>=':
        return a >= b
      case '<':
        return a < b
      case '<=':
        return a <= b
    }
  }
  const left = String(actual).toLowerCase()
  const right = String(expected).toLowerCase()
  if (comparator === '=') return left === right
  if (comparator === '!=') return left !== right
  throw new ConditionEvaluationError('unsupported-condition', `comparator ${comparator} does not apply to ${typeof actual}`)
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  if (typeof value === 'boolean') return value ? 1n : 0n
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value)
  return undefined
}
