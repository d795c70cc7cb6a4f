/**
 * `npm run bench [-- NAME ...]`: runs every `bench/*.bench.ts` (or the named ones), each in its own
 * Node process so memory figures do not mix, and prints one JSON document with all reports.
 * Each report is also written to `bench/results/NAME.json`.
 *
 * A benchmark module exports `default async function run(): Promise<BenchmarkReport>`;
 * it measures its own baseline in the same run (see `bench/lib/measure.ts`).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchmarkReport } from './lib/measure.js'

const here = dirname(fileURLToPath(import.meta.url))
const child = process.env.VERITY_BENCH_CHILD

if (child) {
  const module = (await import(child)) as { default: () => Promise<BenchmarkReport> }
  const report = await module.default()
  process.stdout.write(`\n@@VERITY_BENCH@@${JSON.stringify(report)}\n`)
  process.exit(0)
}

const wanted = process.argv.slice(2).filter((argument) => !argument.startsWith('-'))
const files = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.includes(basename(file, '.bench.ts')))
  .sort()
if (files.length === 0) {
  process.stderr.write(`no benchmarks match ${wanted.join(', ') || '(any)'}\n`)
  process.exit(2)
}

const reports: BenchmarkReport[] = []
const failures: string[] = []
mkdirSync(join(here, 'results'), { recursive: true })
for (const file of files) {
  const name = basename(file, '.bench.ts')
  process.stderr.write(`bench: running ${name}...\n`)
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, VERITY_BENCH_CHILD: join(here, file) },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const marker = result.stdout.lastIndexOf('@@VERITY_BENCH@@')
  if (result.status !== 0 || marker < 0) {
    failures.push(name)
    process.stderr.write(`bench: ${name} failed (exit ${result.status})\n${result.stdout}\n`)
    continue
  }
  const report = JSON.parse(result.stdout.slice(marker + '@@VERITY_BENCH@@'.length).trim()) as BenchmarkReport
  writeFileSync(join(here, 'results', `${name}.json`), `${JSON.stringify(report, null, 2)}\n`)
  reports.push(report)
}
process.stdout.write(`${JSON.stringify({ reports, failures }, null, 2)}\n`)
process.exit(failures.length ? 1 : 0)
