import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getBytes } from 'ethers'
import { digest } from '../crypto/digest.js'
import { ChainError } from '../errors.js'
import type { ModelPackage } from '../proofs/model-package.js'
import { findToolchain, runToolchain } from '../proofs/toolchain.js'
import type { ChainClient, TransactionResult } from './chain-client.js'
import { type CompiledContract, compileSolidity } from './solidity-compiler.js'
import { deployCompiled } from './verity-contracts.js'

/** The Solidity EZKL rendered for a package: a per-model verifier, or a reusable verifier plus the model's VK artifact. */
export type RenderedEvmVerifier = {
  reusable: boolean
  /** `Halo2Verifier` (per model) or `Halo2VerifierReusable` (any model with the same circuit shape family). */
  verifier: { name: string; source: string }
  /** `Halo2VerifyingArtifact`: the model's verifying key as contract code, for the reusable verifier. */
  artifact?: { name: string; source: string } | undefined
}

export type RenderEvmVerifierParameters = {
  package: ModelPackage
  /** Render the reusable verifier plus a per-model VK artifact (ezkl `create_evm_vka`). Default false. */
  reusable?: boolean | undefined
  /** A Python with ezkl 21.0.0 (default: the project's `.venv`, or `$VERITY_EZKL_PYTHON`). */
  python?: string | undefined
}

/**
 * Renders the package's Halo2 verifier in Solidity with the pinned EZKL toolchain (`create_evm_verifier`,
 * and `create_evm_vka` for the reusable form).
 *
 * @example
 * ```ts
 * const rendered = await renderEvmVerifier({ package: model, reusable: true })
 * rendered.verifier.name // 'Halo2VerifierReusable'
 * ```
 */
export async function renderEvmVerifier(parameters: RenderEvmVerifierParameters): Promise<RenderedEvmVerifier> {
  const model = parameters.package
  const reusable = parameters.reusable === true
  const toolchain = await findToolchain({ python: parameters.python })
  const out = mkdtempSync(join(tmpdir(), 'verity-evm-'))
  try {
    const answer = await runToolchain(toolchain, {
      command: 'evm-verifier',
      vk: join(model.dir, 'vk.key'),
      settings: join(model.dir, 'settings.json'),
      srs: join(model.dir, model.manifest.srs.file),
      out,
      reusable,
    })
    const files = answer.files as { verifier: string; vka?: string }
    const verifier = {
      name: reusable ? 'Halo2VerifierReusable' : 'Halo2Verifier',
      source: readFileSync(files.verifier, 'utf8'),
    }
    const artifact = files.vka ? { name: 'Halo2VerifyingArtifact', source: readFileSync(files.vka, 'utf8') } : undefined
    return { reusable, verifier, artifact }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

/**
 * Compiles rendered verifier Solidity with solc-js (optimizer at 1 run: these contracts are large and called rarely
 * per deployment; the cache makes the second compile instant).
 *
 * @example
 * ```ts
 * const { verifier, artifact } = compileEvmVerifier(await renderEvmVerifier({ package: model }))
 * ```
 */
export function compileEvmVerifier(rendered: RenderedEvmVerifier): {
  verifier: CompiledContract
  artifact?: CompiledContract | undefined
} {
  const pick = (part: { name: string; source: string }) => {
    const compiled = compileSolidity({ sources: { [`${part.name}.sol`]: part.source }, optimizerRuns: 1 })[part.name]
    if (!compiled) throw new ChainError(`solc produced no ${part.name}`, { docsPath: 'chain.md' })
    return compiled
  }
  return { verifier: pick(rendered.verifier), artifact: rendered.artifact ? pick(rendered.artifact) : undefined }
}

/** Where a package's verifier lives on a chain and what deploying it cost. */
export type EvmVerifierDeployment = {
  chainId: string
  verifier: string
  vk?: string | undefined
  reusable: boolean
  bytecodeDigest: string
  vkBytecodeDigest?: string | undefined
  /** Undefined when an existing reusable verifier was used. */
  verifierDeployment?: TransactionResult | undefined
  vkDeployment?: TransactionResult | undefined
  deployedAt: string
}

export type DeployVerifierParameters = {
  client: ChainClient
  package: ModelPackage
  /** Deploy the reusable verifier + VK artifact instead of a per-model verifier. Default: the kind of `rendered`, else false. */
  reusable?: boolean | undefined
  /** An already deployed reusable verifier to serve this model: only its VK artifact is deployed. */
  reusableVerifier?: string | undefined
  /** Pre-rendered Solidity (skips the toolchain; e.g. from a previous {@link renderEvmVerifier}). */
  rendered?: RenderedEvmVerifier | undefined
  python?: string | undefined
}

async function codeDigest(client: ChainClient, address: string): Promise<string> {
  return digest(getBytes(await client.provider.getCode(address)))
}

/**
 * Renders, compiles and deploys a package's EVM verifier: per model (`Halo2Verifier`), or the reusable verifier
 * plus the model's VK artifact (one reusable verifier serves many models: pass `reusableVerifier` to deploy only
 * the artifact). The bytecode digests are read back from the chain.
 *
 * @example
 * ```ts
 * const deployment = await deployVerifier({ client, package: model })
 * await verifyOnChain({ client, verifier: deployment.verifier, proof })
 * ```
 */
export async function deployVerifier(parameters: DeployVerifierParameters): Promise<EvmVerifierDeployment> {
  const { client } = parameters
  const reusable = parameters.reusable ?? (parameters.reusableVerifier !== undefined || parameters.rendered?.reusable === true)
  const rendered =
    parameters.rendered ?? (await renderEvmVerifier({ package: parameters.package, reusable, python: parameters.python }))
  if (rendered.reusable !== reusable || (parameters.reusableVerifier !== undefined && !reusable))
    throw new ChainError('The rendered verifier is not of the requested kind', {
      details: `rendered reusable=${rendered.reusable}, requested reusable=${reusable}`,
      docsPath: 'chain.md',
    })
  const compiled = compileEvmVerifier(rendered)
  let verifierAddress = parameters.reusableVerifier
  let verifierDeployment: TransactionResult | undefined
  if (!verifierAddress) {
    const deployed = await deployCompiled({ client, compiled: compiled.verifier, what: `Deploying ${rendered.verifier.name}` })
    verifierAddress = deployed.address
    verifierDeployment = deployed.deployment
  } else if ((await client.provider.getCode(verifierAddress)) === '0x')
    throw new ChainError(`No reusable verifier at ${verifierAddress}`, { docsPath: 'chain.md' })
  let vk: string | undefined
  let vkDeployment: TransactionResult | undefined
  if (compiled.artifact) {
    const deployed = await deployCompiled({ client, compiled: compiled.artifact, what: 'Deploying the VK artifact' })
    vk = deployed.address
    vkDeployment = deployed.deployment
  }
  return {
    chainId: client.chainId.toString(),
    verifier: verifierAddress,
    vk,
    reusable,
    bytecodeDigest: await codeDigest(client, verifierAddress),
    vkBytecodeDigest: vk ? await codeDigest(client, vk) : undefined,
    verifierDeployment,
    vkDeployment,
    deployedAt: new Date().toISOString(),
  }
}
