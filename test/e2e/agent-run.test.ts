import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runVerity } from './run-process.js'

const work = mkdtempSync(join(tmpdir(), 'verity-agent-run-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const verity = (args: string[]) => runVerity(args, { VERITY_PASSPHRASE: 'agent run test passphrase' })

describe('verity agent run', () => {
  it('runs a script with its context (identity, vault, trace) and ends the trace it opened; a failing script is an AgentScriptError', async () => {
    const script = join(work, 'remember.mjs')
    writeFileSync(
      script,
      `export default async function (context) {
  const identity = await context.identity()
  const vault = await context.openVault()
  await vault.add({ text: 'hello from ' + context.args.join(' '), namespace: 'agent:script' })
  const trace = await context.openTrace()
  await trace.append({ kind: 'note', body: { said: context.args } })
  const hits = await vault.search({ query: 'hello', namespace: 'agent:script', k: 1 })
  return { address: identity.address, found: hits[0]?.record.text, trace: trace.path }
}
`,
    )
    const home = join(work, 'home')
    const run = await verity(['agent', 'run', script, 'the', 'script', '--home', home, '--json'])
    expect(run.code, run.stderr).toBe(0)
    const outcome = JSON.parse(run.stdout)
    expect(outcome.result.found).toBe('hello from the script')
    expect(outcome.traces).toHaveLength(1)
    // The trace was ended by the runner and verifies independently.
    const check = await verity(['trace', 'verify', outcome.traces[0], '--require-complete', '--json'])
    expect(check.code, check.stderr).toBe(0)
    expect(JSON.parse(check.stdout).agents).toEqual([outcome.result.address])
    expect(readFileSync(outcome.traces[0], 'utf8')).toContain('"kind":"run-end"')

    const failing = join(work, 'failing.mjs')
    writeFileSync(failing, 'export default async function () { throw new Error("boom") }\n')
    const failed = await verity(['agent', 'run', failing, '--home', home, '--json'])
    expect(failed.code).toBe(1)
    const error = JSON.parse(failed.stderr.slice(failed.stderr.indexOf('{\n  "error"')))
    expect(error.error.name).toBe('AgentScriptError')
    expect(error.error.details).toContain('boom')

    const missing = await verity(['agent', 'run', join(work, 'absent.mjs'), '--home', home])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('The agent script does not exist')
  }, 180_000)
})
