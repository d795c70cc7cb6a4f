import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest } from '../../src/crypto/digest.js'
import { ProverJobError } from '../../src/errors.js'
import { FLEET_DEAD_LETTER_QUEUE, FLEET_QUEUE, fleetJobId } from '../../src/proofs/fleet-job.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import { runVerifiableInference } from '../../src/proofs/verifiable-inference.js'
import { runWitness } from '../../src/proofs/witness.js'
import { buildExamplePackage, type FleetFixture, startFleetFixture } from './fleet-fixture.js'
import { killHard } from './redis-server.js'

// The prover fleet with real Redis (AOF on) and real node processes (`verity prover start`).
let fleet: FleetFixture

type NodeEvent = { type: string; jobId?: string; node?: string; reason?: string; final?: boolean }
type Node = {
  child: ChildProcess
  events: NodeEvent[]
  address: Promise<string>
  next: (type: string, jobId?: string) => Promise<NodeEvent>
}

function startNode(name: string, models: string): Node {
  const node = fleet.spawnNode({
    name,
    models,
    passphrase: 'fleet-test-passphrase',
    args: ['--lock-ms', '4000'],
    onLine: (line) => onEvent(line as NodeEvent),
  })
  const child = node.child
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`prover node ${name} exited ${code}: ${node.stderr()}\n`)
  })
  const events: NodeEvent[] = []
  const waiters: Array<{ type: string; jobId?: string | undefined; resolve: (event: NodeEvent) => void }> = []
  function onEvent(event: NodeEvent) {
    events.push(event)
    if (event.type === 'job-failed' && event.final) events.push({ ...event, type: 'job-failed-final' })
    for (const pushed of events.slice(-2))
      for (const waiter of [...waiters])
        if (waiter.type === pushed.type && (waiter.jobId === undefined || waiter.jobId === pushed.jobId)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(pushed)
        }
  }
  const next = (type: string, jobId?: string) =>
    new Promise<NodeEvent>((resolveEvent) => {
      const seen = events.find((event) => event.type === type && (jobId === undefined || event.jobId === jobId))
      if (seen) resolveEvent(seen)
      else waiters.push({ type, jobId, resolve: resolveEvent })
    })
  return { child, events, address: next('node-started').then((event) => String(event.node)), next }
}

beforeAll(async () => {
  fleet = await startFleetFixture({
    prefix: 'verity-fleet-',
    queue: { attempts: 2, backoffMs: 200, timeoutMs: 240_000 },
  })
  // a package with the same name and another circuit: another digest
  await buildExamplePackage({ example: '1l_linear', out: join(fleet.work, 'wrong-models', 'risk'), name: 'risk' })
}, 300_000)

afterAll(() => fleet?.stop())

describe('prover fleet on Redis/BullMQ', () => {
  it('a node killed -9 mid-proof: the job completes on another node exactly once; the verified receipt is signed by it; proving it again is the same job', async () => {
    const { model, queueProver } = fleet
    const first = startNode('node-a', fleet.models)
    await first.address
    const run = await runVerifiableInference({ package: model, input: [[0.5, -1, 2]], prover: queueProver })
    const jobId = fleetJobId(run.receipt.id)
    await first.next('job-started', jobId)
    await killHard(first.child) // mid-proof: the node had the job's lock
    const second = startNode('node-b', fleet.models)
    const secondAddress = await second.address
    const settled = await (run.settled as NonNullable<typeof run.settled>)
    expect(settled.receipt.error).toBeUndefined()
    expect(settled.receipt.status).toBe('verified')
    expect(settled.receipt.prover?.address).toBe(secondAddress)
    const verdict = verifyReceipt({ receipt: settled.receipt, proof: settled.proof as Uint8Array, package: model })
    expect(verdict.checks.filter((check) => !check.ok)).toEqual([])
    expect(verdict.prover).toBe(secondAddress)
    expect(first.events.filter((event) => event.type === 'job-completed')).toEqual([])
    await second.next('job-completed', jobId) // the node's own event may trail the enqueuer's result
    expect(second.events.filter((event) => event.type === 'job-completed' && event.jobId === jobId)).toHaveLength(1)

    // idempotent: the same claim proven again is the same job, the same proof, no new proving
    const witness = await runWitness({ package: model, input: [[0.5, -1, 2]] })
    const again = await queueProver.prove({ package: model, witness: witness.witness, receiptId: run.receipt.id })
    expect(digest(again.proof)).toBe(settled.receipt.proofDigest)
    expect(second.events.filter((event) => event.type === 'job-started' && event.jobId === jobId)).toHaveLength(1)

    // Redis killed and restarted (AOF): a job acknowledged before is not lost
    const acknowledged = new Promise<void>((resolveQueued) => queueProver.on('proof-queued', () => resolveQueued()))
    const pending = await runVerifiableInference({ package: model, input: [[1, 1, -1]], prover: queueProver })
    await acknowledged // queue.add resolved: Redis has the job (AOF, fsync always)
    await fleet.redis.restart() // kill -9, then up again on the same AOF
    const after = await (pending.settled as NonNullable<typeof pending.settled>)
    expect(after.receipt.status).toBe('verified')
    expect(after.receipt.prover?.address).toBe(secondAddress)

    // graceful shutdown: SIGTERM, the node says it stopped and exits 0
    const exited = new Promise<number | null>((resolveExit) => second.child.once('exit', (code) => resolveExit(code)))
    second.child.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 400_000)

  it('a malformed job is dead-lettered with its reason; a node with a wrong package refuses it, and the receipt fails', async () => {
    const { model, queueProver } = fleet
    const node = startNode('node-c', join(fleet.work, 'wrong-models'))
    await node.address
    const connection = new Redis(fleet.redis.url, { maxRetriesPerRequest: null })
    const queue = new Queue(FLEET_QUEUE, { connection })
    const dead = new Queue(FLEET_DEAD_LETTER_QUEUE, { connection })
    try {
      await queue.add('prove', { format: 'verity-proof-job/v0', witness: 42 }, { jobId: 'malformed-1', attempts: 3 })
      const malformed = await node.next('job-failed', 'malformed-1')
      expect(malformed.final).toBe(true)
      expect(malformed.reason).toMatch(/malformed job/)

      const run = await runVerifiableInference({ package: model, input: [[2, 0, 1]], prover: queueProver })
      const settled = await (run.settled as NonNullable<typeof run.settled>)
      expect(settled.receipt.status).toBe('failed') // what require-verified refuses to act on
      const jobId = fleetJobId(run.receipt.id)
      await node.next('job-failed-final', jobId)
      const refusals = node.events.filter((event) => event.type === 'job-failed' && event.jobId === jobId)
      expect(refusals.length).toBe(2) // both attempts refused
      expect(refusals[0]?.reason).toContain(`the job needs ${model.digest}`)

      const letters = async () => (await dead.getJobs(['waiting'])).map((job) => job.data as { jobId: string; reason: string })
      for (let tries = 0; tries < 50 && (await letters()).length < 2; tries++) await new Promise((r) => setTimeout(r, 100))
      const byId = new Map((await letters()).map((letter) => [letter.jobId, letter.reason]))
      expect(byId.get('malformed-1')).toMatch(/malformed job/)
      expect(byId.get(jobId)).toMatch(/refused/)
      await expect(
        queueProver.prove({ package: model, witness: new Uint8Array([1]), receiptId: digest(new Uint8Array([7])) }),
      ).rejects.toBeInstanceOf(ProverJobError)
    } finally {
      await queue.close()
      await dead.close()
      connection.disconnect()
      await killHard(node.child)
    }
  }, 180_000)
})
