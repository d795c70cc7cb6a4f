import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { InvalidInputError, ProofError } from '../../errors.js'
import type { ModelPackage } from '../../proofs/model-package.js'
import { writeFileAtomic } from '../../storage/atomic-file.js'
import { printResult } from '../output.js'
import { proverChoiceOf, withProverOptions } from '../prover-options.js'

/**
 * Reads a model input file: EZKL's `{"input_data": [[...]]}` or an object keyed by the package's
 * input labels / tensor names.
 *
 * @example
 * ```ts
 * await readModelInput(model, 'input.json') // [[120, 3, ...]]
 * ```
 */
export async function readModelInput(model: ModelPackage, file: string): Promise<number[][]> {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(resolve(file), 'utf8'))
  } catch (cause) {
    throw new InvalidInputError('Could not read the input file', { details: `${file}: ${(cause as Error).message}`, cause })
  }
  if (value && typeof value === 'object' && 'input_data' in value) return (value as { input_data: number[][] }).input_data
  const { parseToolArguments } = await import('../../tools/verifiable-inference.js')
  return parseToolArguments(model, value)
}

/** The package `verity infer` runs: the folder argument, or `--model` resolved through the hub (`--hub`, `--from`). */
async function loadNamedModel(
  dir: string | undefined,
  options: InferOptions,
  loadModelPackage: typeof import('../../proofs/model-package.js').loadModelPackage,
): Promise<ModelPackage> {
  if ((dir === undefined) === (options.model === undefined))
    throw new InvalidInputError('Pass either a package folder or --model NAME[@VERSION]|CID', {
      hint: 'verity infer models/transaction-risk --input in.json, or verity infer --model transaction-risk@1.0.0 --hub DIR --input in.json',
    })
  if (dir !== undefined) return loadModelPackage({ dir })
  const [{ openHub }, { hubModelResolver }, { loadModelReference }] = await Promise.all([
    import('../../hub/open-hub.js'),
    import('../../hub/hub-model-resolver.js'),
    import('../../proofs/model-reference.js'),
  ])
  const hub = await openHub({ dir: options.hub })
  const resolver = hubModelResolver({ hub, from: options.from, token: options.token })
  const reference = options.model as string
  const named = /^(bafy|bafk)[a-z2-7]+$/.test(reference) ? reference : `hub:${reference}`
  return (await loadModelReference({ model: named, resolver })).package
}

type InferOptions = {
  input: string
  prove?: boolean
  receipt: string
  proof?: string
  crossCheck?: boolean
  prover?: string
  redis?: string
  model?: string
  hub?: string
  from?: string
  token?: string
  json?: boolean
}

/**
 * `verity infer DIR --input FILE [--prove]`, or `verity infer --model NAME[@VERSION]|CID [--hub DIR] [--from URL] ...`.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerInferCommands] })
 * ```
 */
export function registerInferCommands(program: Command): void {
  const command = program
    .command('infer')
    .description('Run a model package on an input: the proven (circuit) output, optionally with a proof and receipt')
    .argument('[dir]', 'model package folder (or name the model with --model)')
    .option('--model <name|cid>', 'a model in the hub: NAME[@VERSION], 0xPUBLISHER/NAME[@VERSION] or a package CID')
    .option('--hub <dir>', 'hub folder for --model (default: $VERITY_HUB_HOME or ~/.verity/hub)')
    .option('--from <url>', 'with a CID not in the hub: pull it from this Verity hub or IPFS gateway first')
    .option('--token <token>', 'bearer token for --from')
    .requiredOption('--input <file>', 'input JSON (EZKL input_data, or an object keyed by the input labels)')
    .option('--prove', 'prove the output and write the receipt and proof')
    .option('--receipt <file>', 'where to write the receipt (with --prove)', 'receipt.json')
    .option('--proof <file>', 'where to write the proof (default: RECEIPT with .proof.json)')
    .option('--no-cross-check', 'skip the onnxruntime cross-check')
  withProverOptions(command)
    .option('--json', 'print JSON')
    .action(async (dir: string | undefined, options: InferOptions) => {
      // heavy modules (EZKL engine, onnxruntime, worker pool) load only when the command runs
      const [{ loadModelPackage }, { createOnnxRunner }, { createProver }, { runVerifiableInference }] = await Promise.all([
        import('../../proofs/model-package.js'),
        import('../../proofs/onnx-runtime.js'),
        import('../../proofs/create-prover.js'),
        import('../../proofs/verifiable-inference.js'),
      ])
      const choice = proverChoiceOf(options)
      const model = await loadNamedModel(dir, options, loadModelPackage)
      const input = await readModelInput(model, options.input)
      const runner =
        options.crossCheck === false ? undefined : await createOnnxRunner({ model: model.onnx, inputs: model.manifest.inputs })
      const prover = options.prove ? await createProver({ ...choice, workers: 1 }) : undefined
      if (prover && !options.json) process.stderr.write(`proving with the ${prover.kind} backend...\n`)
      try {
        const run = await runVerifiableInference({ package: model, input, prover, crossCheck: runner })
        let receipt = run.receipt
        let files: { receipt: string; proof: string } | undefined
        if (run.settled) {
          const settled = await run.settled
          receipt = settled.receipt
          if (receipt.status !== 'verified' || !settled.proof)
            throw new ProofError('The proof did not verify', {
              details: receipt.error,
              hint: 'Rebuild the package; report this if it persists.',
            })
          const receiptPath = resolve(options.receipt)
          const proofPath = resolve(options.proof ?? receiptPath.replace(/(\.json)?$/, '.proof.json'))
          writeFileAtomic({ path: proofPath, data: settled.proof, mode: 0o644 })
          writeFileAtomic({ path: receiptPath, data: `${JSON.stringify(receipt, null, 2)}\n`, mode: 0o644 })
          files = { receipt: receiptPath, proof: proofPath }
        }
        printResult(options, { output: run.output, receipt, salt: run.salt, crossCheck: run.crossCheck, files }, () => {
          const labels = model.manifest.outputs.flatMap((tensor) => tensor.labels ?? [])
          const flat = run.output.flat()
          const shown =
            labels.length === flat.length
              ? labels.map((label, index) => `${label} = ${flat[index]}`).join(', ')
              : JSON.stringify(run.output)
          return [
            `output (proven): ${shown}`,
            run.crossCheck
              ? `onnxruntime: ${JSON.stringify(run.crossCheck.output)} (max difference ${run.crossCheck.maxAbsoluteDifference.toPrecision(3)})`
              : '',
            `receipt ${receipt.id} ${receipt.status}`,
            files ? `wrote ${files.receipt} and ${files.proof}` : '',
            run.salt ? `input commitment salt (keep it to open the commitment): ${run.salt}` : '',
          ]
            .filter(Boolean)
            .join('\n')
        })
      } finally {
        await runner?.release()
        await prover?.close()
      }
    })
}
