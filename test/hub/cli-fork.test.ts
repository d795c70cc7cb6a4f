import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runVerity } from '../e2e/run-process.js'
import { MODEL_DIR } from './files.js'

// `verity hub fork NAME@VERSION --name NEW` from the CLI: a second publisher forks the first one's
// release; `hub log NEW` shows the fork's parent with signatures checked, and a tampered parent breaks it.

const work = mkdtempSync(join(tmpdir(), 'verity-hub-cli-fork-'))
const hubDir = join(work, 'hub')
const alice = { VERITY_AGENT_HOME: join(work, 'alice'), VERITY_PASSPHRASE: 'alice hub fork passphrase' }
const bob = { VERITY_AGENT_HOME: join(work, 'bob'), VERITY_PASSPHRASE: 'bob hub fork passphrase' }
afterAll(() => rmSync(work, { recursive: true, force: true }))

type LogEntry = { release: { id: string; name: string; publisher: string; parent: string | null }; link: string }

describe('verity hub fork (CLI)', () => {
  it("forks another publisher's release; hub log NEW shows the parent, signatures checked", async () => {
    const published = await runVerity(['hub', 'publish', MODEL_DIR, '--hub', hubDir, '--json'], alice)
    expect(published.code, published.stderr).toBe(0)
    const origin = (JSON.parse(published.stdout) as { release: LogEntry['release'] & { packageCid: string } }).release

    const forked = await runVerity(
      ['hub', 'fork', 'transaction-risk@1.0.0', '--name', 'risk-remix', '--hub', hubDir, '--json'],
      bob,
    )
    expect(forked.code, forked.stderr).toBe(0)
    const fork = (JSON.parse(forked.stdout) as { release: LogEntry['release'] & { packageCid: string } }).release
    expect(fork.name).toBe('risk-remix')
    expect(fork.publisher).not.toBe(origin.publisher)
    expect(fork.packageCid).toBe(origin.packageCid)

    const log = await runVerity(['hub', 'log', 'risk-remix', '--hub', hubDir, '--json'], bob)
    expect(log.code, log.stderr).toBe(0)
    const { entries, complete } = JSON.parse(log.stdout) as { entries: LogEntry[]; complete: boolean }
    expect(complete).toBe(true)
    expect(entries.map((entry) => [entry.release.name, entry.release.publisher, entry.link])).toEqual([
      ['risk-remix', fork.publisher, 'fork'],
      ['transaction-risk', origin.publisher, 'origin'],
    ])
    expect(entries[1]?.release.id).toBe(origin.id)
    const human = await runVerity(['hub', 'log', 'risk-remix', '--hub', hubDir], bob)
    expect(human.stdout).toContain('all signatures valid')

    // A parent whose signed fields were changed on disk no longer checks out.
    const folder = join(hubDir, 'releases', origin.publisher.toLowerCase(), 'transaction-risk')
    const file = join(folder, readdirSync(folder).find((name) => name.endsWith('.json')) as string)
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    writeFileSync(file, JSON.stringify({ ...stored, createdAt: (stored.createdAt as number) - 1 }))
    const tampered = await runVerity(['hub', 'log', 'risk-remix', '--hub', hubDir, '--json'], bob)
    expect(tampered.code).toBe(1)
    expect(tampered.stdout).toBe('')
    const error = (JSON.parse(tampered.stderr.slice(tampered.stderr.indexOf('{'))) as { error: { name: string } }).error
    expect(error.name).toBe('ReleaseVerificationError')
  }, 300_000)
})
