import { z } from 'zod'
import { loadModelReference, type ModelPackageResolver, type ModelReference } from '../proofs/model-reference.js'
import { parseInput } from '../validation.js'
import { type ProvenToolParameters, type ProvenToolReturnType, provenTool } from './proven-tool.js'
import { type VerifiableInferenceToolParameters, verifiableInferenceTool } from './verifiable-inference.js'

export type { ModelPackageResolver } from '../proofs/model-reference.js'

export type CreateProvenToolParameters = Omit<VerifiableInferenceToolParameters, 'package'> &
  Omit<ProvenToolParameters, 'tool'> & {
    /** `hub:NAME[@VERSION]`, a package CID, a package folder, or a loaded package. */
    model: ModelReference
    /** Resolves hub names and CIDs: `hubModelResolver({ hub })` from `verity/hub`, given once. */
    resolver?: ModelPackageResolver | undefined
    /** Where regenerated proving keys are cached (`loadModelPackage`). */
    cacheDir?: string | undefined
  }
export type CreateProvenToolReturnType = ProvenToolReturnType & {
  /** The loaded package's digest: what every receipt of this tool names. */
  modelDigest: string
  /** The package CID when the model was named through the hub. */
  modelCid: string | undefined
}

const schema = z.object({ model: z.unknown() }).passthrough()

/**
 * One call from a model name to a proven tool: resolves `model` (hub name or CID through the
 * resolver, a folder, or a package), builds the `verifiableInferenceTool` and adapts it with `provenTool`.
 *
 * @example
 * ```ts
 * const resolver = hubModelResolver({ hub: await openHub({ dir: '.verity/hub' }) })
 * const risk = await createProvenTool({ model: 'hub:transaction-risk@1.0.0', resolver, pool, receipts })
 * const agent = createVerityAgent({ tools: [risk], recorder, policy })
 * ```
 */
export async function createProvenTool(parameters: CreateProvenToolParameters): Promise<CreateProvenToolReturnType> {
  parseInput(schema, parameters, { what: 'createProvenTool parameters', docsPath: 'agent.md' })
  const { model, resolver, cacheDir, receipts, onSettled, ...inference } = parameters
  const loaded = await loadModelReference({ model, resolver, cacheDir })
  const inner = verifiableInferenceTool({ ...inference, package: loaded.package })
  return Object.assign(provenTool({ tool: inner, receipts, onSettled }), {
    modelDigest: loaded.package.digest,
    modelCid: loaded.cid,
  })
}
