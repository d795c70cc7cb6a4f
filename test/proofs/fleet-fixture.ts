import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildModelPackage } from '../../src/proofs/build-model-package.js'
import { loadModelPackage, type ModelPackage } from '../../src/proofs/model-package.js'
import type { ProverBackend } from '../../src/proofs/prover-backend.js'
import { type CreateQueueProverParameters, createQueueProver } from '../../src/proofs/queue-backend.js'
import { SHARED_FIXTURES } from '../shared-fixtures.js'
import { type ProverNodeProcess, spawnProverNode } from './prover-node-process.js'
import { killHard, type LoopbackRedis, startLoopbackRedis } from './redis-server.js'

/** EZKL's ONNX examples in the shared fixtures (override with VERITY_EZKL_ONNX). */
export const ONNX_EXAMPLES = process.env.VERITY_EZKL_ONNX ?? join(SHARED_FIXTURES, 'ezkl', 'onnx')

/**
 * Builds a model package (dev SRS) from one of EZKL's ONNX examples with the pinned toolchain.
 *
 * @example
 * ```ts
 * await buildExamplePackage({ example: '1l_linear', out: join(work, 'wrong-models', 'risk'), name: 'risk' })
 * ```
 */
export async function buildExamplePackage(parameters: { example: string; out: string; name: string }): Promise<void> {
  await buildModelPackage({
    model: join(ONNX_EXAMPLES, parameters.example, 'network.onnx'),
    sample: JSON.parse(readFileSync(join(ONNX_EXAMPLES, parameters.example, 'input.json'), 'utf8')),
    out: parameters.out,
    srs: 'dev',
    name: parameters.name,
  })
}

/** What {@link startFleetFixture} set up; {@link FleetFixture.stop} takes it all down. */
export type FleetFixture = {
  /** The fixture's temp folder: `redis/` (the AOF), `models/risk/`, and whatever the test puts there (node homes). */
  work: string
  /** The models folder prover nodes load (`--models`): one package, `risk`. */
  models: string
  /** Debian's redis-server on a loopback port of this fixture, AOF with fsync always. */
  redis: LoopbackRedis
  /** The `risk` package: EZKL's 1l_relu example, built with the pinned toolchain. */
  model: ModelPackage
  /** A queue prover on `redis`, with the options the test asked for. */
  queueProver: ProverBackend
  /**
   * A `verity prover start` node process ({@link spawnProverNode}) on this fixture's Redis, its home `work/NAME`,
   * loading `models` (default: the fixture's); {@link FleetFixture.stop} kills it.
   */
  spawnNode(parameters: {
    name: string
    models?: string | undefined
    passphrase: string
    args?: string[] | undefined
    onLine?: ((event: Record<string, unknown>) => void) | undefined
  }): ProverNodeProcess
  /** Closes the queue prover, kills the nodes and Redis, removes `work`. */
  stop(): Promise<void>
}

/**
 * The prover fleet tests' common ground: Redis on a free loopback port, the 1l_relu `risk` package
 * built into `models/`, a queue prover on that Redis, and prover node processes on demand. Call it in `beforeAll` (the build takes a
 * while: give the hook minutes) and `stop()` in `afterAll`.
 *
 * @example
 * ```ts
 * let fleet: FleetFixture
 * beforeAll(async () => {
 *   fleet = await startFleetFixture({ prefix: 'verity-fleet-', queue: { attempts: 2, backoffMs: 200, timeoutMs: 240_000 } })
 * }, 300_000)
 * afterAll(() => fleet?.stop())
 * ```
 */
export async function startFleetFixture(parameters: {
  /** The temp folder's name prefix. */
  prefix: string
  /** The queue prover's options (its `redis` is the fixture's). */
  queue: Omit<CreateQueueProverParameters, 'redis'>
}): Promise<FleetFixture> {
  const work = mkdtempSync(join(tmpdir(), parameters.prefix))
  const children: ChildProcess[] = []
  let redis: LoopbackRedis | undefined
  let queueProver: ProverBackend | undefined
  const stop = async () => {
    await queueProver?.close().catch(() => {})
    for (const child of children) await killHard(child)
    await redis?.stop()
    rmSync(work, { recursive: true, force: true })
  }
  try {
    redis = await startLoopbackRedis({ dir: join(work, 'redis') })
    const models = join(work, 'models')
    await buildExamplePackage({ example: '1l_relu', out: join(models, 'risk'), name: 'risk' })
    const model = loadModelPackage({ dir: join(models, 'risk') })
    queueProver = await createQueueProver({ ...parameters.queue, redis: redis.url })
    return {
      work,
      models,
      redis,
      model,
      queueProver,
      spawnNode({ name, models: nodeModels, ...rest }) {
        const node = spawnProverNode({
          ...rest,
          redis: (redis as LoopbackRedis).url,
          models: nodeModels ?? models,
          home: join(work, name),
        })
        children.push(node.child)
        return node
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
