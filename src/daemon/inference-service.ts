import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { NotFoundError } from '../errors.js'
import {
  createProver,
  loadModelPackage,
  type ModelPackage,
  type ProverBackend,
  type ProverSigner,
  type Receipt,
  runVerifiableInference,
  verifyReceipt,
} from '../proofs/index.js'
import { MODEL_MANIFEST_FILE } from '../proofs/model-package.js'
import { receiptDirectory } from '../tools/index.js'

/** zod schema of `POST /v1/infer`. */
export const inferRequestSchema = z.object({
  model: z.string().min(1).max(200),
  input: z.array(z.array(z.number().finite()).max(1_000_000)).min(1).max(64),
  prove: z.boolean().default(true),
})
export type InferRequest = z.infer<typeof inferRequestSchema>

/** zod schema of `POST /v1/verify`: a receipt and its proof (base64). */
export const verifyRequestSchema = z.object({
  receipt: z.record(z.string(), z.unknown()),
  proof: z
    .string()
    .min(1)
    .max(64 * 1024 * 1024),
})

export type InferenceResult = { output: number[][]; receipt: Receipt }

export type InferenceService = {
  models(): { name: string; version: string; digest: string }[]
  /** The package of a model by name or digest. */
  model(nameOrDigest: string): ModelPackage
  infer(parameters: { owner: string; request: InferRequest }): Promise<InferenceResult>
  /** The latest receipt the owner asked for, with its proof when proven. */
  receipt(owner: string, id: string): { receipt: Receipt; proof: Uint8Array | undefined }
  verify(parameters: { receipt: unknown; proof: Uint8Array }): ReturnType<typeof verifyReceipt>
  /** Resolves when the receipt settles (verified or failed). */
  settled(owner: string, id: string): Promise<Receipt>
  /** Listen to receipt status changes (for SSE). */
  subscribe(listener: (owner: string, receipt: Receipt) => void): () => void
  /** The prover backend shared with agent runs (created on first use, from the daemon's `prover`/`redis` settings). */
  prover(): Promise<ProverBackend>
  /** Closes the prover backend; without `drain`, proofs still running are cancelled first (their receipts fail). */
  close(parameters?: { drain?: boolean | undefined }): Promise<void>
}
export type CreateInferenceServiceParameters = {
  /** Model package folders, or folders of packages. */
  modelDirectories: string[]
  /** Where receipts and proofs of `infer` calls are kept. */
  receiptsDirectory: string
  /** Prover backend: `auto` (default: native when the toolchain is installed, else wasm), `native`, `wasm` or `queue`. */
  prover?: 'auto' | 'native' | 'wasm' | 'queue' | undefined
  /** Redis URL of a prover fleet; implies `queue` when `prover` is unset. */
  redis?: string | undefined
  /** Worker threads of the `wasm` backend. */
  proverWorkers?: number | undefined
  /** Signs the proofs a local (native or wasm) backend makes: the receipt records who proved it. Fleet nodes sign with their own keys. */
  signer?: ProverSigner | undefined
}
export type CreateInferenceServiceReturnType = InferenceService

/**
 * Verifiable inference for the daemon: witness output at once, proofs through the prover backend (`createProver`:
 * native, wasm or a fleet over Redis) in the background, receipts kept per owner and written durably (receipt directory).
 *
 * @example
 * ```ts
 * const inference = createInferenceService({ modelDirectories: ['models'], receiptsDirectory: join(home, 'receipts') })
 * const { receipt } = await inference.infer({ owner: 'alice', request: { model: 'transaction-risk', input, prove: true } })
 * ```
 */
export function createInferenceService(parameters: CreateInferenceServiceParameters): CreateInferenceServiceReturnType {
  const receipts = receiptDirectory({ dir: parameters.receiptsDirectory })
  let packages: ModelPackage[] | undefined
  let prover: Promise<ProverBackend> | undefined
  // aborts the proofs still running when the service closes without draining
  const stopping = new AbortController()
  const owners = new Map<string, { owner: string; receipt: Receipt; settled: Promise<Receipt> }>()
  const listeners = new Set<(owner: string, receipt: Receipt) => void>()
  const load = () => {
    packages ??= parameters.modelDirectories.flatMap((dir) => {
      const folder = resolve(dir)
      if (!existsSync(folder)) return []
      if (existsSync(join(folder, MODEL_MANIFEST_FILE))) return [loadModelPackage({ dir: folder })]
      return readdirSync(folder)
        .filter((name) => existsSync(join(folder, name, MODEL_MANIFEST_FILE)))
        .map((name) => loadModelPackage({ dir: join(folder, name) }))
    })
    return packages
  }
  const service: InferenceService = {
    models: () => load().map((item) => ({ name: item.manifest.name, version: item.manifest.version, digest: item.digest })),
    model(nameOrDigest) {
      const found = load().find((item) => item.manifest.name === nameOrDigest || item.digest === nameOrDigest)
      if (!found) throw new NotFoundError('No such model', { details: nameOrDigest, hint: 'List models with GET /v1/models.' })
      return found
    },
    async infer({ owner, request }) {
      const pkg = service.model(request.model)
      const notify = (receipt: Receipt, proof: Uint8Array | undefined) => {
        if (receipt.status !== 'pending') receipts.save(receipt, proof)
        const entry = owners.get(receipt.id)
        if (entry) entry.receipt = receipt
        for (const listener of listeners) listener(owner, receipt)
      }
      const result = await runVerifiableInference({
        package: pkg,
        input: request.input,
        ...(request.prove ? { prover: await service.prover(), signal: stopping.signal } : {}),
        onReceipt: notify,
      })
      const settled = result.settled
        ? result.settled.then(({ receipt, proof }) => {
            receipts.save(receipt, proof)
            return receipt
          })
        : Promise.resolve(result.receipt)
      settled.catch(() => undefined)
      const known = owners.get(result.receipt.id)
      if (!known || known.receipt.status === 'pending') owners.set(result.receipt.id, { owner, receipt: result.receipt, settled })
      return { output: result.output, receipt: result.receipt }
    },
    receipt(owner, id) {
      const entry = owners.get(id)
      const stored = entry?.owner === owner ? receipts.load(id) : undefined
      if (!entry || entry.owner !== owner) throw new NotFoundError('No such receipt', { details: id })
      return stored ? { receipt: stored.receipt as Receipt, proof: stored.proof } : { receipt: entry.receipt, proof: undefined }
    },
    verify: ({ receipt, proof }) => {
      const modelDigest = (receipt as { model?: { digest?: unknown } }).model?.digest
      const pkg = service.model(typeof modelDigest === 'string' ? modelDigest : '')
      return verifyReceipt({ receipt, proof, package: pkg })
    },
    settled(owner, id) {
      const entry = owners.get(id)
      if (!entry || entry.owner !== owner) return Promise.reject(new NotFoundError('No such receipt', { details: id }))
      return entry.settled
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    prover() {
      prover ??= createProver({
        kind: parameters.prover ?? (parameters.redis ? 'queue' : undefined),
        redis: parameters.redis,
        workers: parameters.proverWorkers ?? 1,
        signer: parameters.signer,
      })
      // a failed start (no toolchain for native, Redis unreachable) is retried on the next call
      prover.catch(() => {
        prover = undefined
      })
      return prover
    },
    async close({ drain = false } = {}) {
      if (!drain) stopping.abort()
      const opened = prover
      prover = undefined
      await (await opened?.catch(() => undefined))?.close()
    },
  }
  return service
}
