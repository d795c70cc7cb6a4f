import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { InvalidInputError } from '../../errors.js'
import { writeFileAtomic } from '../../storage/atomic-file.js'
import { parseInput } from '../../validation.js'
import type { NetworkFile, ShareFile } from './share-file.js'
import { dealShares } from './threshold-bls.js'

const parametersSchema = z.object({
  directory: z.string().min(1),
  nodes: z.number().int().min(1).max(64),
  threshold: z.number().int().min(1),
  force: z.boolean().optional(),
})

export type DealNetworkParameters = { directory: string; nodes: number; threshold: number; force?: boolean | undefined }
export type DealNetworkReturnType = { networkPublicKey: string; networkFile: string; shareFiles: string[] }

/**
 * The dealer: creates a BLS12-381 master key, splits it into `threshold`-of-`nodes` shares,
 * writes each share to `<directory>/node-<i>/share.json` (mode 0600) and the public
 * description to `<directory>/network.json`, then forgets the master key. Each node process
 * afterwards reads only its own share file.
 *
 * @example
 * ```ts
 * const { networkPublicKey } = await dealNetwork({ directory: './lit-local', nodes: 3, threshold: 2 })
 * ```
 */
export async function dealNetwork(parameters: DealNetworkParameters): Promise<DealNetworkReturnType> {
  const { directory, nodes, threshold, force } = parseInput(parametersSchema, parameters, {
    what: 'lit-local deal parameters',
    hint: 'Choose 1 <= threshold <= nodes <= 64.',
    docsPath: 'access.md',
  })
  if (threshold > nodes)
    throw new InvalidInputError('Threshold exceeds the number of nodes', {
      details: `${threshold} of ${nodes}`,
      docsPath: 'access.md',
    })
  const networkFile = join(directory, 'network.json')
  if (existsSync(networkFile) && !force)
    throw new InvalidInputError('A network is already dealt here', {
      details: networkFile,
      hint: 'Dealing again makes every existing ciphertext unreadable; pass --force if you mean it, or pick another directory.',
    })
  const dealt = dealShares({ nodes, threshold })
  const shareFiles: string[] = []
  for (const share of dealt.shares) {
    const nodeDirectory = join(directory, `node-${share.index}`)
    await mkdir(nodeDirectory, { recursive: true, mode: 0o700 })
    const file: ShareFile = {
      format: 'verity-lit-local-share/1',
      index: share.index,
      secret: share.secret,
      publicKey: share.publicKey,
      networkPublicKey: dealt.publicKey,
      threshold,
      nodes,
    }
    const path = join(nodeDirectory, 'share.json')
    writeFileAtomic({ path, data: `${JSON.stringify(file, null, 2)}\n`, mode: 0o600 })
    shareFiles.push(path)
    share.secret = ''
  }
  const network: NetworkFile = {
    format: 'verity-lit-local-network/1',
    networkPublicKey: dealt.publicKey,
    threshold,
    nodes: dealt.shares.map((share) => ({ index: share.index, publicKey: share.publicKey })),
  }
  writeFileAtomic({ path: networkFile, data: `${JSON.stringify(network, null, 2)}\n`, mode: 0o644 })
  return { networkPublicKey: dealt.publicKey, networkFile, shareFiles }
}
