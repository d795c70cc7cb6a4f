import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VaultLockedError } from '../../src/errors.js'
import { acquireVaultLock, LOCK_FILE } from '../../src/memory/vault-lock.js'
import { temporaryFolder } from './helpers.js'

const contender = join(import.meta.dirname, 'fixtures', 'lock-contender.ts')
const folder = temporaryFolder()
afterAll(() => folder.cleanup())

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(child.stdout)
}

function staleLock(path: string): void {
  writeFileSync(
    join(path, LOCK_FILE),
    JSON.stringify({ pid: deadPid(), host: hostname(), token: 'stale', since: Date.now() - 1000 }),
  )
}

function contend(path: string, startAt: number): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', contender, path, String(startAt)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  return new Promise((resolve) => child.on('exit', () => resolve(output.trim())))
}

describe('vault writer lock', () => {
  it('takes over a lock whose process is dead; a live holder keeps it', () => {
    const path = join(folder.path, 'single')
    mkdirSync(path)
    staleLock(path)
    const lock = acquireVaultLock(path)
    expect(() => acquireVaultLock(path)).toThrow(VaultLockedError)
    lock.release()
    expect(existsSync(join(path, LOCK_FILE))).toBe(false)
    expect(existsSync(join(path, `${LOCK_FILE}.takeover`))).toBe(false)
  })

  it('several processes racing for one stale lock: never two holders at once', async () => {
    for (let round = 0; round < 2; round++) {
      const path = join(folder.path, `race-${round}`)
      mkdirSync(path)
      staleLock(path)
      const startAt = Date.now() + 2500 // after every contender has started
      const outputs = await Promise.all(Array.from({ length: 4 }, () => contend(path, startAt)))
      const held = outputs
        .filter((line) => line.startsWith('held'))
        .map((line) => line.split(' ').slice(1).map(Number) as [number, number])
        .sort((a, b) => a[0] - b[0])
      expect(held.length, outputs.join(' | ')).toBeGreaterThanOrEqual(1)
      for (const line of outputs) expect(line).toMatch(/^(held \d+ \d+|locked VaultLockedError)$/)
      for (let index = 1; index < held.length; index++)
        expect(held[index]![0], 'two processes held the lock at once').toBeGreaterThanOrEqual(held[index - 1]![1])
      expect(existsSync(join(path, LOCK_FILE))).toBe(false)
    }
  }, 60_000)
})
