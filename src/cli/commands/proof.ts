import { existsSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { NotFoundError, ProofError } from '../../errors.js'
import type { ModelPackage } from '../../proofs/model-package.js'
import { withChainOptions } from '../chain-options.js'
import { printResult } from '../output.js'
import { readReceiptFiles } from '../receipt-files.js'

/** The packages shipped with Verity (not the working directory: a folder anyone can write). */
function bundledModelsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models')
}

/**
 * The bundled package whose manifest digest is the receipt's, or undefined. Only the bundled
 * folder is searched, and a package is matched by its digest, never by the name it gives itself.
 */
async function findBundledPackage(modelDigest: string): Promise<ModelPackage | undefined> {
  const { loadModelPackage, MODEL_MANIFEST_FILE } = await import('../../proofs/model-package.js')
  const root = bundledModelsDir()
  if (!existsSync(root)) return undefined
  for (const entry of readdirSync(root)) {
    if (!existsSync(join(root, entry, MODEL_MANIFEST_FILE))) continue
    try {
      const candidate = loadModelPackage({ dir: join(root, entry) })
      if (candidate.digest === modelDigest) return candidate
    } catch {
      // not this one
    }
  }
  return undefined
}

/**
 * `verity proof verify RECEIPT [--proof FILE] [--model DIR]`.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerProofCommands] })
 * ```
 */
export function registerProofCommands(program: Command): void {
  const proof = program.command('proof').description('Verify proofs and receipts')
  withChainOptions(
    proof
      .command('verify')
      .description('Verify a receipt and its proof offline against the model package (vk, settings, SRS)')
      .argument('<receipt>', 'receipt JSON file')
      .option('--proof <file>', 'proof file (default: RECEIPT with .proof.json)')
      .option(
        '--model <dir>',
        'model package (default: the bundled package whose digest the receipt names; ./models is never searched)',
      )
      .option('--srs-digest <sha256>', 'refuse a package whose SRS is not this one (e.g. the ceremony SRS you trust)')
      .option('--on-chain <address>', 'verify with this EVM verifier instead (see `verity chain verify`)')
      .option('--vk <address>', 'with --on-chain: the VK artifact of a reusable verifier'),
    { when: 'with --on-chain' },
  ).action(async (receiptFile: string, options: { proof?: string; model?: string; srsDigest?: string; json?: boolean }) => {
    const onChain = (options as { onChain?: string }).onChain
    if (onChain) return (await import('./chain.js')).verifyReceiptOnChainAction(receiptFile, { ...options, onChain })
    // the EZKL engine loads only when the command runs: `verity --help` stays fast
    const [{ loadModelPackage }, { verifyReceipt }] = await Promise.all([
      import('../../proofs/model-package.js'),
      import('../../proofs/receipt.js'),
    ])
    const files = readReceiptFiles({ receipt: receiptFile, proof: options.proof })
    const receipt = files.receipt as { model?: { digest?: string } }
    const model = options.model
      ? loadModelPackage({ dir: options.model, expectedSrsDigest: options.srsDigest })
      : await findBundledPackage(String(receipt.model?.digest))
    if (!model)
      throw new NotFoundError('No bundled model package matches the receipt', {
        details: `model digest ${String(receipt.model?.digest)}`,
        hint: 'Pass the package you trust with --model DIR (it must have the digest the receipt names).',
      })
    const bundled = !options.model
    if (options.srsDigest && model.manifest.srs.digest !== options.srsDigest)
      loadModelPackage({ dir: model.dir, expectedSrsDigest: options.srsDigest }) // throws the typed refusal
    const result = verifyReceipt({ receipt, proof: files.proof, package: model })
    const failed = result.checks.filter((check) => !check.ok)
    if (!result.valid)
      throw new ProofError('The receipt does not verify', {
        details: failed.map((check) => `${check.name}${check.details ? ` (${check.details})` : ''}`).join('; '),
        hint: 'The receipt, the proof or the package was changed, or they belong to different models.',
        docsPath: 'proofs.md',
        meta: { failed: failed.map((check) => check.name) },
      })
    printResult(
      options,
      {
        valid: true,
        receipt: result.receipt,
        model: { dir: model.dir, digest: model.digest, bundled, name: model.manifest.name, version: model.manifest.version },
        prover: result.prover ?? null,
        checks: result.checks,
      },
      () =>
        [
          `valid: ${result.checks.map((check) => check.name).join(', ')}`,
          `output ${JSON.stringify(result.receipt?.output)} proven by the circuit of package ${model.digest}`,
          `  ${bundled ? 'the bundled package' : 'the package you passed'} ${model.dir} (it calls itself ${model.manifest.name} ${model.manifest.version})`,
          ...(result.prover ? [`  signed by prover ${result.prover}`] : []),
        ].join('\n'),
    )
  })
}
