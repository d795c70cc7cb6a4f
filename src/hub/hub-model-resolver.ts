import { z } from 'zod'
import { ModelNotInHubError, NotFoundError } from '../errors.js'
import type { ModelPackageResolver } from '../proofs/model-reference.js'
import { parseInput } from '../validation.js'
import type { Hub } from './open-hub.js'
import { pullPackage } from './pull-package.js'
import { resolveModel } from './resolve-model.js'

export type HubModelResolverParameters = {
  hub: Hub
  /** A Verity hub or IPFS gateway to pull a CID from when its blocks are not held (trustless: every block is checked). */
  from?: string | undefined
  /** Bearer token for `from`. */
  token?: string | undefined
}
export type HubModelResolverReturnType = ModelPackageResolver

const schema = z.object({ from: z.string().url().optional(), token: z.string().min(1).optional() })
const CID_PATTERN = /^(bafy|bafk)[a-z2-7]+$/

/**
 * The hub as a `ModelPackageResolver` (`specificationVersion: 'v1'`): what `createProvenTool`,
 * `loadModelReference` and `verity infer --hub` take to let a user name a model by hub name or CID.
 * A name that resolves to no release, or a CID whose blocks the hub does not hold (and no `from`),
 * throws `ModelNotInHubError` with the `verity hub pull` command that fixes it.
 *
 * @example
 * ```ts
 * const resolver = hubModelResolver({ hub: await openHub({ dir: '.verity/hub' }) })
 * const risk = await createProvenTool({ model: 'hub:transaction-risk@1.0.0', resolver, pool })
 * ```
 */
export function hubModelResolver(parameters: HubModelResolverParameters): HubModelResolverReturnType {
  const input = parseInput(
    schema,
    { from: parameters.from, token: parameters.token },
    {
      what: 'hubModelResolver parameters',
      docsPath: 'hub.md',
    },
  )
  const { hub } = parameters
  return {
    specificationVersion: 'v1',
    async resolve({ reference }) {
      const isCid = CID_PATTERN.test(reference)
      try {
        if (isCid && input.from) await pullPackage({ hub, cid: reference, from: input.from, token: input.token })
        const { dir, cid } = await resolveModel({ hub, reference })
        return { dir, cid }
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error
        throw new ModelNotInHubError(isCid ? 'The hub does not hold this package' : 'No release of this name in the hub', {
          details: `${reference} (hub ${hub.dir}): ${error.shortMessage}`,
          hint: isCid
            ? `Pull it first: verity hub pull ${reference} --from URL --to DIR (or pass --from URL).`
            : `Pull it first: verity hub pull ${reference} --from URL --to DIR, or list what the hub holds: verity hub list.`,
          docsPath: 'hub.md',
          cause: error,
        })
      }
    },
  }
}
