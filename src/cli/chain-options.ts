import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import type { ChainClient } from '../chain/chain-client.js'
import { ChainError } from '../errors.js'
import { resolvePassphrase } from './resolve-secrets.js'

/**
 * How a command reaches an EVM chain, in one place for `verity chain`, `verity proof verify --on-chain` and
 * `verity trace anchor|verify --anchored`: the `--rpc`/`--home`/`--json` options ({@link withChainOptions})
 * and the client they resolve to ({@link withChain}).
 */

/** The options {@link withChainOptions} adds. */
export type ChainOptions = { rpc?: string | undefined; home?: string | undefined; json?: boolean | undefined }

export type WithChainOptionsParameters = {
  /** Said before each option's description, for commands where the chain is optional (`with --on-chain: `). */
  when?: string | undefined
}

/**
 * Adds `--rpc URL`, `--home DIR` and `--json` to a command.
 *
 * @example
 * ```ts
 * withChainOptions(program.command('deploy').argument('<contract>')).action(deploy)
 * withChainOptions(proof.command('verify'), { when: 'with --on-chain' })
 * ```
 */
export function withChainOptions(command: Command, parameters: WithChainOptionsParameters = {}): Command {
  const when = parameters.when ? `${parameters.when}: ` : ''
  return command
    .option('--rpc <url>', `${when}JSON-RPC URL (default: an in-process Hardhat dev chain, gone when the command exits)`)
    .option('--home <dir>', `${when}agent home whose keystore signs transactions (default $VERITY_AGENT_HOME or ./.verity-agent)`)
    .option('--json', 'print JSON')
}

/**
 * The client a command's chain options name. With `--rpc`: signed by the agent keystore of `--home`
 * (`$VERITY_AGENT_HOME`, else ./.verity-agent) decrypted with the home's passphrase (see resolve-secrets.ts),
 * or by the node's unlocked account 0 when the home has no keystore (dev nodes only). Without `--rpc`:
 * Hardhat's in-process dev chain.
 *
 * @example
 * ```ts
 * const client = await connectForCommand({ rpc: 'http://127.0.0.1:8545', home: '.verity-agent' })
 * ```
 */
export async function connectForCommand(options: ChainOptions): Promise<ChainClient> {
  const { connectChain } = await import('../chain/chain-client.js')
  if (!options.rpc) return connectChain()
  const home = resolve(options.home ?? process.env.VERITY_AGENT_HOME ?? '.verity-agent')
  const { AGENT_KEYSTORE_FILE } = await import('../identity/agent-identity.js')
  const keystore = join(home, AGENT_KEYSTORE_FILE)
  if (!existsSync(keystore)) return connectChain({ rpc: options.rpc })
  const [{ Wallet }, { passphrase }] = await Promise.all([
    import('ethers'),
    resolvePassphrase({ fallback: { from: 'home', home } }),
  ])
  const wallet = await Wallet.fromEncryptedJson(readFileSync(keystore, 'utf8'), passphrase).catch((cause: Error) => {
    throw new ChainError('Could not open the agent keystore', { details: `${keystore}: ${cause.message}`, cause })
  })
  return connectChain({ rpc: options.rpc, privateKey: wallet.privateKey })
}

/**
 * Runs `run` with the client of {@link connectForCommand} and closes it afterwards.
 *
 * @example
 * ```ts
 * const chainId = await withChain(options, async (client) => client.chainId)
 * ```
 */
export async function withChain<T>(options: ChainOptions, run: (client: ChainClient) => Promise<T>): Promise<T> {
  const client = await connectForCommand(options)
  try {
    return await run(client)
  } finally {
    await client.close()
  }
}
