import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { getAddress } from 'ethers'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { openTokenStore } from '../../src/daemon/index.js'
import { fleetJobId } from '../../src/proofs/fleet-job.js'
import { type ProverNodeProcess, spawnProverNode } from '../proofs/prover-node-process.js'
import { freePort, killHard, startRedis } from '../proofs/redis-server.js'
import { MODELS_DIR } from './daemon-harness.js'

// `verity daemon start --redis URL` (a real daemon process) proves POST /v1/infer through a prover fleet:
// Debian's redis-server on a loopback port of this test and one real `verity prover start` node process.
const ROOT = resolve(import.meta.dirname, '..', '..')
const work = mkdtempSync(join(tmpdir(), 'verity-daemon-fleet-'))
const home = join(work, 'daemon')
let redis: ChildProcess
let node: ProverNodeProcess
let daemon: ChildProcess
let url: string
let token: string

function startDaemonProcess(redisUrl: string): Promise<string> {
  daemon = spawn(
    process.execPath,
    [
      '--import',
      pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href,
      join(ROOT, 'src/cli/main.ts'),
      'daemon',
      'start',
      '--home',
      home,
      '--port',
      '0',
      '--models',
      MODELS_DIR,
      '--redis',
      redisUrl,
      '--json',
    ],
    { env: { ...process.env, VERITY_DAEMON_PASSPHRASE: 'daemon-fleet-passphrase' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  daemon.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  return new Promise((resolveUrl, reject) => {
    daemon.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${stderr}`)))
    daemon.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      try {
        resolveUrl(String((JSON.parse(stdout) as { url: string }).url))
      } catch {
        // the JSON document is not complete yet
      }
    })
  })
}

const call = (path: string, body?: unknown) =>
  fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

beforeAll(async () => {
  const port = await freePort()
  const redisUrl = `redis://127.0.0.1:${port}`
  mkdirSync(join(work, 'redis'))
  redis = await startRedis({ port, dir: join(work, 'redis') })
  node = spawnProverNode({ redis: redisUrl, models: MODELS_DIR, home: join(work, 'node'), passphrase: 'fleet-node-passphrase' })
  await node.started
  mkdirSync(home, { recursive: true, mode: 0o700 })
  token = openTokenStore({ path: join(home, 'tokens.json') }).create({ owner: 'alice', scopes: ['write:agent'] }).token
  url = await startDaemonProcess(redisUrl)
}, 240_000)

afterAll(async () => {
  if (daemon && daemon.exitCode === null) await killHard(daemon)
  if (node) await killHard(node.child)
  if (redis) await killHard(redis)
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
  const exited = new Promise<number | null>((resolveExit) => daemon.once('exit', (code) => resolveExit(code)))
  daemon.kill('SIGTERM')
  expect(await exited).toBe(0)
}, 60_000)
