/**
 * Entry point of one lit-local node process: `node node-main.js '<json options>'`.
 * Options: `{ shareFile, chains, domain?, port?, quiet?, stateDirectory? }` (the state folder keeps
 * used request nonces across restarts; default: the share file's folder). Prints `{"url": ...}` as its first
 * stdout line once listening, logs one line per request on stderr (no key material), and
 * exits on SIGTERM / SIGINT.
 *
 * @example
 * ```sh
 * node --import tsx src/access/lit-local/node-main.ts '{"shareFile":"./lit-local/node-1/share.json","chains":{"ethereum":{"rpcUrl":"http://127.0.0.1:8545"}}}'
 * ```
 */
import { dirname } from 'node:path'
import { z } from 'zod'
import { litAuthHelpers, litWasm, siweSdk } from '../lit-sdk.js'
import { startLitLocalNode } from './node-server.js'
import { readShareFile } from './share-file.js'

const optionsSchema = z.object({
  shareFile: z.string(),
  chains: z.record(z.string(), z.object({ rpcUrl: z.string().url(), chainId: z.number().int().optional() })),
  domain: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  quiet: z.boolean().optional(),
  stateDirectory: z.string().optional(),
})

try {
  // A node serves Lit requests: load the SDK parts it uses before it says it is listening, not on the first request.
  litWasm()
  siweSdk()
  litAuthHelpers()
  const options = optionsSchema.parse(JSON.parse(process.argv[2] ?? '{}'))
  const share = await readShareFile(options.shareFile)
  const node = await startLitLocalNode({
    share,
    chains: options.chains,
    domain: options.domain,
    port: options.port,
    stateDirectory: options.stateDirectory ?? dirname(options.shareFile),
    log: options.quiet ? undefined : (line) => process.stderr.write(`[lit-local node ${share.index}] ${line}\n`),
  })
  process.stdout.write(`${JSON.stringify({ url: node.url, index: share.index })}\n`)
  const stop = () => {
    node.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} catch (error) {
  process.stderr.write(`lit-local node failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
