import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { incrementalSync } from '../../src/storage/incremental-sync.js'

const work = mkdtempSync(join(tmpdir(), 'verity-incremental-sync-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('incrementalSync', () => {
  it('starts a datasync per step while the file grows, and fsyncs at the end; the bytes are intact', async () => {
    const path = join(work, 'grown.bin')
    const handle = await open(path, 'wx')
    const calls: string[] = []
    const datasync = handle.datasync.bind(handle)
    const sync = handle.sync.bind(handle)
    handle.datasync = () => (calls.push('datasync'), datasync())
    handle.sync = () => (calls.push('sync'), sync())
    const durable = incrementalSync(handle, 1024)
    const chunk = Buffer.alloc(700, 3)
    for (let index = 0; index < 6; index += 1) {
      await handle.write(chunk, 0, chunk.length, index * chunk.length)
      durable.wrote(chunk.length)
    }
    await durable.finish()
    await handle.close()
    expect(calls.filter((call) => call === 'datasync').length).toBeGreaterThanOrEqual(1)
    expect(calls.at(-1)).toBe('sync')
    expect(readFileSync(path)).toEqual(Buffer.alloc(4200, 3))
  })

  it('a failed step fails finish, even if the final fsync would succeed', async () => {
    const failing = {
      datasync: () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
      sync: () => Promise.resolve(),
    } as unknown as FileHandle
    const durable = incrementalSync(failing, 10)
    durable.wrote(20)
    await expect(durable.finish()).rejects.toThrow(/EIO/)
  })
})
