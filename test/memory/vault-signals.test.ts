import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_INDEX_PARENT } from '../../src/memory/lancedb-tmpfs.js'
import { temporaryFolder } from './helpers.js'

/**
 * Issue 10, attack 8: after SIGTERM/SIGINT the LanceDB folder (plaintext memories) stayed in
 * /dev/shm until some later open swept it. A signal that ends the process must remove it.
 */

const holder = join(import.meta.dirname, 'fixtures', 'vault-holder.ts')
const folder = temporaryFolder()
afterAll(() => folder.cleanup())

async function openThenSignal(signal: NodeJS.Signals) {
  const child = spawn(process.execPath, ['--import', 'tsx', holder, join(folder.path, `vault-${signal}`)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, VERITY_VAULT_STATE: join(folder.path, 'state') },
  })
  const folders = await new Promise<string[]>((resolve, reject) => {
    let buffer = ''
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8')
      const line = /^open (.*)\n/m.exec(buffer)
      if (line) resolve((line[1] as string).split(',').filter(Boolean))
    })
    child.on('exit', (code) => reject(new Error(`child exited early (${code})`)))
  })
  expect(folders.length).toBeGreaterThan(0)
  for (const name of folders) expect(existsSync(join(DEFAULT_INDEX_PARENT, name))).toBe(true)
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, received) => resolve(received)))
  child.kill(signal)
  expect(await exited).toBe(signal) // still dies of the signal
  return folders
}

describe('index folders and signals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    it(`${signal} removes the process's index folders from ${DEFAULT_INDEX_PARENT}`, async () => {
      const folders = await openThenSignal(signal)
      for (const name of folders) expect(existsSync(join(DEFAULT_INDEX_PARENT, name))).toBe(false)
    }, 60_000)
})
