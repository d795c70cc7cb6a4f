import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { getAddress } from 'ethers'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { fleetJobId } from '../../src/proofs/fleet-job.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { verifyReceipt } from '../../src/proofs/receipt.js'
import { type ProverNodeProcess, spawnProverNode } from '../proofs/prover-node-process.js'
import { killHard, type LoopbackRedis, startLoopbackRedis } from '../proofs/redis-server.js'

// `verity infer --redis` and `verity agent run --redis|--prover` (one withProverOptions for both), with
// Debian's redis-server on a loopback port of this test and one real `verity prover start` node process.
const ROOT = resolve(import.meta.dirname, '..', '..')
const MODEL_DIR = join(ROOT, 'models', 'transaction-risk')
const work = mkdtempSync(join(tmpdir(), 'verity-cli-fleet-'))
let redis: LoopbackRedis | undefined
let node: ProverNodeProcess
let redisUrl: string

/** Waits (bounded) for the node to print a line: its stdout is read only between the synchronous CLI runs. */
async function nodePrinted(match: (line: Record<string, unknown>) => boolean): Promise<boolean> {
  for (let tries = 0; tries < 100 && !node.lines.some(match); tries++) await new Promise((wait) => setTimeout(wait, 100))
  return node.lines.some(match)
}

const verity = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(
    process.execPath,
    ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'src/cli/main.ts'), ...args],
    { env: { ...process.env, VERITY_PASSPHRASE: 'cli-fleet-passphrase', ...env }, encoding: 'utf8', timeout: 240_000 },
  )

beforeAll(async () => {
  redis = await startLoopbackRedis({ dir: join(work, 'redis') })
  redisUrl = redis.url
  node = spawnProverNode({
    redis: redisUrl,
    models: join(ROOT, 'models'),
    home: join(work, 'node'),
    passphrase: 'fleet-node-passphrase',
  })
  await node.started
}, 240_000)

afterAll(async () => {
  if (node) await killHard(node.child)
  await redis?.stop()
  rmSync(work, { recursive: true, force: true })
})

it('verity infer --redis proves on the fleet; the receipt and proof it writes verify, signed by the node', async () => {
  const input = join(work, 'input.json')
  writeFileSync(input, JSON.stringify({ input_data: [[0.4, 2, 0.5, 2, 0, 1]] }))
  const receiptPath = join(work, 'infer', 'receipt.json')
  mkdirSync(join(work, 'infer'))
  const result = verity([
    'infer',
    MODEL_DIR,
    '--input',
    input,
    '--prove',
    '--redis',
    redisUrl,
    '--receipt',
    receiptPath,
    '--json',
  ])
  expect(result.status, result.stderr).toBe(0)
  const printed = JSON.parse(result.stdout) as { receipt: { id: string; status: string }; files: { proof: string } }
  expect(printed.receipt.status).toBe('verified')
  expect(await nodePrinted((line) => line.type === 'job-completed' && line.jobId === fleetJobId(printed.receipt.id))).toBe(true)
  const report = await verifyReceipt({
    receipt: JSON.parse(readFileSync(receiptPath, 'utf8')),
    proof: readFileSync(printed.files.proof),
    package: loadModelPackage({ dir: MODEL_DIR }),
  })
  expect(report.valid).toBe(true)
  expect(getAddress(report.prover ?? '')).toBe(getAddress(await node.started))
}, 240_000)

const SCRIPT = `import { loadModelPackage, runVerifiableInference } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/proofs/index.ts')).href)}
export default async function (context) {
  const prover = await context.prover()
  const model = loadModelPackage({ dir: ${JSON.stringify(MODEL_DIR)} })
  const run = await runVerifiableInference({ package: model, input: [[Number(context.args[0]), 3, 0.8, 6, 1, 1]], prover })
  const { receipt } = await run.settled
  return { kind: prover.kind, agent: (await context.identity()).address, receipt }
}
`

it('verity agent run --redis hands context.prover() the fleet; --prover native proves locally, signed by the agent', async () => {
  const script = join(work, 'prove-agent.mjs')
  writeFileSync(script, SCRIPT)
  const fleet = verity(['agent', 'run', script, '0.9', '--home', join(work, 'agent'), '--redis', redisUrl, '--json'])
  expect(fleet.status, fleet.stderr).toBe(0)
  const onFleet = JSON.parse(fleet.stdout).result as {
    kind: string
    agent: string
    receipt: { id: string; status: string; prover?: { address: string } }
  }
  expect(onFleet.kind).toBe('queue')
  expect(onFleet.receipt.status).toBe('verified')
  expect(getAddress(onFleet.receipt.prover?.address ?? '')).toBe(getAddress(await node.started))
  expect(await nodePrinted((line) => line.type === 'job-completed' && line.jobId === fleetJobId(onFleet.receipt.id))).toBe(true)

  const local = verity(['agent', 'run', script, '0.7', '--home', join(work, 'agent'), '--prover', 'native', '--json'])
  expect(local.status, local.stderr).toBe(0)
  const here = JSON.parse(local.stdout).result as typeof onFleet
  expect(here.kind).toBe('native')
  expect(here.receipt.status).toBe('verified')
  expect(getAddress(here.receipt.prover?.address ?? '')).toBe(getAddress(here.agent))
  expect(node.lines.some((line) => line.jobId === fleetJobId(here.receipt.id))).toBe(false)
}, 300_000)

it('refuses --redis with a backend other than queue, and an unknown backend, with a typed error', () => {
  const both = verity([
    'agent',
    'run',
    join(work, 'prove-agent.mjs'),
    '--home',
    join(work, 'agent'),
    '--prover',
    'wasm',
    '--redis',
    redisUrl,
  ])
  expect(both.status).toBe(1)
  expect(both.stderr).toContain('--redis is only used by the queue prover')
  const unknown = verity(['infer', MODEL_DIR, '--input', join(work, 'input.json'), '--prove', '--prover', 'gpu'])
  expect(unknown.status).toBe(1)
  expect(unknown.stderr).toContain('Unknown prover backend')
}, 120_000)
