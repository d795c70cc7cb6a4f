import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { NONCE_FILE_NAME, openNonceFile } from '../../src/access/lit-local/nonce-file.js'

const directory = mkdtempSync(join(tmpdir(), 'verity-nonces-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

describe('lit-local durable nonce file', () => {
  it('remembers nonces across reopen until they expire, then forgets them and shrinks the file', () => {
    const path = join(directory, NONCE_FILE_NAME)
    const t0 = 1_000_000
    const first = openNonceFile({ path, now: t0 })
    expect(first.seen('short', t0 + 1_000, t0)).toBe(false)
    expect(first.seen('long', t0 + 600_000, t0)).toBe(false)
    expect(first.seen('short', t0 + 1_000, t0 + 10)).toBe(true)
    first.close()
    expect(statSync(path).mode & 0o777).toBe(0o600)
    // A torn append (a crash mid-write: never acknowledged) is ignored on reopen.
    appendFileSync(path, '{"n":"torn","e":')
    const second = openNonceFile({ path, now: t0 + 5_000 })
    expect(second.size).toBe(1)
    expect(second.seen('long', t0 + 600_000, t0 + 5_000)).toBe(true)
    expect(second.seen('short', t0 + 6_000, t0 + 5_000)).toBe(false)
    second.close()
    const third = openNonceFile({ path, now: t0 + 700_000 })
    expect(third.size).toBe(0)
    third.close()
    expect(readFileSync(path, 'utf8')).toBe('')
  })

  it('stays bounded under a stream of short-lived nonces', () => {
    const path = join(directory, 'stream.jsonl')
    const store = openNonceFile({ path, now: 0 })
    for (let n = 0; n < 1_500; n++) expect(store.seen(`n${n}`, n + 100, n)).toBe(false)
    store.close()
    const lines = readFileSync(path, 'utf8').split('\n').length
    expect(lines).toBeLessThanOrEqual(1_025)
  })
})
