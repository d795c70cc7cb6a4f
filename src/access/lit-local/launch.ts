import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { NetworkError } from '../../errors.js'
import type { ChainEndpoints } from './evaluate-conditions.js'
import { readNetworkFile } from './share-file.js'

export type LaunchedNode = { index: number; url: string; process: ChildProcess; stop(): Promise<void> }

export type StartLitLocalNetworkParameters = {
  /** The directory `dealNetwork` wrote (network.json, node-<i>/share.json). */
  directory: string
  chains: ChainEndpoints
  domain?: string | undefined
  /** Which node indices to start (default all). */
  indices?: number[] | undefined
  /** First port; node i listens on basePort + i - 1 (default: any free port). */
  basePort?: number | undefined
  /** Forward node logs to this function (default: discarded). */
  log?: ((line: string) => void) | undefined
}
export type StartLitLocalNetworkReturnType = { nodes: LaunchedNode[]; urls: string[]; stop(): Promise<void> }

function nodeEntry(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.ts')) return { command: process.execPath, args: ['--import', 'tsx', join(here, '..', 'node-main.ts')] }
  return { command: process.execPath, args: [join(here, '..', 'node-main.js')] }
}

/**
 * Starts each node of a dealt local network as its own process on 127.0.0.1 (each reads
 * only its own share file) and waits until all listen.
 *
 * @example
 * ```ts
 * const network = await startLitLocalNetwork({ directory: './lit-local', chains: { ethereum: { rpcUrl } } })
 * // ... use network.urls ...
 * await network.stop()
 * ```
 */
export async function startLitLocalNetwork(parameters: StartLitLocalNetworkParameters): Promise<StartLitLocalNetworkReturnType> {
  const network = await readNetworkFile(join(parameters.directory, 'network.json'))
  const indices = parameters.indices ?? network.nodes.map((node) => node.index)
  const entry = nodeEntry()
  const launched = await Promise.allSettled(
    indices.map(
      (index) =>
        new Promise<LaunchedNode>((resolve, reject) => {
          const options = {
            shareFile: join(parameters.directory, `node-${index}`, 'share.json'),
            chains: parameters.chains,
            domain: parameters.domain,
            port: parameters.basePort ? parameters.basePort + index - 1 : 0,
            quiet: parameters.log === undefined,
          }
          const child = spawn(entry.command, [...entry.args, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] })
          let stderr = ''
          child.stderr?.on('data', (chunk: Buffer) => {
            const text = chunk.toString('utf8')
            stderr = (stderr + text).slice(-2000)
            if (parameters.log) for (const line of text.split('\n')) if (line) parameters.log(line)
          })
          const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> })
          const onExit = (code: number | null) =>
            reject(new NetworkError(`lit-local node ${index} exited (${code})`, { details: stderr.trim() }))
          child.once('exit', onExit)
          lines.once('line', (line) => {
            child.off('exit', onExit)
            const { url } = JSON.parse(line) as { url: string }
            resolve({
              index,
              url,
              process: child,
              stop: () =>
                new Promise<void>((done) => {
                  if (child.exitCode !== null || child.signalCode !== null) return done()
                  child.once('exit', () => done())
                  child.kill('SIGTERM')
                }),
            })
          })
        }),
    ),
  )
  const nodes = launched.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const failed = launched.find((result) => result.status === 'rejected')
  if (failed) {
    await Promise.all(nodes.map((node) => node.stop()))
    throw (failed as PromiseRejectedResult).reason
  }
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    stop: async () => void (await Promise.all(nodes.map((node) => node.stop()))),
  }
}
