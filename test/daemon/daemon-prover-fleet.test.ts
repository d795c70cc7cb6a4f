import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getAddress } from 'ethers'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { openTokenStore } from '../../src/daemon/index.js'
import { fleetJobId } from '../../src/proofs/fleet-job.js'
import { type ProverNodeProcess, spawnProverNode } from '../proofs/prover-node-process.js'
import { killHard, type LoopbackRedis, startLoopbackRedis } from '../proofs/redis-server.js'
import { MODELS_DIR } from './daemon-harness.js'
import { type DaemonProcess, spawnDaemon } from './daemon-process.js'

// `verity daemon start --redis URL` (a real daemon process) proves POST /v1/infer through a prover fleet:
// Debian's redis-server on a loopback port of this test and one real `verity prover start` node process.
const work = mkdtempSync(join(tmpdir(), 'verity-daemon-fleet-'))
const home = join(work, 'daemon')
let redis: LoopbackRedis | undefined
let node: ProverNodeProcess
let daemon: DaemonProcess
let token: string

const call = (path: string, body?: unknown) => daemon.call(path, { token, body })

beforeAll(async () => {
  redis = await startLoopbackRedis({ dir: join(work, 'redis') })
  node = spawnProverNode({ redis: redis.url, models: MODELS_DIR, home: join(work, 'node'), passphrase: 'fleet-node-passphrase' })
  await node.started
  mkdirSync(home, { recursive: true, mode: 0o700 })
  token = openTokenStore({ path: join(home, 'tokens.json') }).create({ owner: 'alice', scopes: ['write:agent'] }).token
  daemon = await spawnDaemon({ home, passphrase: 'daemon-fleet-passphrase', args: ['--redis', redis.url] })
}, 240_000)

afterAll(async () => {
  if (daemon && daemon.child.exitCode === null) await killHard(daemon.child)
  if (node) await killHard(node.child)
  await redis?.stop()
  rmSync(work, { recursive: true, force: true })
})

it('proves POST /v1/infer on the fleet: the receipt verifies and carries the node signature', async () => {
  const inferred = await call('/v1/infer', {
    model: 'transaction-risk',
    input: [[0.95, 3, 0.8, 6, 1, 1]],
    prove: true,
  })
  expect(inferred.status).toBe(200)
  const { receipt: pending } = (await inferred.json()) as { receipt: { id: string; status: string } }
  expect(pending.status).toBe('pending')

  // the receipt's event stream ends when it settles (verified or failed)
  await (await call(`/v1/receipts/${encodeURIComponent(pending.id)}/events`)).text()
  const { receipt, proof } = (await (await call(`/v1/receipts/${encodeURIComponent(pending.id)}`)).json()) as {
    receipt: { id: string; status: string; error?: string; prover?: { address: string; signature: string } }
    proof?: string
  }
  expect(receipt.error).toBeUndefined()
  expect(receipt.status).toBe('verified')
  // proven by the node, not by the daemon: its job ran there and its key signed the receipt
  expect(node.lines.some((line) => line.type === 'job-completed' && line.jobId === fleetJobId(pending.id))).toBe(true)
  expect(getAddress(receipt.prover?.address ?? '')).toBe(getAddress(await node.started))

  const verified = await call('/v1/verify', { receipt, proof })
  expect(verified.status).toBe(200)
  const report = (await verified.json()) as { valid: boolean; checks: { name: string; ok: boolean }[] }
  expect(report.valid).toBe(true)
  expect(report.checks.find((check) => check.name === 'prover signature')?.ok).toBe(true)

  // a relabelled receipt (another prover address, same signature) is refused
  const relabelled = await call('/v1/verify', {
    receipt: { ...receipt, prover: { ...receipt.prover, address: getAddress(`0x${'11'.repeat(20)}`) } },
    proof,
  })
  expect(((await relabelled.json()) as { valid: boolean }).valid).toBe(false)
}, 240_000)

it('stops gracefully on SIGTERM with the queue backend open', async () => {
  const exited = new Promise<number | null>((resolveExit) => daemon.child.once('exit', (code) => resolveExit(code)))
  daemon.child.kill('SIGTERM')
  expect(await exited).toBe(0)
}, 60_000)
