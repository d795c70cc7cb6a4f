import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { createProofPolicy } from '../../src/agent/policy.js'
import { digest } from '../../src/crypto/digest.js'
import { AbortedError, PolicyError } from '../../src/errors.js'
import { startHubGateway } from '../../src/hub/gateway-server.js'
import { openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { signRelease } from '../../src/hub/release.js'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { createProver } from '../../src/proofs/create-prover.js'
import { FLEET_QUEUE, fleetJobId } from '../../src/proofs/fleet-job.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import type { ProverBackend } from '../../src/proofs/prover-backend.js'
import { type ProverNodeEvent, startProverNode } from '../../src/proofs/prover-node.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import { runVerifiableInference } from '../../src/proofs/verifiable-inference.js'
import { runWitness } from '../../src/proofs/witness.js'
import { provenTool } from '../../src/tools/proven-tool.js'
import { verifiableInferenceTool } from '../../src/tools/verifiable-inference.js'
import { createInMemoryDecisionRecorder } from '../../src/trace/decision-recorder.js'
import { buildExamplePackage, type FleetFixture, startFleetFixture } from './fleet-fixture.js'
import { killHard } from './redis-server.js'

// The fleet's lifecycle beyond faults: lazy loading, cancellation, pulling a package from a hub.
// Real Redis, real EZKL proofs (native backend), a real `verity prover start` process, a real hub gateway.
const TSX = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href
const PASSPHRASE = 'fleet-lifecycle-passphrase'
let fleet: FleetFixture

beforeAll(async () => {
  fleet = await startFleetFixture({ prefix: 'verity-fleet-life-', queue: { attempts: 1, timeoutMs: 240_000 } })
}, 300_000)

afterAll(() => fleet?.stop())

const until = async (check: () => Promise<boolean>, what: string) => {
  for (let tries = 0; tries < 100; tries++) {
    if (await check()) return
    await new Promise((resolveWait) => setTimeout(resolveWait, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

function startNode(name: string, models: string, extra: string[] = []) {
  return fleet.spawnNode({ name, models, passphrase: PASSPHRASE, args: extra })
}

describe('prover fleet lifecycle', () => {
  it('importing verity/proofs does not load bullmq or ioredis; creating a queue prover does', async () => {
    // a resolve hook that refuses the fleet's dependencies: importing the index must not reach them
    const hooks = join(fleet.work, 'refuse-fleet-hooks.mjs')
    writeFileSync(
      hooks,
      "export async function resolve(specifier, context, next) { if (/^(bullmq|ioredis)(\\/|$)/.test(specifier)) throw new Error('fleet dependency loaded: ' + specifier); return next(specifier, context) }\n",
    )
    const register = join(fleet.work, 'register-hooks.mjs')
    writeFileSync(register, `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
    const index = pathToFileURL(resolve('src/proofs/index.ts')).href
    const script = `const proofs = await import(${JSON.stringify(index)})
console.log('loaded', typeof proofs.loadModelPackage, typeof proofs.createQueueProver)
try { await proofs.createQueueProver({ redis: 'redis://127.0.0.1:1' }) } catch (error) { console.log('then', error.message) }`
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', TSX, '--import', pathToFileURL(register).href, '--input-type=module', '-e', script],
      { timeout: 120_000 },
    )
    expect(stdout).toContain('loaded function function')
    expect(stdout).toContain('then fleet dependency loaded: bullmq') // the hook works: the fleet loads bullmq on use
  }, 150_000)

  it('cancels a waiting job (removed from the queue) and a running one (the node stops it; no result is delivered)', async () => {
    const { model, queueProver } = fleet
    const connection = new Redis(fleet.redis.url, { maxRetriesPerRequest: null })
    const queue = new Queue(FLEET_QUEUE, { connection })
    const witness = (await runWitness({ package: model, input: [[0.5, -1, 2]] })).witness
    try {
      // waiting: no node is running yet
      const waiting = new AbortController()
      const waitingId = digest(new Uint8Array([1, 2, 3]))
      const queued = new Promise<void>((resolveQueued) => queueProver.on('proof-queued', () => resolveQueued()))
      const pending = queueProver.prove({ package: model, witness, receiptId: waitingId, signal: waiting.signal })
      await queued
      expect(await queue.getJobState(fleetJobId(waitingId))).toBe('waiting')
      waiting.abort()
      await expect(pending).rejects.toBeInstanceOf(AbortedError)
      await until(async () => (await queue.getJob(fleetJobId(waitingId))) === undefined, 'the waiting job to be removed')

      // running: an in-process node whose real backend proves, then holds the result until the job is cancelled
      const identity = await createAgentIdentity({ home: join(fleet.work, 'node-home'), passphrase: PASSPHRASE })
      const real = await createProver({ kind: 'native', signer: identity.signer, workers: 1 })
      let proofsMade = 0
      const held: ProverBackend = {
        ...real,
        async prove(parameters) {
          const result = await real.prove(parameters)
          proofsMade++
          await new Promise<void>((resolveHold) => {
            if (parameters.signal?.aborted) resolveHold()
            parameters.signal?.addEventListener('abort', () => resolveHold(), { once: true })
            setTimeout(resolveHold, 60_000) // bounded: an uncancelled job would be delivered after this
          })
          return result
        },
      }
      const events: ProverNodeEvent[] = []
      const node = await startProverNode({
        redis: fleet.redis.url,
        models: fleet.models,
        backend: held,
        signer: identity.signer,
        onEvent: (event) => events.push(event),
      })
      try {
        const running = new AbortController()
        const runningId = digest(new Uint8Array([4, 5, 6]))
        const started = new Promise<void>((resolveStarted) => queueProver.on('proof-started', () => resolveStarted()))
        const proving = queueProver.prove({ package: model, witness, receiptId: runningId, signal: running.signal })
        await started
        await until(async () => proofsMade === 1, 'the node to finish the proof it will hold')
        running.abort()
        await expect(proving).rejects.toBeInstanceOf(AbortedError)
        const jobId = fleetJobId(runningId)
        await until(
          async () => events.some((event) => event.type === 'job-failed' && event.jobId === jobId),
          'the node to stop the job',
        )
        const stopped = events.find((event) => event.type === 'job-failed' && event.jobId === jobId)
        expect(stopped).toMatchObject({ reason: 'cancelled', final: true })
        expect(events.filter((event) => event.type === 'job-completed')).toEqual([])
        expect(await queue.getJobState(jobId)).toBe('failed')
        expect((await queue.getJob(jobId))?.returnvalue ?? null).toBeNull() // no proof was delivered
      } finally {
        await node.close({ force: true })
      }
    } finally {
      await queue.close()
      connection.disconnect()
    }
  }, 240_000)

  it('a node lacking the package pulls it by model digest from a Verity hub (prover start --hub) and proves', async () => {
    const { model, queueProver } = fleet
    const publisher = await createAgentIdentity({ home: join(fleet.work, 'publisher'), passphrase: PASSPHRASE })
    const hub = await openHub({ dir: join(fleet.work, 'published-hub') })
    const { release } = await publishRelease({ hub, dir: join(fleet.work, 'models', 'risk'), signer: publisher.signer })
    expect(release.details.package.modelDigest).toBe(model.digest)
    const token = 'hub-token-for-the-fleet-test-0123'
    const gateway = await startHubGateway({ hub, token })
    const empty = join(fleet.work, 'empty-models')
    mkdirSync(empty)
    const { child, started, lines } = startNode('hub-node', empty, ['--hub', gateway.url, '--hub-token', token])
    try {
      const address = await started
      expect(lines[0]?.models).toEqual([]) // it starts without the package
      const run = await runVerifiableInference({ package: model, input: [[1, 0.5, -2]], prover: queueProver })
      const settled = await (run.settled as NonNullable<typeof run.settled>)
      expect(settled.receipt.error).toBeUndefined()
      expect(settled.receipt.status).toBe('verified')
      expect(settled.receipt.prover?.address).toBe(address)
      const verdict = verifyReceipt({ receipt: settled.receipt, proof: settled.proof as Uint8Array, package: model })
      expect(verdict.checks.filter((check) => !check.ok)).toEqual([])
      const installed = readdirSync(empty)
      expect(installed).toHaveLength(1)
      expect(loadModelPackage({ dir: join(empty, installed[0] as string) }).digest).toBe(model.digest)
    } finally {
      await killHard(child)
      await gateway.close()
    }
  }, 300_000)

  it('the agent’s require-verified policy waits for the fleet’s verified receipt, and refuses a wrong-package node’s failure', async () => {
    const { model, queueProver } = fleet
    const settledReceipts: Array<{ status: string; prover: string | undefined }> = []
    const agentFor = (recorder: ReturnType<typeof createInMemoryDecisionRecorder>) =>
      createVerityAgent({
        tools: [
          provenTool({
            tool: verifiableInferenceTool({ package: model, prover: queueProver, name: 'risk' }),
            onSettled: (settled) =>
              settledReceipts.push({ status: settled.receipt.status, prover: settled.receipt.prover?.address }),
          }),
        ],
        recorder,
        policy: createProofPolicy({ proofs: 'require-verified', timeoutMs: 240_000 }),
      })

    const good = startNode('agent-node', fleet.models)
    const address = await good.started
    try {
      const recorder = createInMemoryDecisionRecorder()
      const { answer } = await agentFor(recorder).invoke('score the risk of 0.5 -1 2')
      const sequence = recorder.entries.map((entry) => entry.kind)
      const proven = sequence.indexOf('receipt-proven')
      expect(proven).toBeGreaterThan(sequence.indexOf('tool-result'))
      expect(sequence.indexOf('final-answer')).toBeGreaterThan(proven) // the answer came after the verified receipt
      expect(typeof answer).toBe('string')
      expect(settledReceipts).toEqual([{ status: 'verified', prover: address }])
    } finally {
      await killHard(good.child)
    }

    // a node whose package of the same name has another digest refuses; the policy refuses the unverified result
    await buildExamplePackage({ example: '1l_linear', out: join(fleet.work, 'wrong-models', 'risk'), name: 'risk' })
    const wrong = startNode('wrong-node', join(fleet.work, 'wrong-models'))
    await wrong.started
    try {
      const recorder = createInMemoryDecisionRecorder()
      const error = await agentFor(recorder)
        .invoke('score the risk of 1 1 -1')
        .catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(PolicyError)
      expect((error as PolicyError).shortMessage).toMatch(/failed; the agent may not act on its output/)
      const sequence = recorder.entries.map((entry) => entry.kind)
      expect(sequence).toContain('receipt-failed')
      expect(sequence).not.toContain('final-answer')
      expect(settledReceipts.at(-1)?.status).toBe('failed')
      // the node's own event may trail the enqueuer's result
      await until(
        async () => wrong.lines.some((line) => line.type === 'job-failed' && String(line.reason).includes('refused')),
        'the node to report its refusal',
      )
    } finally {
      await killHard(wrong.child)
    }
  }, 400_000)

  it('a node refuses a package a hub serves under another model digest (a lying release): the job fails, nothing is proven with it', async () => {
    const { model, queueProver } = fleet
    const source = join(fleet.work, 'lying-source', 'risk')
    if (!existsSync(source)) await buildExamplePackage({ example: '1l_linear', out: source, name: 'risk' })
    const other = loadModelPackage({ dir: source })
    expect(other.digest).not.toBe(model.digest)
    const liar = await createAgentIdentity({ home: join(fleet.work, 'liar'), passphrase: PASSPHRASE })
    const hub = await openHub({ dir: join(fleet.work, 'lying-hub') })
    const { release: honest } = await publishRelease({ hub, dir: source, signer: liar.signer })
    // the publisher signs a second release of the same package that claims the job's model digest:
    // the signature and every block check out, only the claim is false
    const lying = signRelease({
      signer: liar.signer,
      name: honest.name,
      version: '9.9.9',
      packageCid: honest.packageCid,
      vkDigest: honest.vkDigest,
      details: { ...honest.details, package: { ...honest.details.package, modelDigest: model.digest } },
    })
    await hub.releases.save(lying)
    const token = 'hub-token-for-the-lying-hub-test-0123'
    const gateway = await startHubGateway({ hub, token })
    const empty = join(fleet.work, 'lied-to-models')
    mkdirSync(empty)
    const { child, started, lines } = startNode('lied-to-node', empty, ['--hub', gateway.url, '--hub-token', token])
    try {
      await started
      const run = await runVerifiableInference({ package: model, input: [[1, 0.5, -2]], prover: queueProver })
      const settled = await (run.settled as NonNullable<typeof run.settled>)
      expect(settled.receipt.status).toBe('failed')
      expect(settled.proof).toBeUndefined()
      await until(
        async () => lines.some((line) => line.type === 'job-failed' && String(line.reason).includes(model.digest)),
        'the node to report its refusal',
      )
      const refusal = lines.find((line) => line.type === 'job-failed')
      expect(String(refusal?.reason)).toMatch(/refused: this node's package risk has digest/)
      expect(lines.some((line) => line.type === 'job-completed')).toBe(false)
      // it pulled the package the release named (every block checked), then refused it by its real digest
      const installed = readdirSync(empty)
      expect(installed).toHaveLength(1)
      expect(loadModelPackage({ dir: join(empty, installed[0] as string) }).digest).toBe(other.digest)
    } finally {
      await killHard(child)
      await gateway.close()
    }
  }, 400_000)
})
