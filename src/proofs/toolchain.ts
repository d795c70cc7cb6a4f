import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ToolchainError } from '../errors.js'
import { EZKL_VERSION } from './ezkl-engine.js'

/** Where the toolchain bridge found Python and its script. */
export type Toolchain = { python: string; script: string; version: string }

export type FindToolchainParameters = {
  /** A Python interpreter with `ezkl` installed; default `$VERITY_EZKL_PYTHON`, else `.venv/bin/python` of the project. */
  python?: string | undefined
}

const here = dirname(fileURLToPath(import.meta.url))
const projectRoot = resolve(here, '..', '..')
const SETUP_HINT =
  'Run `bash scripts/setup-toolchain.sh` (creates .venv/ with ezkl==21.0.0) or set VERITY_EZKL_PYTHON to a Python with ezkl 21.0.0.'

/**
 * Finds the toolchain bridge script beside the compiled module (`dist/proofs/`, copied there by
 * `scripts/copy-assets.mjs` at build) or in the sources (`src/proofs/`, when run from TypeScript or
 * from a build without the copy). `moduleDirectory` is the folder of this module.
 *
 * @example
 * ```ts
 * toolchainScriptPath({ moduleDirectory: 'node_modules/verity/dist/proofs' })
 * // 'node_modules/verity/dist/proofs/ezkl-toolchain.py'
 * ```
 */
export function toolchainScriptPath(parameters: { moduleDirectory?: string | undefined } = {}): string {
  const directory = resolve(parameters.moduleDirectory ?? here)
  const root = resolve(directory, '..', '..')
  const candidates = [join(directory, 'ezkl-toolchain.py'), join(root, 'src', 'proofs', 'ezkl-toolchain.py')]
  const found = candidates.find((candidate) => existsSync(candidate))
  if (!found)
    throw new ToolchainError('The toolchain bridge script is missing', {
      details: `looked for ${candidates.join(', ')}`,
      hint: 'Rebuild with `npm run build` (it copies src/proofs/ezkl-toolchain.py into dist/), or reinstall Verity.',
      docsPath: 'proofs.md',
    })
  return found
}

/**
 * Runs one request through `src/proofs/ezkl-toolchain.py` and returns its JSON answer.
 * Failures the script reports (`{ ok: false }`) become {@link ToolchainError}s.
 *
 * @example
 * ```ts
 * const answer = await runToolchain(toolchain, { command: 'version' })
 * ```
 */
export async function runToolchain(
  toolchain: Pick<Toolchain, 'python' | 'script'>,
  request: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const child = spawn(toolchain.python, [toolchain.script], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', RUST_LOG: process.env.RUST_LOG ?? 'error' },
    ...(signal ? { signal } : {}),
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000)
  })
  child.stdin.end(JSON.stringify({ expectVersion: EZKL_VERSION, ...request }))
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    child.on('error', reject)
    child.on('close', resolvePromise)
  }).catch((cause: NodeJS.ErrnoException) => {
    throw new ToolchainError('Could not start the EZKL toolchain', {
      details: `${toolchain.python}: ${cause.message}`,
      hint: SETUP_HINT,
      docsPath: 'proofs.md',
      cause,
    })
  })
  const last = stdout.trim().split('\n').pop() ?? ''
  let answer: Record<string, unknown> | undefined
  try {
    answer = JSON.parse(last) as Record<string, unknown>
  } catch {
    answer = undefined
  }
  if (!answer)
    throw new ToolchainError('The EZKL toolchain failed', {
      details: `exit ${code}; stderr: ${stderr.trim().slice(-2000)}`,
      hint: SETUP_HINT,
      docsPath: 'proofs.md',
    })
  if (answer.ok !== true) {
    const kind = String(answer.kind)
    const hints: Record<string, string> = {
      missing: SETUP_HINT,
      'wrong-version': SETUP_HINT,
      'unsupported-model':
        'EZKL supports a subset of ONNX (Gemm/MatMul, Conv, Relu, Sigmoid, ...): export the model with supported ops, opset <= 17, static shapes.',
      'calibration-failed': 'Check that the sample matches the model inputs (EZKL input.json format: {"input_data": [[...]]}).',
      'mock-failed': 'Calibrate on a more representative sample, or raise the scales.',
      'setup-failed': 'Check the SRS: it must be a KZG SRS with at least as many rows as the circuit (logrows).',
    }
    throw new ToolchainError(String(answer.message), {
      details: `${String(answer.details ?? '').slice(0, 2000)}`,
      hint: hints[kind] ?? SETUP_HINT,
      docsPath: 'proofs.md',
      meta: { kind },
    })
  }
  return answer
}

/**
 * Finds the pinned EZKL toolchain and checks its version, or throws a {@link ToolchainError}
 * that says how to install it.
 *
 * @example
 * ```ts
 * const toolchain = await findToolchain()
 * toolchain.version // '21.0.0'
 * ```
 */
export async function findToolchain(parameters: FindToolchainParameters = {}): Promise<Toolchain> {
  const python = parameters.python ?? process.env.VERITY_EZKL_PYTHON ?? join(projectRoot, '.venv', 'bin', 'python')
  if (python.includes('/') && !existsSync(python))
    throw new ToolchainError('The EZKL toolchain is not installed', {
      details: `${python} does not exist`,
      hint: SETUP_HINT,
      docsPath: 'proofs.md',
    })
  const script = toolchainScriptPath()
  const answer = await runToolchain({ python, script }, { command: 'version' })
  const version = String(answer.version)
  if (version !== EZKL_VERSION)
    throw new ToolchainError(`ezkl ${version} is installed, Verity needs ${EZKL_VERSION}`, {
      details: `EZKL's files are bincode locked to the exact version of @ezkljs/engine (${EZKL_VERSION}).`,
      hint: SETUP_HINT,
      docsPath: 'proofs.md',
    })
  return { python, script, version }
}
