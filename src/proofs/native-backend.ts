import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { digest } from '../crypto/digest.js'
import { AbortedError, ProofError, ProverBusyError, ProverCrashedError } from '../errors.js'
import { backendEvents } from './backend-events.js'
import type { ModelPackage } from './model-package.js'
import { normalizeProof } from './proof-file.js'
import { signProverAttestation } from './prover-attestation.js'
import type { BackendProveReturnType, ProverBackend, ProverBackendOptions } from './prover-backend.js'
import { findToolchain } from './toolchain.js'

export type CreateNativeProverParameters = ProverBackendOptions & {
  /** A Python with ezkl 21.0.0 (default: the toolchain `findToolchain` finds). */
  python?: string | undefined
  /** Verify each proof natively right after proving it (default true, ~10 ms). */
  verify?: boolean | undefined
  /** Observe each worker process started (the first one, and each restart after a crash). */
  onWorker?: ((event: { pid: number }) => void) | undefined
}

type Pending = { resolve: (answer: Record<string, unknown>) => void; reject: (error: Error) => void }
type Worker = { child: ChildProcessWithoutNullStreams; ready: Promise<void>; pending: Map<number, Pending> }

/**
 * The `native` backend: the pinned `ezkl` 21.0.0 Python package (native Rust, multi-threaded) in one
 * long-lived worker process, spoken to in JSON lines over stdio (`ezkl-toolchain.py --serve`).
 * Each package's files are written once to a private folder (the proving key regenerated once, if
 * the package does not ship it); proofs run one at a time (EZKL uses every core). A worker that dies
 * fails its job with {@link ProverCrashedError} and is restarted for the next job. Proofs come back
 * in normal form and verify with the engine, and the other way round.
 *
 * @example
 * ```ts
 * const prover = await createNativeProver()
 * const { proof, verified } = await prover.prove({ package: model, witness })
 * ```
 */
export async function createNativeProver(parameters: CreateNativeProverParameters = {}): Promise<ProverBackend> {
  const toolchain = await findToolchain({ python: parameters.python })
  const verifyAfter = parameters.verify ?? true
  const events = backendEvents()
  const work = mkdtempSync(join(tmpdir(), 'verity-native-'))
  const held = new Map<string, { dir: string; pk: string }>()
  let worker: Worker | undefined
  let nextRequest = 1
  let closed = false
  let chain: Promise<unknown> = Promise.resolve()
  let queued = 0
  let running = 0

  const startWorker = (): Worker => {
    const child = spawn(toolchain.python, [toolchain.script, '--serve'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', RUST_LOG: process.env.RUST_LOG ?? 'error' },
    })
    const pending = new Map<number, Pending>()
    // a write to a worker that just died: its exit fails the pending jobs
    child.stdin.on('error', () => {})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000)
    })
    let markReady: () => void = () => {}
    let failReady: (error: Error) => void = () => {}
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve
      failReady = reject
    })
    ready.catch(() => {})
    createInterface({ input: child.stdout }).on('line', (line) => {
      let answer: Record<string, unknown>
      try {
        answer = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      if (answer.type === 'ready') return markReady()
      const entry = pending.get(Number(answer.id))
      if (!entry) return
      pending.delete(Number(answer.id))
      entry.resolve(answer)
    })
    const onGone = (reason: string) => {
      if (worker?.child === child) worker = undefined
      const error = new ProverCrashedError('The native prover worker died', {
        details: `${reason}; stderr: ${stderr.trim().slice(-1000)}`,
        hint: 'The worker is restarted for the next job; retry this one.',
        docsPath: 'proofs.md',
      })
      failReady(error)
      for (const entry of pending.values()) entry.reject(error)
      pending.clear()
    }
    child.on('exit', (code, signal) => onGone(`exit ${code ?? signal}`))
    child.on('error', (error) => onGone(error.message))
    if (child.pid) parameters.onWorker?.({ pid: child.pid })
    return { child, ready, pending }
  }

  const call = async (request: Record<string, unknown>): Promise<Record<string, unknown>> => {
    worker ??= startWorker()
    const current = worker
    await current.ready
    const id = nextRequest++
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => current.pending.set(id, { resolve, reject }))
    current.child.stdin.write(`${JSON.stringify({ ...request, id })}\n`)
    return answer
  }

  const filesOf = (model: ModelPackage): { dir: string; pk: string } => {
    const known = held.get(model.digest)
    if (known) return known
    const dir = join(work, model.digest.slice('sha256:'.length, 'sha256:'.length + 16))
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const write = (name: string, bytes: Uint8Array) => {
      const path = join(dir, name)
      if (!existsSync(path)) writeFileSync(path, bytes, { mode: 0o600 })
      return path
    }
    write('model.compiled', model.compiled)
    write('settings.json', model.settings)
    write('vk.key', model.vk)
    write('kzg.srs', model.srs)
    const files = { dir, pk: write('pk.key', model.provingKey()) }
    held.set(model.digest, files)
    return files
  }

  const verifyFile = async (model: ModelPackage, proofPath: string): Promise<boolean> => {
    const { dir } = filesOf(model)
    const answer = await call({
      op: 'verify',
      proof: proofPath,
      settings: join(dir, 'settings.json'),
      vk: join(dir, 'vk.key'),
      srs: join(dir, 'kzg.srs'),
    })
    return answer.ok === true && answer.valid === true
  }

  /** Runs one job after the previous one (EZKL already uses every core). */
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    queued++
    const result = chain.then(
      () => {
        queued--
        running++
        return task().finally(() => {
          running--
        })
      },
      () => {
        queued--
        running++
        return task().finally(() => {
          running--
        })
      },
    )
    chain = result.catch(() => {})
    return result
  }

  const backend: ProverBackend = {
    specificationVersion: 'v1',
    kind: 'native',
    prove({ package: model, witness, receiptId, signal }) {
      if (closed) return Promise.reject(new ProverBusyError('The native prover is closed'))
      if (signal?.aborted) return Promise.reject(new AbortedError('The proof was cancelled before it was queued'))
      const jobId = receiptId ?? `native-${nextRequest}`
      events.emit('proof-queued', { jobId })
      return serial(async (): Promise<BackendProveReturnType> => {
        if (signal?.aborted) throw new AbortedError('The proof was cancelled')
        events.emit('proof-started', { jobId })
        try {
          const files = filesOf(model)
          const name = digest(witness).slice('sha256:'.length, 'sha256:'.length + 16)
          const witnessPath = join(files.dir, `${name}.witness.json`)
          const proofPath = join(files.dir, `${name}.proof.json`)
          writeFileSync(witnessPath, witness, { mode: 0o600 })
          const onAbort = () => worker?.child.kill('SIGKILL')
          signal?.addEventListener('abort', onAbort, { once: true })
          let answer: Record<string, unknown>
          try {
            answer = await call({
              op: 'prove',
              witness: witnessPath,
              compiled: join(files.dir, 'model.compiled'),
              pk: files.pk,
              proof: proofPath,
              srs: join(files.dir, 'kzg.srs'),
            })
          } catch (error) {
            if (signal?.aborted) throw new AbortedError('The proof was cancelled', { cause: error })
            throw error
          } finally {
            signal?.removeEventListener('abort', onAbort)
            rmSync(witnessPath, { force: true })
          }
          if (answer.ok !== true)
            throw new ProofError('Native proving failed', { details: String(answer.message), docsPath: 'proofs.md' })
          const proof = normalizeProof(new Uint8Array(readFileSync(proofPath)))
          writeFileSync(proofPath, proof)
          const verified = verifyAfter ? await verifyFile(model, proofPath) : null
          rmSync(proofPath, { force: true })
          const proveMs = Number(answer.ms)
          const prover =
            parameters.signer && receiptId
              ? signProverAttestation({ receiptId, proofDigest: digest(proof), signer: parameters.signer })
              : undefined
          events.emit('proof-finished', { jobId, proveMs })
          return { proof, verified, prover, proveMs }
        } catch (error) {
          events.emit('proof-failed', { jobId, error: error as Error })
          throw error
        }
      })
    },
    verify({ package: model, proof }) {
      return serial(async () => {
        const { dir } = filesOf(model)
        const path = join(dir, `${digest(proof).slice('sha256:'.length, 'sha256:'.length + 16)}.verify.json`)
        writeFileSync(path, proof)
        try {
          return await verifyFile(model, path)
        } catch {
          return false
        } finally {
          rmSync(path, { force: true })
        }
      })
    },
    capacity() {
      return { slots: 1, running, queued }
    },
    models() {
      return [...held.keys()]
    },
    ...events.methods(() => backend),
    async close() {
      if (closed) return
      closed = true
      await chain
      const current = worker
      worker = undefined
      if (current) {
        current.child.stdin.end()
        await new Promise<void>((resolve) => {
          if (current.child.exitCode !== null) return resolve()
          current.child.once('exit', () => resolve())
          setTimeout(() => current.child.kill('SIGKILL'), 5000).unref()
        })
      }
      rmSync(work, { recursive: true, force: true })
      events.emit('backend-closed')
    },
  }
  return backend
}
