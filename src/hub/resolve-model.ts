import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { parseInput } from '../validation.js'
import { parseCid } from './block-check.js'
import { exportFolder } from './export-folder.js'
import type { Hub } from './open-hub.js'
import type { Release } from './release.js'
import { parseReleaseReference } from './release-store.js'

export type ResolveModelParameters = {
  hub: Hub
  /** A package CID, or a release name: `NAME[@VERSION]`, `0xPUBLISHER/NAME[@VERSION]`. */
  reference: string
}
export type ResolveModelReturnType = {
  /** A folder holding the package, ready for `loadModelPackage({ dir })`. */
  dir: string
  cid: string
  /** The release the name resolved to (signature checked), when a name was given. */
  release: Release | undefined
}

/**
 * Lets an agent name a model by hub name or CID: resolves the reference in the hub and returns a
 * folder with the package, written out once (all or nothing) to `<hub>/packages/<cid>/` from blocks
 * that are checked as they are read.
 *
 * @example
 * ```ts
 * const { dir } = await resolveModel({ hub, reference: 'transaction-risk@1.0.0' })
 * const model = loadModelPackage({ dir })
 * ```
 */
export async function resolveModel(parameters: ResolveModelParameters): Promise<ResolveModelReturnType> {
  const input = parseInput(z.object({ reference: z.string().min(1) }), parameters, {
    what: 'resolveModel parameters',
    docsPath: 'hub.md',
  })
  const { hub } = parameters
  const isCid = /^(bafy|bafk)[a-z2-7]+$/.test(input.reference)
  const release = isCid ? undefined : hub.releases.resolve(parseReleaseReference(input.reference))
  const cid = parseCid(release?.packageCid ?? input.reference)
  const dir = join(hub.dir, 'packages', cid.toString())
  if (!existsSync(dir)) await exportFolder({ cid, blockstore: hub.blocks, to: dir })
  return { dir, cid: cid.toString(), release }
}
