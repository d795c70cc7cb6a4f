import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runVerity } from '../e2e/run-process.js'

// `verity trace reveal` on a trace a real run wrote: the demo seals its personal bodies under a key
// kept in the owner's vault; the owner's passphrase reveals them, a wrong one is a typed error.

const home = mkdtempSync(join(tmpdir(), 'verity-trace-reveal-'))
const passphrase = 'trace reveal owner passphrase'
afterAll(() => rmSync(home, { recursive: true, force: true }))

type RevealedEntry = { seq: number; kind: string; sealed: boolean; body?: unknown }

describe('verity trace reveal', () => {
  it("shows sealed bodies with the owner's passphrase; a wrong passphrase exits 1 with a typed error", async () => {
    const demo = await runVerity(['demo', '--home', home, '--json'], { VERITY_PASSPHRASE: passphrase })
    expect(demo.code, demo.stderr).toBe(0)
    const tracePath = (JSON.parse(demo.stdout) as { trace: { path: string } }).trace.path
    const vault = join(home, 'vault')

    const revealed = await runVerity(['trace', 'reveal', tracePath, '--vault', vault, '--json'], {
      VERITY_PASSPHRASE: passphrase,
    })
    expect(revealed.code, revealed.stderr).toBe(0)
    const { entries } = JSON.parse(revealed.stdout) as { entries: RevealedEntry[] }
    const sealed = entries.filter((entry) => entry.sealed)
    expect(sealed.length).toBeGreaterThan(0)
    for (const entry of sealed) expect(entry.body).toBeDefined()
    // The final answer quotes recalled memories: revealed as readable text.
    expect(JSON.stringify(sealed.map((entry) => entry.body))).toMatch(/[A-Za-z]{4,}/)

    const only = sealed[0] as RevealedEntry
    const one = await runVerity(['trace', 'reveal', tracePath, '--vault', vault, '--seq', String(only.seq), '--json'], {
      VERITY_PASSPHRASE: passphrase,
    })
    expect(one.code, one.stderr).toBe(0)
    expect((JSON.parse(one.stdout) as { entries: RevealedEntry[] }).entries).toEqual([only])

    const wrong = await runVerity(['trace', 'reveal', tracePath, '--vault', vault, '--json'], {
      VERITY_PASSPHRASE: 'not the owner passphrase',
    })
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toBe('')
    const error = (JSON.parse(wrong.stderr.slice(wrong.stderr.indexOf('{'))) as { error: { code: string; name: string } }).error
    expect(error.code).toMatch(/^VERITY_/)
    expect(error.name).toBe('WrongKeyError')
    expect(wrong.stderr).not.toContain(passphrase)
  }, 600_000)
})
