import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createVault, openVault } from '../../src/memory/index.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

const writer = join(import.meta.dirname, 'fixtures', 'vault-writer.ts')
const folder = temporaryFolder()
afterAll(() => folder.cleanup())

function run(...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', writer, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
}

function lines(child: ChildProcess, onLine: (line: string) => void): Promise<number | null> {
  let buffer = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8')
    let newline = buffer.indexOf('\n')
    while (newline >= 0) {
      onLine(buffer.slice(0, newline))
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf('\n')
    }
  })
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)))
}

describe('vault durability under kill -9', () => {
  it('every acknowledged add survives 20 kill -9s at random moments; torn writes are discarded', async () => {
    const path = join(folder.path, 'crash')
    const acknowledged: string[] = []
    for (let round = 0; round < 20; round++) {
      const child = run('stream', path, `r${round}`)
      let ready = false
      let acksThisRound = 0
      const target = 1 + Math.floor(Math.random() * 25)
      const exited = lines(child, (line) => {
        if (line === 'ready') ready = true
        else if (line.startsWith('ack ')) {
          acknowledged.push(line.slice(4))
          acksThisRound++
          // Kill at a random moment after a random number of acks: mid-write most of the time.
          if (acksThisRound === target) setTimeout(() => child.kill('SIGKILL'), Math.random() * 15)
        }
      })
      const code = await exited
      expect(ready).toBe(true)
      expect(code).toBe(null) // killed, not exited
    }
    const vault = await openVault({ path, guards: [testGuard()], embedder: hashEmbedder(8) })
    const stored = new Set(vault.list({ limit: 100_000 }).records.map((record) => record.id))
    const lost = acknowledged.filter((id) => !stored.has(id))
    expect(lost).toEqual([])
    expect(acknowledged.length).toBeGreaterThan(20)
    for (const id of acknowledged.slice(-3)) expect(vault.get(id)?.text).toBe(`memory ${id}`)
    await vault.close()
    // Orphan temp files and unreferenced segments were cleaned by the writer's open.
    expect(readdirSync(path).filter((name) => name.endsWith('.tmp'))).toEqual([])
    expect(readdirSync(join(path, 'segments')).filter((name) => name.endsWith('.tmp'))).toEqual([])
  }, 180_000)
})

describe('vault concurrency across processes', () => {
  it('a second process gets VaultLockedError while one holds the vault', async () => {
    const path = join(folder.path, 'held')
    await (await createVault({ path, guards: [testGuard()], embedder: hashEmbedder(8) })).close()
    const holder = run('hold', path)
    const opened = new Promise<void>((resolve) => {
      void lines(holder, (line) => line === 'open' && resolve())
    })
    await opened
    const output: string[] = []
    const tryer = run('try', path)
    await lines(tryer, (line) => output.push(line))
    expect(output[0]).toBe('VERITY_VAULT_LOCKED')
    expect(output[1]).toMatch(/Close the other process/)
    holder.stdin?.end()
    await new Promise((resolve) => holder.on('exit', resolve))
    const after: string[] = []
    await lines(run('try', path), (line) => after.push(line))
    expect(after[0]).toBe('opened')
  }, 60_000)

  it('two processes writing to one vault by turns lose no write', async () => {
    const path = join(folder.path, 'contended')
    await (await createVault({ path, guards: [testGuard()], embedder: hashEmbedder(8) })).close()
    const results: string[] = []
    await Promise.all(['p', 'q'].map((prefix) => lines(run('contend', path, prefix, '15'), (line) => results.push(line))))
    expect(results.filter((line) => line.startsWith('done'))).toHaveLength(2)
    const vault = await openVault({ path, guards: [testGuard()], readOnly: true })
    const ids = new Set(vault.list({ limit: 1000 }).records.map((record) => record.id))
    await vault.close()
    for (const prefix of ['p', 'q']) for (let index = 0; index < 15; index++) expect(ids.has(`${prefix}-${index}`)).toBe(true)
  }, 120_000)
})
