import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChainClient, connectChain, deployVerityContract, traceAnchorRecordPath } from '../../src/chain/index.js'
import type { Verification } from '../../src/daemon/index.js'
import { DEV_KEYS, startHardhatNode } from '../chain/helpers.js'
import { runVerity } from '../e2e/run-process.js'
import { startTestDaemon, type TestDaemon } from './daemon-harness.js'

/**
 * Anchors on the daemon's verification badge: a real daemon run, anchored on a real local EVM (`hardhat node`) with
 * the `verity chain anchor` CLI, shown by the daemon with chain id, contract, transaction and checkpoint, checked
 * against the chain; a forged anchor record fails the badge.
 */
let node: { rpc: string; stop(): Promise<void> }
let client: ChainClient
let contract: string
let deployTransaction: string
let daemon: TestDaemon
let token: string
let runId: string
let agentHome: string

async function verification(): Promise<Verification> {
  const response = await daemon.call(`/v1/runs/${runId}/verify`, { token })
  expect(response.status).toBe(200)
  return (await response.json()) as Verification
}

beforeAll(async () => {
  node = await startHardhatNode()
  client = await connectChain({ rpc: node.rpc, privateKey: DEV_KEYS[0] })
  const deployed = await deployVerityContract({ client, name: 'TraceAnchor' })
  contract = deployed.address
  deployTransaction = deployed.deployment.hash
  daemon = await startTestDaemon({ chainRpc: node.rpc })
  token = daemon.token('alice', ['write:agent', 'write:vault'])
  agentHome = mkdtempSync(join(tmpdir(), 'verity-anchor-sender-'))
  expect((await daemon.call('/v1/agents', { token, body: { kind: 'definition', name: 'desk', definition: {} } })).status).toBe(
    200,
  )
  runId = (
    (await (
      await daemon.call('/v1/agents/desk/runs', { token, body: { task: 'Note that the audit is on Monday.' } })
    ).json()) as {
      runId: string
    }
  ).runId
  await daemon.services.agents.done(runId)
}, 180_000)

afterAll(async () => {
  await daemon?.dispose()
  await client?.close()
  await node?.stop()
  if (agentHome) rmSync(agentHome, { recursive: true, force: true })
})

describe('anchors on the daemon badge, checked against a local EVM', () => {
  it('says none before the run is anchored', async () => {
    const badge = await verification()
    expect(badge.anchors).toEqual([])
    expect(badge.checks.anchors).toBe(true)
    expect(badge.ok).toBe(true)
  })

  it('shows the anchor `verity chain anchor` recorded, verified on chain, in the API and the explorer', async () => {
    const tracePath = daemon.services.runs.tracePath(runId)
    const anchored = await runVerity(['chain', 'anchor', tracePath, '--anchor', contract, '--rpc', node.rpc, '--json'], {
      VERITY_AGENT_HOME: agentHome,
    })
    expect(anchored.code, anchored.stderr).toBe(0)
    const printed = JSON.parse(anchored.stdout) as { transaction: string; size: number; root: string }

    const badge = await verification()
    expect(badge.ok).toBe(true)
    expect(badge.checks.anchors).toBe(true)
    expect(badge.anchors).toEqual([
      expect.objectContaining({
        chainId: '31337',
        contract,
        transaction: printed.transaction,
        size: printed.size,
        root: printed.root,
        status: 'verified',
      }),
    ])
    expect(badge.anchors[0]!.reason).toMatch(/^consistent/)
    expect(printed.size).toBe(badge.entries)

    const page = await daemon.call(`/explorer/runs/${runId}`, { token })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('verified on chain')
    expect(html).toContain(printed.transaction)
    expect(html).not.toContain('Anchors: none')
  }, 180_000)

  it('a forged anchor record fails the badge: another transaction, another root', async () => {
    const path = traceAnchorRecordPath(daemon.services.runs.tracePath(runId))
    const genuine = readFileSync(path, 'utf8')
    const file = JSON.parse(genuine) as { anchors: { transaction: string; root: string }[] }
    try {
      // A real transaction on the same chain and contract, but not the one that anchored this trace.
      file.anchors[0]!.transaction = deployTransaction
      writeFileSync(path, JSON.stringify(file))
      let badge = await verification()
      expect(badge.ok).toBe(false)
      expect(badge.checks.anchors).toBe(false)
      expect(badge.anchors[0]).toMatchObject({ status: 'failed' })

      file.anchors[0]!.transaction = JSON.parse(genuine).anchors[0].transaction
      file.anchors[0]!.root = `0x${'ab'.repeat(32)}`
      writeFileSync(path, JSON.stringify(file))
      badge = await verification()
      expect(badge.anchors[0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('did not anchor') })

      const html = await (await daemon.call(`/explorer/runs/${runId}`, { token })).text()
      expect(html).toContain('FAILED')
      expect(html).toContain('data-ok="false"')
    } finally {
      writeFileSync(path, genuine)
    }
    expect((await verification()).ok).toBe(true)
  }, 120_000)
})
