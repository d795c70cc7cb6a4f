import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readLines, writeSampleTrace } from './helpers.js'

const root = join(import.meta.dirname, '..', '..')

function verity(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** The JSON error document on stderr (other rooms may print warnings before it). */
function errorJson(stderr: string): { code: string } {
  return (JSON.parse(stderr.slice(stderr.indexOf('{\n'))) as { error: { code: string } }).error
}

describe('verity trace', { timeout: 180_000 }, () => {
  it('verify: exit 0 and a JSON report for a good trace; exit 1 naming the first failure for a changed one', async () => {
    const { path } = await writeSampleTrace()
    const good = verity('trace', 'verify', path, '--json', '--require-complete')
    expect(good.status).toBe(0)
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, complete: true, entries: 9 })

    const lines = readLines(path)
    const changed = JSON.parse(lines[2] as string) as { body: { args: { a: number } } }
    changed.body.args.a = 7
    writeFileSync(path, `${lines.map((line, i) => (i === 2 ? JSON.stringify(changed) : line)).join('\n')}\n`)
    const bad = verity('trace', 'verify', path, '--json')
    expect(bad.status).toBe(1)
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, firstFailure: { seq: 2, field: 'body', line: 3 } })
    expect(errorJson(bad.stderr)).toMatchObject({ code: 'VERITY_TRACE_VERIFICATION' })
    const badHuman = verity('trace', 'verify', path)
    expect(badHuman.status).toBe(1)
    expect(badHuman.stderr).toMatch(/seq 2 \(line 3\), body/)
  })

  it('show: a readable timeline with receipt status, and JSON rows', async () => {
    const { path } = await writeSampleTrace()
    const text = verity('trace', 'show', path)
    expect(text.status).toBe(0)
    expect(text.stdout).toMatch(/model-call\s+model scripted/)
    expect(text.stdout).toMatch(/tool-call\s+calculator\(\{"a":6,"b":7\}\)/)
    expect(text.stdout).toMatch(/receipt: proven \(seq 6\), unchecked/)
    expect(text.stdout).toMatch(/9 entries; verified, complete/)
    const json = JSON.parse(verity('trace', 'show', path, '--json').stdout) as {
      entries: { seq: number; kind: string; body: string; receiptStatus?: string }[]
    }
    expect(json.entries.map((row) => row.kind)).toEqual([
      'run-start',
      'model-call',
      'tool-call',
      'tool-result',
      'memory-read',
      'memory-write',
      'receipt-proven',
      'answer',
      'run-end',
    ])
    expect(json.entries[4]?.body).toBe('blob')
  })

  it('reports a missing file as a typed error with exit 1', () => {
    const result = verity('trace', 'verify', '/nonexistent/run.jsonl', '--json')
    expect(result.status).toBe(1)
    expect(errorJson(result.stderr).code).toBe('VERITY_NOT_FOUND')
  })
})
