import type { Command } from 'commander'
import { InvalidInputError } from '../../errors.js'
import { printResult } from '../output.js'
import { createProgressBar } from '../progress.js'

type BuildOptions = {
  input: string
  out: string
  devSrs?: boolean
  srs?: string
  srsDigest?: string
  name?: string
  modelVersion?: string
  inputVisibility?: 'private' | 'public' | 'hashed'
  paramVisibility?: 'fixed' | 'private'
  json?: boolean
}

/**
 * `verity model build|inspect`.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerModelCommands] })
 * ```
 */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('Build and inspect EZKL model packages')
  model
    .command('build')
    .description('Compile an ONNX model into a provable model package with the pinned EZKL toolchain')
    .argument('<model>', 'ONNX model file')
    .requiredOption('--input <file>', 'calibration sample (EZKL input.json: {"input_data": [[...]]})')
    .requiredOption('--out <dir>', 'package folder to write')
    .option('--dev-srs', 'generate a local test SRS (INSECURE: whoever made it can forge proofs)')
    .option('--srs <file>', 'use this KZG SRS (e.g. from a ceremony)')
    .option('--srs-digest <sha256>', "refuse the --srs file unless its digest is this (the ceremony's published sha256:<hex>)")
    .option('--name <name>', 'package name')
    .option('--model-version <version>', 'package version')
    .option('--input-visibility <visibility>', 'private | public | hashed (default private)')
    .option('--param-visibility <visibility>', 'fixed | private (default fixed)')
    .option('--json', 'print JSON')
    .action(async (modelPath: string, options: BuildOptions) => {
      if (Boolean(options.devSrs) === Boolean(options.srs))
        throw new InvalidInputError('Choose exactly one of --dev-srs or --srs FILE', {
          hint: '--dev-srs is for development only; production packages use a ceremony SRS.',
          docsPath: 'proofs.md',
        })
      if (options.srsDigest && !options.srs)
        throw new InvalidInputError('--srs-digest needs --srs FILE', { hint: 'It pins the digest of the SRS file you pass.' })
      // heavy modules (EZKL engine, onnxruntime) load only when a command runs: `verity --help` stays fast
      const { buildModelPackage } = await import('../../proofs/build-model-package.js')
      const progress = createProgressBar({ enabled: !options.json })
      try {
        const { package: built } = await buildModelPackage({
          model: modelPath,
          sample: options.input,
          out: options.out,
          srs: options.srs ? { path: options.srs, digest: options.srsDigest } : 'dev',
          name: options.name,
          version: options.modelVersion,
          visibility: {
            ...(options.inputVisibility ? { input: options.inputVisibility } : {}),
            ...(options.paramVisibility ? { params: options.paramVisibility } : {}),
          },
          onProgress: progress.report,
        })
        progress.stop()
        printResult(options, { dir: built.dir, digest: built.digest, manifest: built.manifest }, () =>
          [
            `built ${built.manifest.name} ${built.manifest.version} in ${built.dir}`,
            `digest ${built.digest}`,
            `logrows ${built.manifest.ezkl.logrows}, srs ${built.manifest.srs.kind}${built.manifest.srs.kind === 'dev' ? ' (insecure test setup)' : ''}`,
          ].join('\n'),
        )
      } finally {
        progress.stop()
      }
    })
  model
    .command('inspect')
    .description('Validate a model package and show its manifest')
    .argument('<dir>', 'model package folder')
    .option('--srs-digest <sha256>', 'refuse the package unless its SRS has this digest (e.g. a ceremony SRS)')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { srsDigest?: string; json?: boolean }) => {
      const { loadModelPackage } = await import('../../proofs/model-package.js')
      const loaded = loadModelPackage({ dir, expectedSrsDigest: options.srsDigest })
      const { manifest } = loaded
      printResult(options, { dir: loaded.dir, digest: loaded.digest, valid: true, manifest }, () =>
        [
          `${manifest.name} ${manifest.version} (${loaded.digest})`,
          manifest.description ?? '',
          `inputs:  ${manifest.inputs.map((tensor) => `${tensor.name}[${tensor.shape.join('x')}]${tensor.labels ? ` (${tensor.labels.join(', ')})` : ''}`).join('; ')}`,
          `outputs: ${manifest.outputs.map((tensor) => `${tensor.name}[${tensor.shape.join('x')}]${tensor.labels ? ` (${tensor.labels.join(', ')})` : ''}`).join('; ')}`,
          `visibility: input ${manifest.visibility.input}, output ${manifest.visibility.output}, params ${manifest.visibility.params}`,
          `ezkl ${manifest.ezkl.version}, logrows ${manifest.ezkl.logrows}, srs ${manifest.srs.kind} ${manifest.srs.digest}, proving key ${manifest.provingKey.mode}`,
          'all file digests and EZKL validators: ok',
        ]
          .filter(Boolean)
          .join('\n'),
      )
    })
}
