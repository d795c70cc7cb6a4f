import { join } from 'node:path'
import type { Command } from 'commander'
import type { ChainEndpoints } from '../../access/lit-local/evaluate-conditions.js'
import { InvalidInputError } from '../../errors.js'
import { writeFileAtomic } from '../../storage/atomic-file.js'
import { printResult } from '../output.js'

function parseChains(values: string[]): ChainEndpoints {
  const chains: ChainEndpoints = {}
  for (const value of values) {
    const match = /^([A-Za-z0-9_-]+)=(https?:\/\/[^@\s]+)(?:@(\d+))?$/.exec(value)
    if (!match)
      throw new InvalidInputError(`Invalid --chain ${value}`, {
        hint: 'Use NAME=RPC_URL[@CHAIN_ID], e.g. ethereum=http://127.0.0.1:8545@31337.',
      })
    chains[match[1] as string] = { rpcUrl: match[2] as string, ...(match[3] ? { chainId: Number(match[3]) } : {}) }
  }
  return chains
}

/**
 * `verity lit-local deal|start`: the local Lit-compatible network.
 *
 * @example
 * ```sh
 * verity lit-local deal --dir ./lit-local --nodes 3 --threshold 2
 * verity lit-local start --dir ./lit-local --chain ethereum=http://127.0.0.1:8545@31337
 * ```
 */
export function registerLitLocalCommands(program: Command): void {
  const litLocal = program
    .command('lit-local')
    .description('A local Lit-compatible threshold network (offline development and tests).')
  litLocal
    .command('deal')
    .description('Deal a BLS12-381 master key as threshold shares, one share file per node.')
    .requiredOption('--dir <dir>', 'network directory')
    .option('--nodes <n>', 'number of nodes', '3')
    .option('--threshold <t>', 'shares needed to decrypt', '2')
    .option('--force', 'deal again over an existing network (old ciphertexts become unreadable)')
    .option('--json', 'JSON output')
    .action(async (options: { dir: string; nodes: string; threshold: string; force?: boolean; json?: boolean }) => {
      const { dealNetwork } = await import('../../access/lit-local/deal.js')
      const result = await dealNetwork({
        directory: options.dir,
        nodes: Number(options.nodes),
        threshold: Number(options.threshold),
        force: options.force,
      })
      printResult(
        options,
        result,
        () =>
          `dealt ${options.threshold}-of-${options.nodes} network ${result.networkPublicKey}\npublic description: ${result.networkFile}`,
      )
    })
  litLocal
    .command('start')
    .description('Start every node of a dealt network as its own process; runs until interrupted.')
    .requiredOption('--dir <dir>', 'network directory')
    .option(
      '--chain <name=url[@id]...>',
      'EVM JSON-RPC endpoint per Lit chain name',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--domain <domain>', 'SIWE domain requests must name', 'localhost')
    .option('--base-port <port>', 'node i listens on base-port + i - 1 (default: free ports)')
    .option('--json', 'JSON output')
    .action(async (options: { dir: string; chain: string[]; domain: string; basePort?: string; json?: boolean }) => {
      const chains = parseChains(options.chain)
      const { startLitLocalNetwork } = await import('../../access/lit-local/launch.js')
      const network = await startLitLocalNetwork({
        directory: options.dir,
        chains,
        domain: options.domain,
        basePort: options.basePort ? Number(options.basePort) : undefined,
        log: (line) => process.stderr.write(`${line}\n`),
      })
      writeFileAtomic({
        path: join(options.dir, 'nodes.json'),
        data: `${JSON.stringify({ urls: network.urls }, null, 2)}\n`,
        mode: 0o644,
      })
      printResult(
        options,
        { urls: network.urls },
        () => `lit-local nodes:\n${network.urls.join('\n')}\n(urls also in ${join(options.dir, 'nodes.json')}; Ctrl-C stops)`,
      )
      await new Promise<void>((resolve) => {
        const stop = () => {
          network.stop().then(resolve)
        }
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
    })
}
