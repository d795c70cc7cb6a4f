import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { z } from 'zod'
import { digest, isDigest } from '../crypto/digest.js'
import { randomId } from '../crypto/random.js'
import { IntegrityError, InvalidInputError, ModelPackageError, NotFoundError, ToolchainError } from '../errors.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { EZKL_VERSION } from './ezkl-engine.js'
import {
  loadModelPackage,
  MODEL_MANIFEST_FILE,
  MODEL_PACKAGE_FORMAT,
  type ModelManifest,
  type ModelPackage,
  regenerateProvingKey,
  visibilitySchema,
} from './model-package.js'
import { inspectOnnx } from './onnx-runtime.js'
import { findToolchain, runToolchain } from './toolchain.js'

/** Progress of a long step, for a CLI bar or a log. */
export type BuildProgressEvent = { phase: 'toolchain' | 'compile' | 'keys' | 'package'; done: number; total: number }

export type BuildModelPackageParameters = {
  /** Path of the ONNX model. */
  model: string
  /**
   * A calibration sample: a path to an EZKL `input.json`, or its content (`{ input_data: number[][] }`).
   * Each input may hold several samples back to back (a multiple of its size): calibration covers
   * all of them, the first is the one the build proves as a self-check.
   */
  sample: string | { input_data: number[][] }
  /** Output folder (created; existing package files are replaced). */
  out: string
  /**
   * `'dev'`: generate an insecure local test SRS; `{ path, digest? }`: a ceremony (or other) KZG SRS
   * file. With `digest` (the `sha256:<hex>` the ceremony publishes), a file with other bytes is refused
   * before anything is built.
   */
  srs: 'dev' | { path: string; digest?: string | undefined }
  /** Defaults: input private, output public, params fixed. */
  visibility?: Partial<z.input<typeof visibilitySchema>> | undefined
  name?: string | undefined
  version?: string | undefined
  description?: string | undefined
  /** Names of the flattened elements of each input / output, in order (e.g. feature names). */
  inputLabels?: string[][] | undefined
  outputLabels?: string[][] | undefined
  /** Fixed-point scales calibration may choose from (bits after the point). Default `[7]`. */
  scales?: number[] | undefined
  /**
   * Factor EZKL widens the calibrated lookup ranges by (EZKL's default 2). Use 1 when the graph
   * bounds its lookup inputs itself (e.g. a Clip before a Sigmoid) and the sample reaches the bounds.
   */
  lookupSafetyMargin?: number | undefined
  /**
   * Upper bound on the circuit's rows (2^maxLogrows). EZKL then splits lookup tables longer than the
   * rows across several columns: fewer rows, more columns. Default: calibration's choice.
   */
  maxLogrows?: number | undefined
  /** Largest proving key kept in the package; larger ones are regenerated at load. Default 4 MiB. */
  maxShippedProvingKeyBytes?: number | undefined
  /** Python with ezkl 21.0.0 (default `.venv/bin/python` or `$VERITY_EZKL_PYTHON`). */
  python?: string | undefined
  onProgress?: ((event: BuildProgressEvent) => void) | undefined
  signal?: AbortSignal | undefined
}

export type BuildModelPackageReturnType = { package: ModelPackage; manifestPath: string }

const sampleSchema = z.object({ input_data: z.array(z.array(z.number())).min(1) }).loose()
const buildSchema = z.object({
  model: z.string().min(1),
  sample: z.union([z.string().min(1), sampleSchema]),
  out: z.string().min(1),
  srs: z.union([
    z.literal('dev'),
    z.object({ path: z.string().min(1), digest: z.string().refine(isDigest, 'expected sha256:<64 hex>').optional() }),
  ]),
  visibility: visibilitySchema.partial().optional(),
  name: z.string().min(1).max(128).optional(),
  version: z.string().min(1).max(64).optional(),
  description: z.string().max(4000).optional(),
  inputLabels: z.array(z.array(z.string().min(1))).optional(),
  outputLabels: z.array(z.array(z.string().min(1))).optional(),
  scales: z.array(z.number().int().min(0).max(20)).min(1).optional(),
  lookupSafetyMargin: z.number().min(1).max(16).optional(),
  maxLogrows: z.number().int().min(4).max(26).optional(),
  maxShippedProvingKeyBytes: z.number().int().nonnegative().optional(),
  python: z.string().min(1).optional(),
  onProgress: z.custom<(event: BuildProgressEvent) => void>((value) => typeof value === 'function').optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
})

/**
 * Builds a model package with the pinned EZKL toolchain: settings calibrated on the sample,
 * compiled circuit, SRS (dev or given), vk and pk, schema and digests in `verity-model.json`.
 *
 * @example
 * ```ts
 * const { package: model } = await buildModelPackage({
 *   model: 'network.onnx', sample: 'input.json', out: 'models/mlp', srs: 'dev',
 * })
 * ```
 */
export async function buildModelPackage(parameters: BuildModelPackageParameters): Promise<BuildModelPackageReturnType> {
  const options = parseInput(buildSchema, parameters, {
    what: 'buildModelPackage parameters',
    hint: 'Pass { model, sample, out, srs: "dev" | { path } }.',
    docsPath: 'proofs.md',
  })
  const progress = options.onProgress ?? (() => {})
  const modelPath = resolve(options.model)
  if (!existsSync(modelPath)) throw new NotFoundError('The ONNX model does not exist', { details: modelPath })
  const srsPath = options.srs === 'dev' ? undefined : resolve(options.srs.path)
  if (srsPath && !existsSync(srsPath)) throw new NotFoundError('The SRS file does not exist', { details: srsPath })
  if (srsPath && options.srs !== 'dev' && options.srs.digest) {
    const actual = digest(new Uint8Array(readFileSync(srsPath)))
    if (actual !== options.srs.digest)
      throw new IntegrityError('The SRS file does not match the expected digest', {
        details: `${srsPath}: expected ${options.srs.digest}, found ${actual}`,
        hint: 'Download the SRS again from the ceremony and compare its sha256 with the published one.',
        docsPath: 'proofs.md',
      })
  }
  const visibility = visibilitySchema.parse(options.visibility ?? {})

  let sample: { input_data: number[][] }
  try {
    sample =
      typeof options.sample === 'string'
        ? sampleSchema.parse(JSON.parse(readFileSync(resolve(options.sample), 'utf8')))
        : options.sample
  } catch (cause) {
    throw new InvalidInputError('The calibration sample is not an EZKL input file', {
      details: (cause as Error).message,
      hint: 'Use the EZKL input.json format: {"input_data": [[x1, x2, ...]]}.',
      cause,
    })
  }

  const shapes = await inspectOnnx(modelPath)
  if (shapes.inputs.length !== sample.input_data.length)
    throw new InvalidInputError('The sample does not match the model inputs', {
      details: `model has ${shapes.inputs.length} input(s), sample has ${sample.input_data.length}`,
    })
  let batches: number | undefined
  for (const [index, input] of shapes.inputs.entries()) {
    const size = input.shape.reduce((a, b) => a * b, 1)
    const length = sample.input_data[index]?.length ?? 0
    const count = length / size
    if (length === 0 || !Number.isInteger(count) || (batches !== undefined && count !== batches))
      throw new InvalidInputError('The sample does not match the model inputs', {
        details: `input ${input.name} has ${size} elements (shape ${input.shape.join('x')}), sample has ${length}${batches !== undefined ? ` (other inputs hold ${batches} samples)` : ''}`,
        hint: 'Give each input a multiple of its size: one or more samples back to back.',
      })
    batches = count
  }
  const sizes = shapes.inputs.map((input) => input.shape.reduce((a, b) => a * b, 1))
  const firstSample = sample.input_data.map((values, index) => values.slice(0, sizes[index]))

  progress({ phase: 'toolchain', done: 0, total: 1 })
  const toolchain = await findToolchain({ python: options.python })
  progress({ phase: 'toolchain', done: 1, total: 1 })

  const out = resolve(options.out)
  mkdirSync(out, { recursive: true })
  const scratch = join(tmpdir(), `verity-build-${randomId()}`)
  mkdirSync(scratch, { recursive: true })
  try {
    const samplePath = join(scratch, 'input.json')
    writeFileSync(samplePath, JSON.stringify({ input_data: sample.input_data }))
    const witnessSamplePath = join(scratch, 'first-input.json')
    writeFileSync(witnessSamplePath, JSON.stringify({ input_data: firstSample }))
    progress({ phase: 'compile', done: 0, total: 1 })
    const answer = await runToolchain(
      toolchain,
      {
        command: 'build',
        model: modelPath,
        sample: samplePath,
        witnessSample: witnessSamplePath,
        lookupSafetyMargin: options.lookupSafetyMargin ?? 2,
        out,
        srs: srsPath ?? null,
        visibility,
        scales: options.scales ?? [7],
        decompBase: 128,
        decompLegs: 2,
        maxLogrows: options.maxLogrows ?? null,
      },
      options.signal,
    )
    progress({ phase: 'compile', done: 1, total: 1 })
    const logrows = Number(answer.logrows)
    const settings = JSON.parse(readFileSync(join(out, 'settings.json'), 'utf8')) as {
      model_input_scales: number[]
      model_output_scales: number[]
      model_instance_shapes: number[][]
    }
    // The circuit's output shapes are EZKL's (it may resolve symbolic dimensions unlike onnxruntime):
    // outputs are public, so they are the last instance shapes.
    const instanceShapes = settings.model_instance_shapes.slice(-shapes.outputs.length)
    if (instanceShapes.length !== shapes.outputs.length)
      throw new ModelPackageError('EZKL reports fewer public outputs than the model has', {
        details: JSON.stringify(settings.model_instance_shapes),
      })
    shapes.outputs = shapes.outputs.map((tensor, index) => ({ name: tensor.name, shape: instanceShapes[index] as number[] }))

    progress({ phase: 'keys', done: 0, total: 1 })
    const read = (name: string) => new Uint8Array(readFileSync(join(out, name)))
    const pkPath = join(out, 'pk.key')
    // The engine regenerates the pk at load: record the digest of the engine's bytes.
    const pk = regenerateProvingKey({ compiled: read('model.compiled'), vk: read('vk.key'), srs: read('kzg.srs') })
    const maxShipped = options.maxShippedProvingKeyBytes ?? 4 * 1024 * 1024
    const shipped = pk.length <= maxShipped
    if (shipped) writeFileAtomic({ path: pkPath, data: pk, mode: 0o644 })
    else rmSync(pkPath, { force: true })
    progress({ phase: 'keys', done: 1, total: 1 })

    progress({ phase: 'package', done: 0, total: 1 })
    const fileNames = ['network.onnx', 'settings.json', 'model.compiled', 'vk.key', 'kzg.srs', ...(shipped ? ['pk.key'] : [])]
    const files: Record<string, string> = {}
    for (const name of fileNames) files[name] = digest(read(name))
    const label = (labels: string[][] | undefined, index: number, size: number) => {
      const names = labels?.[index]
      if (!names) return {}
      if (names.length !== size)
        throw new InvalidInputError('Labels do not match the tensor size', {
          details: `tensor ${index}: ${names.length} labels for ${size} elements`,
        })
      return { labels: names }
    }
    const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1)
    const manifest: ModelManifest = {
      format: MODEL_PACKAGE_FORMAT,
      name: options.name ?? basename(modelPath, '.onnx'),
      version: options.version ?? '0.1.0',
      ...(options.description ? { description: options.description } : {}),
      ezkl: {
        version: EZKL_VERSION,
        logrows,
        inputScales: settings.model_input_scales,
        outputScales: settings.model_output_scales,
      },
      visibility,
      inputs: shapes.inputs.map((tensor, index) => ({ ...tensor, ...label(options.inputLabels, index, size(tensor.shape)) })),
      outputs: shapes.outputs.map((tensor, index) => ({ ...tensor, ...label(options.outputLabels, index, size(tensor.shape)) })),
      srs: { kind: srsPath ? 'ceremony' : 'dev', file: 'kzg.srs', digest: files['kzg.srs'] as string, logrows },
      provingKey: { mode: shipped ? 'shipped' : 'regenerate', digest: digest(pk) },
      files,
    }
    const manifestPath = join(out, MODEL_MANIFEST_FILE)
    writeFileAtomic({ path: manifestPath, data: `${JSON.stringify(manifest, null, 2)}\n`, mode: 0o644 })
    progress({ phase: 'package', done: 1, total: 1 })
    const loaded = loadModelPackage({ dir: out })
    return { package: loaded, manifestPath }
  } catch (error) {
    if (error instanceof ToolchainError || error instanceof ModelPackageError || error instanceof InvalidInputError) throw error
    throw new ToolchainError('Building the model package failed', {
      details: (error as Error).message,
      cause: error,
      docsPath: 'proofs.md',
    })
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}
