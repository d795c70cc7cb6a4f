import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fleetJobId } from '../../src/proofs/fleet-job.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import { runVerifiableInference } from '../../src/proofs/verifiable-inference.js'
import { type FleetFixture, startFleetFixture } from './fleet-fixture.js'

// Issue 12: graceful shutdown of a fleet node WHILE it proves, and the queue backend's progress events.
let fleet: FleetFixture

type NodeEvent = { type: string; jobId?: string; node?: string }

function startNode(name: string) {
  const events: NodeEvent[] = []
  const node = fleet.spawnNode({
    name,
    passphrase: 'fleet-shutdown-passphrase',
    args: ['--lock-ms', '4000'],
    onLine: (line) => events.push(line as NodeEvent),
  })
  const until = async (test: () => boolean, what: string) => {
    for (let attempt = 0; attempt < 2400 && !test(); attempt++) await new Promise((done) => setTimeout(done, 100))
    if (!test()) throw new Error(`${name}: no ${what}: ${node.stderr()}`)
  }
  return { ...node, events, until }
}

beforeAll(async () => {
  fleet = await startFleetFixture({
    prefix: 'verity-fleet-shutdown-',
    queue: { attempts: 2, backoffMs: 200, timeoutMs: 240_000 },
  })
}, 300_000)

afterAll(() => fleet?.stop())

describe('prover fleet: SIGTERM while proving', () => {
  it('the job finishes exactly once (on that node before it exits, or handed back to another), one receipt, the node exits 0; progress events in order', async () => {
    const { model, queueProver } = fleet
    const seen: { type: string; jobId: string | undefined }[] = []
    for (const type of ['proof-queued', 'proof-started', 'proof-progressed', 'proof-finished', 'proof-failed'])
      queueProver.on(type as never, ((payload: { jobId?: string }) => seen.push({ type, jobId: payload?.jobId })) as never)
    const first = startNode('node-a')
    await first.started
    const run = await runVerifiableInference({ package: model, input: [[0.5, -1, 2]], prover: queueProver })
    const jobId = fleetJobId(run.receipt.id)
    await first.until(() => first.events.some((event) => event.type === 'job-started' && event.jobId === jobId), 'job-started')
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      first.child.once('exit', (code, signal) => done({ code, signal })),
    )
    first.child.kill('SIGTERM') // mid-proof
    // A second node stands by, in case the first hands the job back.
    const second = startNode('node-b')
    const secondAddress = await second.started
    const firstAddress = await first.started
    const settled = await (run.settled as NonNullable<typeof run.settled>)
    expect(await exited).toEqual({ code: 0, signal: null })
    expect(settled.receipt.error).toBeUndefined()
    expect(settled.receipt.status).toBe('verified')
    const verdict = verifyReceipt({ receipt: settled.receipt, proof: settled.proof as Uint8Array, package: model })
    expect(verdict.checks.filter((check) => !check.ok)).toEqual([])
    expect([firstAddress, secondAddress]).toContain(settled.receipt.prover?.address)
    // Exactly once: one node completed the job, and it is the one that signed the receipt.
    // (the node's own event may trail the enqueuer's result)
    if (settled.receipt.prover?.address === secondAddress)
      await second.until(
        () => second.events.some((event) => event.type === 'job-completed' && event.jobId === jobId),
        'job-completed',
      )
    const completions = [
      ...first.events.filter((event) => event.type === 'job-completed' && event.jobId === jobId).map(() => firstAddress),
      ...second.events.filter((event) => event.type === 'job-completed' && event.jobId === jobId).map(() => secondAddress),
    ]
    expect(completions).toEqual([settled.receipt.prover?.address])
    expect(first.events.some((event) => event.type === 'node-stopped')).toBe(true)

    // The queue backend's events for this job, in order: queued, started, finished; nothing failed.
    const forJob = seen.filter((event) => event.jobId === jobId || event.jobId === undefined).map((event) => event.type)
    expect(forJob).not.toContain('proof-failed')
    const order = ['proof-queued', 'proof-started', 'proof-finished'].map((type) => forJob.indexOf(type))
    expect(order.every((index) => index >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    expect(forJob.filter((type) => type === 'proof-finished')).toHaveLength(1)
    for (const progressed of forJob.flatMap((type, index) => (type === 'proof-progressed' ? [index] : [])))
      expect(progressed).toBeGreaterThan(order[0] as number)
  }, 400_000)
})
