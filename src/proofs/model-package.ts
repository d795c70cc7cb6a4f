import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { canonicalDigest } from '../crypto/canonical-json.js'
import { digest, isDigest } from '../crypto/digest.js'
import { ModelPackageError, UnsupportedFormatError } from '../errors.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { callEngine, EZKL_VERSION, getEngine, toClamped } from './ezkl-engine.js'

/** Format tag of `verity-model.json`. */
export const MODEL_PACKAGE_FORMAT = 'verity-model/v1'
/** File name of a package's manifest. */
export const MODEL_MANIFEST_FILE = 'verity-model.json'

const digestSchema = z.string().refine(isDigest, 'expected sha256:<64 hex>')
const tensorSchema = z.object({
  name: z.string().min(1),
  /** Concrete shape (symbolic batch dimensions resolved to 1). */
  shape: z.array(z.number().int().positive()).min(1),
  /** Optional names of the flattened elements, e.g. feature names of a scorer. */
  labels: z.array(z.string().min(1)).optional(),
  /** Optional human meaning. */
  description: z.string().optional(),
})

/** Visibility of the circuit's inputs, outputs and parameters in the proof. */
export const visibilitySchema = z.object({
  input: z.enum(['private', 'public', 'hashed']).default('private'),
  output: z.literal('public').default('public'),
  params: z.enum(['fixed', 'private']).default('fixed'),
})
export type Visibility = z.output<typeof visibilitySchema>

/** The manifest `verity-model.json` (zod schema). */
export const modelManifestSchema = z.object({
  format: z.literal(MODEL_PACKAGE_FORMAT),
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string().optional(),
  ezkl: z.object({
    version: z.string(),
    logrows: z.number().int().positive(),
    inputScales: z.array(z.number().int()),
    outputScales: z.array(z.number().int()),
  }),
  visibility: visibilitySchema,
  inputs: z.array(tensorSchema).min(1),
  outputs: z.array(tensorSchema).min(1),
  srs: z.object({
    kind: z.enum(['dev', 'ceremony']),
    file: z.string(),
    digest: digestSchema,
    logrows: z.number().int().positive(),
  }),
  provingKey: z.object({
    /** `shipped`: `pk.key` is in the package; `regenerate`: rebuilt from vk + circuit + SRS at load. */
    mode: z.enum(['shipped', 'regenerate']),
    digest: digestSchema,
  }),
  /** sha256 of every file in the package (except this manifest). */
  files: z.record(z.string(), digestSchema),
  /**
   * EVM verifiers deployed for this package (written by the chain room, `verity chain verifier`). A deployment
   * does not change the circuit: this field is left out of the package digest.
   */
  evm: z
    .array(
      z.object({
        chainId: z.string().regex(/^[0-9]+$/),
        verifier: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
        /** The VK artifact contract when `verifier` is a reusable Halo2 verifier. */
        vk: z
          .string()
          .regex(/^0x[0-9a-fA-F]{40}$/)
          .optional(),
        reusable: z.boolean(),
        /** sha256 of the verifier's runtime bytecode as read back from the chain. */
        bytecodeDigest: digestSchema,
        vkBytecodeDigest: digestSchema.optional(),
        deployedAt: z.string(),
      }),
    )
    .optional(),
})
export type ModelManifest = z.output<typeof modelManifestSchema>

/** A loaded, validated model package: manifest, digest and file bytes. */
export type ModelPackage = {
  dir: string
  manifest: ModelManifest
  /** `canonicalDigest(manifest)`: names the model in receipts. */
  digest: string
  onnx: Uint8Array
  settings: Uint8Array
  compiled: Uint8Array
  vk: Uint8Array
  srs: Uint8Array
  /** Returns the proving key, regenerating (and caching) it when the package does not ship it. */
  provingKey(): Uint8Array
  /** The proving key if it is at hand without regenerating it (shipped or cached), else undefined. */
  peekProvingKey(): Uint8Array | undefined
  /** Keeps a proving key regenerated elsewhere (e.g. in a prover worker) if its digest matches. */
  cacheProvingKey(bytes: Uint8Array): void
}

/**
 * The digest that names a package in receipts: `canonicalDigest` of its manifest without the `evm` deployments.
 *
 * @example
 * ```ts
 * modelManifestDigest(model.manifest) === model.digest // true
 * ```
 */
export function modelManifestDigest(manifest: ModelManifest): string {
  const { evm: _deployments, ...identity } = manifest
  return canonicalDigest(identity)
}

export type LoadModelPackageParameters = {
  dir: string
  /** Where regenerated proving keys are cached (by digest). Default `$TMPDIR/verity-pk-cache`. */
  cacheDir?: string | undefined
  /** Skip the engine's format validators (digests are always checked). Default false. */
  skipEngineValidation?: boolean | undefined
  /**
   * Require the package's SRS to be exactly this file (`sha256:<hex>`, e.g. a ceremony's published
   * digest): a package built on any other SRS (a dev SRS, another ceremony) is refused.
   */
  expectedSrsDigest?: string | undefined
}

const loadSchema = z.object({
  dir: z.string().min(1),
  cacheDir: z.string().min(1).optional(),
  skipEngineValidation: z.boolean().optional(),
  expectedSrsDigest: digestSchema.optional(),
})

/**
 * Loads a model package folder: parses `verity-model.json`, checks the digest of every file,
 * runs EZKL's validators on settings, circuit, vk and SRS. Tampering → {@link ModelPackageError}.
 *
 * @example
 * ```ts
 * const model = loadModelPackage({ dir: 'models/transaction-risk' })
 * model.manifest.inputs[0]?.labels // ['amount', 'hour', ...]
 * ```
 */
export function loadModelPackage(parameters: LoadModelPackageParameters): ModelPackage {
  const options = parseInput(loadSchema, parameters, { what: 'loadModelPackage parameters' })
  const dir = resolve(options.dir)
  const manifestPath = join(dir, MODEL_MANIFEST_FILE)
  if (!existsSync(manifestPath))
    throw new ModelPackageError('Not a model package', {
      details: `${manifestPath} does not exist`,
      hint: 'Build one with `verity model build MODEL.onnx --input SAMPLE.json --out DIR --dev-srs`.',
      docsPath: 'proofs.md',
    })
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'))
  } catch (cause) {
    throw new ModelPackageError('verity-model.json is not valid JSON', {
      details: (cause as Error).message,
      cause,
      docsPath: 'proofs.md',
    })
  }
  if ((raw as { format?: unknown } | null)?.format !== MODEL_PACKAGE_FORMAT)
    throw new UnsupportedFormatError('Unknown model package format', {
      details: `format ${JSON.stringify((raw as { format?: unknown } | null)?.format)}; this build reads ${MODEL_PACKAGE_FORMAT}`,
      hint: 'Rebuild the package with this version of Verity.',
    })
  const parsed = modelManifestSchema.safeParse(raw)
  if (!parsed.success)
    throw new ModelPackageError('verity-model.json is malformed', {
      details: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
      docsPath: 'proofs.md',
    })
  const manifest = parsed.data
  if (manifest.ezkl.version !== EZKL_VERSION)
    throw new ModelPackageError(
      `The package was built with ezkl ${manifest.ezkl.version}; this build proves with ${EZKL_VERSION}`,
      {
        hint: 'Rebuild the package with the pinned toolchain (scripts/setup-toolchain.sh).',
        docsPath: 'proofs.md',
      },
    )
  const read = (name: string): Uint8Array => {
    const expected = manifest.files[name]
    if (!expected) throw new ModelPackageError(`The manifest lists no digest for ${name}`, { docsPath: 'proofs.md' })
    const path = join(dir, name)
    if (!existsSync(path)) throw new ModelPackageError(`The package is missing ${name}`, { details: path, docsPath: 'proofs.md' })
    const bytes = new Uint8Array(readFileSync(path))
    const actual = digest(bytes)
    if (actual !== expected)
      throw new ModelPackageError(`${name} does not match its digest`, {
        details: `expected ${expected}, found ${actual}`,
        hint: 'The package was modified after it was built; rebuild it or restore the original files.',
        docsPath: 'proofs.md',
        meta: { file: name },
      })
    return bytes
  }
  const onnx = read('network.onnx')
  const settings = read('settings.json')
  const compiled = read('model.compiled')
  const vk = read('vk.key')
  const srs = read(manifest.srs.file)
  if (manifest.srs.digest !== manifest.files[manifest.srs.file])
    throw new ModelPackageError('The SRS digest disagrees with the file list', { docsPath: 'proofs.md' })
  if (options.expectedSrsDigest && manifest.srs.digest !== options.expectedSrsDigest)
    throw new ModelPackageError('The package was built on another SRS', {
      details: `package SRS ${manifest.srs.digest} (${manifest.srs.kind}), expected ${options.expectedSrsDigest}`,
      hint: 'Rebuild the package with `verity model build ... --srs CEREMONY.srs --srs-digest <published digest>`.',
      docsPath: 'proofs.md',
      meta: { srsDigest: manifest.srs.digest },
    })
  const settingsJson = JSON.parse(new TextDecoder().decode(settings)) as { run_args?: { logrows?: number } }
  if (settingsJson.run_args?.logrows !== manifest.ezkl.logrows)
    throw new ModelPackageError('settings.json disagrees with the manifest (logrows)', { docsPath: 'proofs.md' })
  if (!options.skipEngineValidation) {
    const engine = getEngine()
    const checks: Array<[string, () => boolean]> = [
      ['settings.json', () => engine.settingsValidation(toClamped(settings))],
      ['model.compiled', () => engine.compiledCircuitValidation(toClamped(compiled))],
      ['vk.key', () => engine.vkValidation(toClamped(vk), toClamped(settings))],
      [manifest.srs.file, () => engine.srsValidation(toClamped(srs))],
    ]
    for (const [name, check] of checks) {
      let ok = false
      try {
        ok = check()
      } catch {
        ok = false
      }
      if (!ok)
        throw new ModelPackageError(`${name} is not a valid EZKL ${EZKL_VERSION} file`, {
          hint: 'Rebuild the package with the pinned toolchain.',
          docsPath: 'proofs.md',
        })
    }
  }
  const cacheDir = options.cacheDir ?? join(tmpdir(), 'verity-pk-cache')
  let provingKey: Uint8Array | undefined
  const cached = join(cacheDir, `${manifest.provingKey.digest.slice('sha256:'.length)}.key`)
  const model: ModelPackage = {
    dir,
    manifest,
    digest: modelManifestDigest(manifest),
    onnx,
    settings,
    compiled,
    vk,
    srs,
    peekProvingKey() {
      if (provingKey) return provingKey
      if (manifest.provingKey.mode === 'shipped') {
        provingKey = read('pk.key')
        return provingKey
      }
      if (existsSync(cached)) {
        const bytes = new Uint8Array(readFileSync(cached))
        if (digest(bytes) === manifest.provingKey.digest) {
          provingKey = bytes
          return bytes
        }
      }
      return undefined
    },
    provingKey() {
      const ready = model.peekProvingKey()
      if (ready) return ready
      const bytes = regenerateProvingKey({ compiled, vk, srs })
      if (digest(bytes) !== manifest.provingKey.digest)
        throw new ModelPackageError('The regenerated proving key does not match the manifest', {
          details: `expected ${manifest.provingKey.digest}, got ${digest(bytes)}`,
          hint: 'The package files are inconsistent; rebuild it.',
          docsPath: 'proofs.md',
        })
      model.cacheProvingKey(bytes)
      return bytes
    },
    cacheProvingKey(bytes) {
      if (digest(bytes) !== manifest.provingKey.digest) return
      provingKey = bytes
      if (manifest.provingKey.mode === 'shipped') return
      try {
        mkdirSync(cacheDir, { recursive: true, mode: 0o700 })
        writeFileAtomic({ path: cached, data: bytes, mode: 0o644 })
      } catch {
        // caching is an optimisation: a read-only temp dir only costs a regeneration next time
      }
    },
  }
  return model
}

export type RegenerateProvingKeyParameters = { compiled: Uint8Array; vk: Uint8Array; srs: Uint8Array }

/**
 * Rebuilds a proving key from the verifying key, the compiled circuit and the SRS with the engine
 * (deterministic: same inputs, same bytes).
 *
 * @example
 * ```ts
 * const pk = regenerateProvingKey({ compiled, vk, srs })
 * ```
 */
export function regenerateProvingKey(parameters: RegenerateProvingKeyParameters): Uint8Array {
  const engine = getEngine()
  return callEngine('genPk', () =>
    engine.genPk(toClamped(parameters.vk), toClamped(parameters.compiled), toClamped(parameters.srs)),
  )
}

export type GenerateKeysParameters = { compiled: Uint8Array; srs: Uint8Array }
export type GenerateKeysReturnType = { vk: Uint8Array; pk: Uint8Array }

/**
 * Generates a verifying key and a proving key for a compiled circuit from a KZG SRS with the engine
 * (`genVk` with compressed selectors, as `ezkl setup` does, then `genPk`).
 *
 * @example
 * ```ts
 * const { vk, pk } = generateKeys({ compiled, srs })
 * ```
 */
export function generateKeys(parameters: GenerateKeysParameters): GenerateKeysReturnType {
  const engine = getEngine()
  const vk = new Uint8Array(
    callEngine('genVk', () => engine.genVk(toClamped(parameters.compiled), toClamped(parameters.srs), true)),
  )
  const pk = new Uint8Array(
    callEngine('genPk', () => engine.genPk(toClamped(vk), toClamped(parameters.compiled), toClamped(parameters.srs))),
  )
  return { vk, pk }
}
