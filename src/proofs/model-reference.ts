import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'
import { InvalidInputError } from '../errors.js'
import { parseInput } from '../validation.js'
import { loadModelPackage, type ModelPackage } from './model-package.js'

/**
 * Resolves a model named by hub name or CID to a package folder. The proofs room defines the shape;
 * the hub implements it (`hubModelResolver({ hub })` in `verity/hub`), so rooms that may not import
 * the hub (tools, agent) take one injected.
 */
export type ModelPackageResolver = {
  specificationVersion: 'v1'
  /** `reference` is `NAME[@VERSION]`, `0xPUBLISHER/NAME[@VERSION]` or a package CID. */
  resolve(parameters: { reference: string }): Promise<{ dir: string; cid: string }>
}

/** How a user names a model: `hub:NAME[@VERSION]`, a package CID, a package folder, or a loaded package. */
export type ModelReference = string | ModelPackage

export type LoadModelReferenceParameters = {
  model: ModelReference
  /** Needed for `hub:` names and CIDs. */
  resolver?: ModelPackageResolver | undefined
  /** Passed to `loadModelPackage`. */
  cacheDir?: string | undefined
}
export type LoadModelReferenceReturnType = { package: ModelPackage; cid: string | undefined }

const CID_PATTERN = /^(bafy|bafk)[a-z2-7]+$/

const schema = z.object({
  model: z.union([
    z.string().min(1).max(4096),
    z.custom<ModelPackage>((value) => typeof value === 'object' && value !== null && 'manifest' in value, 'a loaded package'),
  ]),
  resolver: z
    .custom<ModelPackageResolver>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        (value as { specificationVersion?: unknown }).specificationVersion === 'v1' &&
        typeof (value as { resolve?: unknown }).resolve === 'function',
      'a ModelPackageResolver (specificationVersion v1)',
    )
    .optional(),
  cacheDir: z.string().min(1).optional(),
})

/**
 * Loads the model a user named: `hub:NAME[@VERSION]` or a CID through the resolver (a hub), a path
 * as a package folder, a loaded package as is.
 *
 * @example
 * ```ts
 * const { package: model } = await loadModelReference({ model: 'hub:transaction-risk@1.0.0', resolver: hubModelResolver({ hub }) })
 * ```
 */
export async function loadModelReference(parameters: LoadModelReferenceParameters): Promise<LoadModelReferenceReturnType> {
  const input = parseInput(schema, parameters, { what: 'model reference', docsPath: 'hub.md' })
  const { model, resolver, cacheDir } = input
  if (typeof model !== 'string') return { package: model, cid: undefined }
  const hubReference = model.startsWith('hub:') ? model.slice(4) : CID_PATTERN.test(model) ? model : undefined
  if (hubReference === undefined) {
    const dir = resolve(model)
    if (!existsSync(dir))
      throw new InvalidInputError('No model package folder at this path', {
        details: model,
        hint: 'Name a hub model as hub:NAME[@VERSION] or by its CID (with a hub), or pass a package folder.',
        docsPath: 'hub.md',
      })
    return { package: loadModelPackage({ dir, cacheDir }), cid: undefined }
  }
  if (!resolver)
    throw new InvalidInputError('A hub model needs a hub to resolve it', {
      details: model,
      hint: 'Pass resolver: hubModelResolver({ hub: await openHub({ dir }) }) (CLI: --hub DIR).',
      docsPath: 'hub.md',
    })
  const { dir, cid } = await resolver.resolve({ reference: hubReference })
  return { package: loadModelPackage({ dir, cacheDir }), cid }
}
