import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AbortedError, InvalidInputError, ProofError, ProverBusyError } from '../../src/errors.js'
import { buildModelPackage } from '../../src/proofs/build-model-package.js'
import { loadModelPackage, type ModelPackage } from '../../src/proofs/model-package.js'
import { verifyProof } from '../../src/proofs/prove.js'
import { createProverPool, type ProverPool } from '../../src/proofs/prover-pool.js'
import { runWitness } from '../../src/proofs/witness.js'
import { SHARED_FIXTURES } from '../shared-fixtures.js'

// A small real circuit (EZKL's 1l_relu example) built with the pinned toolchain: every proof here is real.
const EXAMPLE = join(process.env.VERITY_EZKL_ONNX ?? join(SHARED_FIXTURES, 'ezkl', 'onnx'), '1l_relu')
const work = mkdtempSync(join(tmpdir(), 'verity-pool-'))
let model: ModelPackage
let witness: Uint8Array

beforeAll(async () => {
  const sample = JSON.parse(readFileSync(join(EXAMPLE, 'input.json'), 'utf8')) as { input_data: number[][] }
  await buildModelPackage({ model: join(EXAMPLE, 'network.onnx'), sample, out: join(work, 'pkg'), srs: 'dev' })
  model = loadModelPackage({ dir: join(work, 'pkg'), cacheDir: join(work, 'pk-cache') })
  witness = (await runWitness({ package: model, input: sample.input_data })).witness
}, 180_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Every worker thread a pool starts, and whether it has exited. */
function tracked() {
  const workers: Array<{ worker: Worker; workerIndex: number; exited: Promise<number> }> = []
  return {
    workers,
    onWorker: ({ worker, workerIndex }: { worker: Worker; workerIndex: number }) => {
      workers.push({ worker, workerIndex, exited: new Promise((resolve) => worker.once('exit', resolve)) })
    },
    /** Resolves when every started worker has exited (fails the test by timeout otherwise). */
    allExited: () => Promise.all(workers.map((entry) => entry.exited)),
  }
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  )

describe('prover pool', () => {
  it('back-pressure: a full queue throws ProverBusyError; closing without drain cancels the rest', async () => {
    const lifecycle = tracked()
    const pool = createProverPool({ workers: 1, maxQueue: 1, onWorker: lifecycle.onWorker })
    const running = pool.submit({ package: model, witness })
    const queued = pool.submit({ package: model, witness })
    expect(pool.stats()).toMatchObject({ queued: 1, running: 1 })
    let busy: unknown
    try {
      pool.submit({ package: model, witness })
    } catch (error) {
      busy = error
    }
    expect(busy).toBeInstanceOf(ProverBusyError)
    expect((busy as ProverBusyError).meta).toEqual({ queued: 1, running: 1 })
    expect(pool.stats()).toMatchObject({ queued: 1, running: 1 })

    await pool.close({ drain: false })
    expect(await rejection(running.result)).toBeInstanceOf(AbortedError)
    expect(await rejection(queued.result)).toBeInstanceOf(AbortedError)
    expect(() => pool.submit({ package: model, witness })).toThrow(ProverBusyError)
    await lifecycle.allExited()
    expect(lifecycle.workers).toHaveLength(1)
  }, 60_000)

  it('rejects malformed submissions with a typed error', async () => {
    const pool = createProverPool({ workers: 1 })
    try {
      expect(() => pool.submit({ package: model, witness: 'not bytes' as unknown as Uint8Array })).toThrow(InvalidInputError)
      expect(() => pool.submit({ package: {} as ModelPackage, witness })).toThrow(InvalidInputError)
      expect(pool.stats()).toMatchObject({ queued: 0, running: 0 })
    } finally {
      await pool.close()
    }
  })

  it('progress events come in order per job; close() drains queued jobs, then ends every worker', async () => {
    const lifecycle = tracked()
    const pool = createProverPool({ workers: 1, onWorker: lifecycle.onWorker })
    const events: string[] = []
    pool
      .on('proof-queued', ({ jobId }) => events.push(`queued ${jobId}`))
      .on('proof-started', ({ jobId, workerIndex }) => events.push(`started ${jobId} on ${workerIndex}`))
      .on('proof-finished', ({ jobId, verified }) => events.push(`finished ${jobId} verified=${verified}`))
      .on('proof-failed', ({ jobId }) => events.push(`failed ${jobId}`))
      .on('pool-closed', () => events.push('closed'))
    const first = pool.submit({ package: model, witness })
    const second = pool.submit({ package: model, witness })
    await pool.close()
    expect(events).toEqual([
      `queued ${first.id}`,
      `started ${first.id} on 0`,
      `queued ${second.id}`,
      `finished ${first.id} verified=true`,
      `started ${second.id} on 0`,
      `finished ${second.id} verified=true`,
      'closed',
    ])
    for (const job of [first, second]) {
      const result = await job.result
      expect(result.verified).toBe(true)
      expect(verifyProof({ proof: result.proof, vk: model.vk, settings: model.settings, srs: model.srs })).toBe(true)
    }
    await lifecycle.allExited()
    expect(lifecycle.workers).toHaveLength(1)
    expect(pool.stats()).toMatchObject({ queued: 0, running: 0 })
  }, 180_000)

  it('cancellation: before queueing, while queued, and while running (the worker is recycled)', async () => {
    const lifecycle = tracked()
    const pool: ProverPool = createProverPool({ workers: 1, onWorker: lifecycle.onWorker })
    const failed: number[] = []
    const finished: number[] = []
    pool.on('proof-failed', ({ jobId }) => failed.push(jobId)).on('proof-finished', ({ jobId }) => finished.push(jobId))
    try {
      // already aborted: refused synchronously, nothing queued
      expect(() => pool.submit({ package: model, witness, signal: AbortSignal.abort() })).toThrow(AbortedError)
      expect(pool.stats()).toMatchObject({ queued: 0, running: 0 })

      const runningController = new AbortController()
      const queuedController = new AbortController()
      const running = pool.submit({ package: model, witness, signal: runningController.signal })
      const queued = pool.submit({ package: model, witness, signal: queuedController.signal })
      expect(pool.stats()).toMatchObject({ queued: 1, running: 1 })

      queuedController.abort()
      expect(await rejection(queued.result)).toBeInstanceOf(AbortedError)
      expect(pool.stats()).toMatchObject({ queued: 0, running: 1 })
      expect(lifecycle.workers).toHaveLength(1)

      runningController.abort()
      expect(await rejection(running.result)).toBeInstanceOf(AbortedError)
      expect(pool.stats()).toMatchObject({ queued: 0, running: 0 })
      // the worker that was proving is terminated and replaced
      expect(typeof (await lifecycle.workers[0]?.exited)).toBe('number')
      expect(lifecycle.workers.map((entry) => entry.workerIndex)).toEqual([0, 0])

      // the replacement proves the next job
      const next = await pool.submit({ package: model, witness }).result
      expect(next.verified).toBe(true)
      expect(failed.sort()).toEqual([running.id, queued.id].sort())
      expect(finished).toHaveLength(1)
    } finally {
      await pool.close()
    }
    await lifecycle.allExited()
  }, 180_000)

  it('a crashed worker fails only its own job, with a typed error, and is replaced', async () => {
    const lifecycle = tracked()
    const pool = createProverPool({ workers: 2, onWorker: lifecycle.onWorker })
    const started = new Map<number, number>()
    const bothStarted = new Promise<void>((resolve) =>
      pool.on('proof-started', ({ jobId, workerIndex }) => {
        started.set(jobId, workerIndex)
        if (started.size === 2) resolve()
      }),
    )
    try {
      const victim = pool.submit({ package: model, witness })
      const survivor = pool.submit({ package: model, witness })
      await bothStarted
      const victimIndex = started.get(victim.id) as number
      expect(started.get(survivor.id)).not.toBe(victimIndex)
      // kill the victim's thread from outside, as a fatal crash would
      await lifecycle.workers.find((entry) => entry.workerIndex === victimIndex)?.worker.terminate()

      const error = await rejection(victim.result)
      expect(error).toBeInstanceOf(ProofError)
      expect((error as ProofError).shortMessage).toBe('The prover worker failed')
      expect((error as ProofError).details).toMatch(/prover worker exited with code/)
      const result = await survivor.result
      expect(result.verified).toBe(true)
      // one replacement, at the crashed worker's index
      expect(lifecycle.workers.map((entry) => entry.workerIndex).sort()).toEqual([0, 1, victimIndex].sort())
    } finally {
      await pool.close()
    }
    await lifecycle.allExited()
    expect(lifecycle.workers).toHaveLength(3)
  }, 180_000)
})
