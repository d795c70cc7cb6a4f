import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dealNetwork } from '../../../src/access/lit-local/deal.js'
import type { ChainEndpoints } from '../../../src/access/lit-local/evaluate-conditions.js'
import { type StartLitLocalNetworkReturnType, startLitLocalNetwork } from '../../../src/access/lit-local/launch.js'
import { type NetworkFile, readNetworkFile } from '../../../src/access/lit-local/share-file.js'

export type TestLitNetwork = StartLitLocalNetworkReturnType & {
  directory: string
  network: NetworkFile
  cleanup(): Promise<void>
}

/** Deals a 3-node, threshold-2 network in a temp dir and starts each node as its own process. */
export async function startTestLitNetwork(parameters: {
  chains: ChainEndpoints
  nodes?: number
  threshold?: number
  prepare?: (directory: string) => Promise<void>
}): Promise<TestLitNetwork> {
  const directory = await mkdtemp(join(tmpdir(), 'verity-lit-local-'))
  await dealNetwork({ directory, nodes: parameters.nodes ?? 3, threshold: parameters.threshold ?? 2 })
  await parameters.prepare?.(directory)
  const network = await readNetworkFile(join(directory, 'network.json'))
  const started = await startLitLocalNetwork({ directory, chains: parameters.chains })
  return {
    ...started,
    directory,
    network,
    async cleanup() {
      await started.stop()
      await rm(directory, { recursive: true, force: true })
    },
  }
}
