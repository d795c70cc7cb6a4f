import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll } from 'vitest'
import { type ChainClient, connectChain } from '../../src/chain/chain-client.js'
import { deployVerifier, type RenderedEvmVerifier, renderEvmVerifier } from '../../src/chain/evm-verifier.js'
import { loadModelPackage, type ModelPackage } from '../../src/proofs/model-package.js'
import { createProverPool } from '../../src/proofs/prover-pool.js'
import type { Receipt } from '../../src/proofs/receipt.js'
import { runVerifiableInference } from '../../src/proofs/verifiable-inference.js'

export const root = join(import.meta.dirname, '..', '..')
export const DEMO_MODEL_DIR = join(root, 'models', 'transaction-risk')

/** Hardhat's well-known dev account keys (mnemonic "test test ... junk"): funded on every Hardhat network. */
export const DEV_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
]

export function demoModel(): ModelPackage {
  return loadModelPackage({ dir: DEMO_MODEL_DIR })
}

export type ProvenDemo = { receipt: Receipt; proof: Uint8Array; input: number[][] }

/**
 * A receipt of the bundled transaction-risk model, proven with the real prover pool. Two inputs: low risk (`low`)
 * and high risk (`high`). Cached in $TMPDIR per model digest for the run of the suite (proving takes ~20 s).
 */
export async function provenDemo(which: 'low' | 'high' = 'low'): Promise<ProvenDemo> {
  const model = demoModel()
  const input = which === 'low' ? [[0.12, 14, 0.1, 1, 0, 0]] : [[9.5, 3, 0.95, 12, 1, 1]]
  const cacheDir = join(tmpdir(), 'verity-chain-test-proofs')
  const cachePath = join(cacheDir, `${model.digest.slice(7, 23)}-${which}.json`)
  if (existsSync(cachePath)) {
    const cached = JSON.parse(readFileSync(cachePath, 'utf8')) as { receipt: Receipt; proof: string; input: number[][] }
    return { receipt: cached.receipt, proof: new Uint8Array(Buffer.from(cached.proof, 'base64')), input: cached.input }
  }
  const pool = createProverPool({ workers: 1 })
  try {
    const run = await runVerifiableInference({ package: model, input, pool })
    const settled = await run.settled
    if (!settled?.proof || settled.receipt.status !== 'verified') throw new Error(`proving failed: ${settled?.receipt.error}`)
    mkdirSync(cacheDir, { recursive: true })
    writeFileSync(
      cachePath,
      JSON.stringify({ receipt: settled.receipt, proof: Buffer.from(settled.proof).toString('base64'), input }),
    )
    return { receipt: settled.receipt, proof: settled.proof, input }
  } finally {
    await pool.close()
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })
}

/** A `npx hardhat node` child process on a loopback port picked here; `stop()` kills it. */
export async function startHardhatNode(): Promise<{ rpc: string; stop(): Promise<void> }> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, 'node_modules', 'hardhat', 'internal', 'cli', 'cli.js'),
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    {
      cwd: join(root, 'test', 'chain', 'hardhat-project'),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
    },
  )
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output = (output + chunk).slice(-4000)
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output = (output + chunk).slice(-4000)
  })
  const rpc = `http://127.0.0.1:${port}`
  const started = Date.now()
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited: ${output}`)
    try {
      const response = await fetch(rpc, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      })
      if (response.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      child.kill('SIGKILL')
      throw new Error(`hardhat node did not start: ${output}`)
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 250))
  }
  return {
    rpc,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** The two networks every chain test runs on. */
export const NETWORKS = ['in-process', 'hardhat-node'] as const
export type NetworkKind = (typeof NETWORKS)[number]

/** Connects `count` clients (dev accounts 0..count-1, signing with their keys) to a fresh network of `kind`. */
export async function openNetwork(kind: NetworkKind, count = 3): Promise<{ clients: ChainClient[]; close(): Promise<void> }> {
  if (kind === 'in-process') {
    const first = await connectChain()
    const others: ChainClient[] = []
    for (let index = 1; index < count; index++) {
      // the same in-process chain, another unlocked account
      const signer = await (first.provider as unknown as { getSigner(index: number): Promise<ChainClient['signer']> }).getSigner(
        index,
      )
      others.push({ ...first, signer, address: await signer.getAddress(), close: async () => {} })
    }
    return { clients: [first, ...others], close: () => first.close() }
  }
  const node = await startHardhatNode()
  const clients: ChainClient[] = []
  for (let index = 0; index < count; index++) clients.push(await connectChain({ rpc: node.rpc, privateKey: DEV_KEYS[index] }))
  return {
    clients,
    close: async () => {
      for (const client of clients) await client.close()
      await node.stop()
    },
  }
}

/** Advances the chain clock by `seconds` and mines a block (Hardhat dev RPC). */
export async function increaseTime(client: ChainClient, seconds: number): Promise<void> {
  const provider = client.provider as unknown as { send(method: string, params: unknown[]): Promise<unknown> }
  await provider.send('evm_increaseTime', [seconds])
  await provider.send('evm_mine', [])
}

/**
 * The low-risk demo receipt (`demo`), the high-risk one (`high`) and the demo model's rendered per-model verifier,
 * for a suite's top-level `beforeAll`.
 */
export async function provenDemoWithVerifier(): Promise<ProvenDemoFixture> {
  const demo = await provenDemo('low')
  const high = await provenDemo('high')
  return { demo, high, rendered: await renderEvmVerifier({ package: demoModel() }) }
}

export type ProvenDemoFixture = { demo: ProvenDemo; high: ProvenDemo; rendered: RenderedEvmVerifier }

/** The suite's demo receipts and rendered verifier ({@link provenDemoWithVerifier}), filled in by a `beforeAll` it registers. */
export function provenDemoFixture(): ProvenDemoFixture {
  const fixture = {} as ProvenDemoFixture
  beforeAll(async () => {
    Object.assign(fixture, await provenDemoWithVerifier())
  }, 600_000)
  return fixture
}

/** {@link openNetwork}, then the demo model's verifier deployed from the first client. */
export async function openNetworkWithVerifier(
  kind: NetworkKind,
  count: number,
  rendered: RenderedEvmVerifier,
): Promise<{ clients: ChainClient[]; close(): Promise<void>; verifier: string }> {
  const opened = await openNetwork(kind, count)
  const { verifier } = await deployVerifier({ client: opened.clients[0] as ChainClient, package: demoModel(), rendered })
  return { ...opened, verifier }
}

/** The proof file with one byte of its EVM proof (`hex_proof`, byte `position`) changed. */
export function changeProofByte(proof: Uint8Array, position: number): Uint8Array {
  const parsed = JSON.parse(new TextDecoder().decode(proof)) as { hex_proof: string }
  const index = 2 + position * 2
  const digit = parsed.hex_proof[index] === '0' ? '1' : '0'
  parsed.hex_proof = parsed.hex_proof.slice(0, index) + digit + parsed.hex_proof.slice(index + 1)
  return new TextEncoder().encode(JSON.stringify(parsed))
}
