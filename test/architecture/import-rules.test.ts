import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..', '..')
const config = join(root, '.dependency-cruiser.mjs')
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')
const run = promisify(execFile)

type Violation = { from: string; to: string; rule: { name: string; severity: string } }

/** Runs the lint's own dependency-cruiser command and config on a folder laid out like the repository. */
async function cruise(cwd: string, outputType: 'json' | 'err'): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      [depcruise, '--config', config, '--output-type', outputType, 'src', 'examples'],
      {
        cwd,
        maxBuffer: 64 * 1024 * 1024,
      },
    )
    return { code: 0, stdout }
  } catch (error) {
    const failed = error as { code: number; stdout: string }
    return { code: failed.code, stdout: failed.stdout }
  }
}

describe('room import rules (npm run lint)', () => {
  let folder: string
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(folder, path)), { recursive: true })
    writeFileSync(join(folder, path), text)
  }

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'verity-import-rules-'))
    write(
      'tsconfig.json',
      readFileSync(join(root, 'tsconfig.json'), 'utf8').replace(/"include": \[[^\]]*\]/, '"include": ["src", "examples"]'),
    )
    // Allowed: agent -> tools, tools -> trace, hub -> proofs, everyone -> foundation.
    write('src/errors.ts', 'export class VerityError extends Error {}\n')
    write(
      'src/trace/decision-recorder.ts',
      "import { VerityError } from '../errors.js'\nexport type DecisionRecorder = { error?: VerityError }\n",
    )
    write('src/proofs/receipt.ts', 'export const receipt = 1\n')
    write('src/agent/policy.ts', 'export type ProofPolicy = { proofs: string }\n')
    write(
      'src/tools/memory-tools.ts',
      "import type { DecisionRecorder } from '../trace/decision-recorder.js'\nexport const tools: DecisionRecorder[] = []\n",
    )
    write('src/agent/verity-middleware.ts', "import { tools } from '../tools/memory-tools.js'\nexport const middleware = tools\n")
    write('src/hub/release.ts', "import { receipt } from '../proofs/receipt.js'\nexport const release = receipt\n")
    // Allowed inside a room: a cycle closed by a type-only import (no load-order effect).
    write('src/agent/session.ts', "import { helper } from './helper.js'\nexport type Session = { run: typeof helper }\n")
    write(
      'src/agent/helper.ts',
      "import type { Session } from './session.js'\nexport const helper = (session?: Session) => session\n",
    )
    // Forbidden: a type-only import upward (tools -> agent), plugin -> agent, a new room reaching
    // the trace, a cycle inside a room, a folder with no row, an example reaching into src/.
    write('src/tools/proven-tool.ts', "import type { ProofPolicy } from '../agent/policy.js'\nexport type Proven = ProofPolicy\n")
    write(
      'src/plugin/load-plugin.ts',
      "import { middleware } from '../agent/verity-middleware.js'\nexport const load = middleware\n",
    )
    write(
      'src/hub/pull.ts',
      "import type { DecisionRecorder } from '../trace/decision-recorder.js'\nexport type Pull = DecisionRecorder\n",
    )
    write('src/agent/a.ts', "import { b } from './b.js'\nexport const a = () => b\n")
    write('src/agent/b.ts', "import { a } from './a.js'\nexport const b = () => a\n")
    write('src/gadgets/gadget.ts', "import { receipt } from '../proofs/receipt.js'\nexport const gadget = receipt\n")
    write('examples/01-peek.ts', "import { receipt } from '../src/proofs/receipt.js'\nconsole.log(receipt)\n")
  })
  afterAll(() => rmSync(folder, { recursive: true, force: true }))

  it('fails on each forbidden import, naming the rule, and passes the allowed ones', async () => {
    // `err` is what `npm run lint` prints and exits with; `json` names each violation.
    const [lint, report] = await Promise.all([cruise(folder, 'err'), cruise(folder, 'json')])
    expect(lint.code).not.toBe(0)
    expect(lint.stdout).toContain('room-tools')
    const violations = JSON.parse(report.stdout).summary.violations as Violation[]
    const found = violations.map((violation) => `${violation.rule.name}: ${violation.from} -> ${violation.to}`).sort()
    expect(found).toEqual(
      [
        'examples-public-api-only: examples/01-peek.ts -> src/proofs/receipt.ts',
        'no-circular: src/agent/a.ts -> src/agent/b.ts',
        'room-hub: src/hub/pull.ts -> src/trace/decision-recorder.ts',
        'room-plugin: src/plugin/load-plugin.ts -> src/agent/verity-middleware.ts',
        'room-tools: src/tools/proven-tool.ts -> src/agent/policy.ts',
        'room-unknown: src/gadgets/gadget.ts -> src/proofs/receipt.ts',
      ].sort(),
    )
    expect(violations.every((violation) => violation.rule.severity === 'error')).toBe(true)
  })
})

describe('docs/architecture.md', () => {
  it('states the same room table the lint enforces', async () => {
    const { rooms } = (await import(pathToFileURL(config).href)) as { rooms: Record<string, string[]> }
    const documented: Record<string, string[]> = {}
    for (const line of readFileSync(join(root, 'docs', 'architecture.md'), 'utf8').split('\n')) {
      const row = /^\| `src\/([a-z-]+)(?:\/|\.ts)` \|[^|]*\| ([^|]*) \|$/.exec(line)
      if (!row) continue
      const allowed = (row[2] as string).trim()
      documented[row[1] as string] = allowed === 'nothing' ? [] : allowed.split(/,\s*/).sort()
    }
    const enforced = Object.fromEntries(Object.entries(rooms).map(([room, allowed]) => [room, [...allowed].sort()]))
    expect(documented).toEqual(enforced)
  })
})
