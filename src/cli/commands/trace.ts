import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { traceBodyKey } from '../../agent/trace-body-key.js'
import { InvalidInputError, TraceVerificationError } from '../../errors.js'
import { createTraceReceiptVerifier } from '../../tools/trace-receipt-verifier.js'
import type { TraceCheckpointLine } from '../../trace/entry.js'
import { revealTrace, traceOrigin } from '../../trace/reveal-trace.js'
import { sendTraceToOtlp } from '../../trace/send-otlp.js'
import { traceTimeline } from '../../trace/trace-timeline.js'
import type { TraceVerificationReport } from '../../trace/verify-trace.js'
import { verifyTrace } from '../../trace/verify-trace.js'
import { addEmbedderOption } from '../embedder-option.js'
import { BUNDLED_MODELS_DIR } from '../home.js'
import { printResult } from '../output.js'
import { openForCommand } from './vault.js'

/**
 * `verity trace verify FILE`, `verity trace show FILE [--vault DIR]`, `verity trace reveal FILE --vault DIR`.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerTraceCommands] })
 * ```
 */
export function registerTraceCommands(program: Command): void {
  const trace = program.command('trace').description('Check and read signed decision traces')
  trace
    .command('verify')
    .description('Verify a trace offline: hash chain, signatures, seq order, Merkle checkpoints, blobs and linked receipts')
    .argument('<file>', 'trace .jsonl file')
    .option('--allow-incomplete', 'accept a run that has not ended (still open or cut short): report it instead of failing')
    .option('--require-complete', 'the default: fail unless the run ended (kept for older scripts)')
    .option('--checkpoint <file...>', 'trusted checkpoint JSON file(s) (e.g. anchored) the trace must contain')
    .option('--receipts <dir...>', 'receipt folders (<id>.json + <id>.proof.json; default: receipts/ beside the trace)')
    .option('--models <dir...>', 'model packages or folders of them (default: ./models and the bundled models)')
    .option('--anchored <address>', 'check the trace against its checkpoint anchored in this TraceAnchor (see `verity chain`)')
    .option('--rpc <url>', 'with --anchored: JSON-RPC URL')
    .option('--json', 'print JSON')
    .action(
      async (
        file: string,
        options: {
          anchored?: string
          rpc?: string
          allowIncomplete?: boolean
          requireComplete?: boolean
          checkpoint?: string[]
          receipts?: string[]
          models?: string[]
          json?: boolean
        },
      ) => {
        if (options.anchored)
          return (await import('./chain.js')).verifyAnchoredTraceAction(file, { ...options, anchored: options.anchored })
        const trustedCheckpoints = (options.checkpoint ?? []).map((path) => readCheckpoint(path))
        // Linked receipts are checked through the proofs module when receipts are at hand.
        const receiptDirectories = options.receipts ?? [join(dirname(resolve(file)), 'receipts')].filter((dir) => existsSync(dir))
        const receipts =
          receiptDirectories.length > 0
            ? createTraceReceiptVerifier({
                receiptDirectories,
                modelDirectories: options.models ?? ['models', BUNDLED_MODELS_DIR],
              })
            : undefined
        const report = await verifyTrace({
          path: resolve(file),
          allowIncomplete: options.allowIncomplete ?? false,
          trustedCheckpoints,
          verifyReceipt: receipts?.verifyReceipt,
        })
        printResult(options, report, () => humanReport(report))
        if (!report.ok) {
          const failure = report.firstFailure
          throw new TraceVerificationError('Trace verification failed', {
            details: failure
              ? `${failure.what}${failure.seq === undefined ? '' : ` seq ${failure.seq}`}${failure.line ? ` (line ${failure.line})` : ''}, ${failure.field}: ${failure.reason}`
              : undefined,
            hint: 'The trace was changed, cut short or signed by another key since it was written; see the failures listed. A run still being written verifies with --allow-incomplete.',
            docsPath: 'trace-format.md',
            meta: { firstFailure: failure, failures: report.failures.length },
          })
        }
      },
    )
  trace
    .command('export')
    .description('Send a trace as OpenTelemetry GenAI spans to an OTLP/HTTP collector')
    .argument('<file>', 'trace .jsonl file')
    .requiredOption('--otlp <url>', 'OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces')
    .option('--header <name=value...>', 'extra HTTP header(s) for the collector')
    .option('--service-name <name>', 'service.name of the exported resource (default verity)')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { otlp: string; header?: string[]; serviceName?: string; json?: boolean }) => {
      const headers: Record<string, string> = {}
      for (const header of options.header ?? []) {
        const at = header.indexOf('=')
        if (at <= 0)
          throw new InvalidInputError('A header must be name=value', { details: header, hint: '--header authorization=Bearer…' })
        headers[header.slice(0, at)] = header.slice(at + 1)
      }
      const result = await sendTraceToOtlp({
        path: resolve(file),
        url: options.otlp,
        headers,
        serviceName: options.serviceName,
      })
      printResult(
        options,
        result,
        () =>
          `sent ${result.spans} spans (trace id ${result.traceId}${result.verified ? '' : ', trace FAILED verification'}) to ${result.url}`,
      )
    })
  addEmbedderOption(trace.command('reveal'))
    .description("Reveal the sealed (private) bodies of a trace with the owner's vault")
    .argument('<file>', 'trace .jsonl file')
    .requiredOption('--vault <dir>', 'the vault the agent ran with (passphrase from VERITY_PASSPHRASE or a prompt)')
    .option('--seq <n...>', 'only these entries (default: every entry)')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { json?: boolean; vault: string; seq?: string[] }) => {
      const path = resolve(file)
      const seqs = options.seq?.map((value) => {
        const seq = Number(value)
        if (!Number.isSafeInteger(seq) || seq < 0)
          throw new InvalidInputError('--seq takes entry numbers', { details: value, hint: 'e.g. --seq 3 4' })
        return seq
      })
      const key = await bodyKeyFromVault(path, options.vault, options)
      const { origin, entries } = revealTrace({ path, key, seqs })
      printResult(options, { path, origin, entries }, () =>
        entries
          .map(
            (entry) =>
              `${String(entry.seq).padStart(5)}  ${entry.kind.padEnd(14)} ${entry.sealed ? 'revealed ' : 'public   '}${JSON.stringify(entry.body ?? null)}`,
          )
          .join('\n'),
      )
    })
  addEmbedderOption(trace.command('show'))
    .description('Print a readable timeline of a trace: seq, time, kind, summary, refs, receipt status')
    .argument('<file>', 'trace .jsonl file')
    .option('--vault <dir>', "the owner's vault: show sealed bodies revealed (passphrase from VERITY_PASSPHRASE or a prompt)")
    .option('--json', 'print JSON')
    .action(async (file: string, options: { json?: boolean; vault?: string }) => {
      const path = resolve(file)
      const bodyKey = options.vault ? await bodyKeyFromVault(path, options.vault, options) : undefined
      const { rows, report } = await traceTimeline({ path, bodyKey })
      const verification = {
        ok: report.ok,
        complete: report.complete,
        entries: report.entries,
        agents: report.agents,
        firstFailure: report.firstFailure,
        withheld: report.withheld.length,
        unchecked: report.unchecked.length,
      }
      printResult(options, { path: report.path, origin: report.origin, verification, entries: rows }, () => {
        const lines = rows.map((row) => {
          const refs = row.refs.length
            ? `  refs: ${row.refs.map((ref) => `${ref.type}:${ref.digest.slice(0, 19)}…`).join(', ')}`
            : ''
          const receipt = row.receiptStatus ? `  receipt: ${row.receiptStatus}` : ''
          return `${String(row.seq).padStart(5)}  ${row.time}  ${row.kind.padEnd(14)} ${row.summary}${refs}${receipt}`
        })
        const verdict = report.ok
          ? `verified${report.complete ? ', complete' : ', not ended'}`
          : `FAILED at ${report.firstFailure?.what} ${report.firstFailure?.seq ?? ''} ${report.firstFailure?.field}: ${report.firstFailure?.reason}`
        return [`trace ${report.origin ?? report.path}`, ...lines, `${report.entries} entries; ${verdict}`].join('\n')
      })
    })
}

function readCheckpoint(path: string): TraceCheckpointLine {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TraceCheckpointLine
  } catch (cause) {
    throw new InvalidInputError('Could not read the checkpoint file', { details: `${path}: ${(cause as Error).message}`, cause })
  }
}

function humanReport(report: TraceVerificationReport): string {
  const lines = [
    `${report.ok ? 'OK' : 'FAILED'}  ${report.path}`,
    `  origin: ${report.origin ?? '(unknown)'}`,
    `  agents: ${report.agents.join(' → ') || '(none)'}`,
    `  entries: ${report.entries}, checkpoints: ${report.checkpoints}, root: ${report.root}`,
    `  complete: ${report.complete ? 'yes (run-end + final checkpoint)' : 'no'}`,
  ]
  for (const problem of report.incomplete) lines.push(`  not complete: ${problem.field}: ${problem.reason}`)
  if (report.receipts.length > 0)
    lines.push(`  receipts: ${report.receipts.map((receipt) => `seq ${receipt.seq} ${receipt.status}`).join(', ')}`)
  if (report.firstFailure) {
    const failure = report.firstFailure
    lines.push(
      `  first failure: ${failure.what}${failure.seq === undefined ? '' : ` seq ${failure.seq}`}${failure.line ? ` line ${failure.line}` : ''} field ${failure.field}: ${failure.reason}`,
    )
    if (report.failures.length > 1) lines.push(`  (${report.failures.length - 1} more failures; use --json for all)`)
  }
  if (report.tornTail) lines.push(`  torn last line ${report.tornTail.lineNumber}: ${report.tornTail.reason}`)
  for (const item of report.withheld) lines.push(`  withheld body: seq ${item.seq} (${item.bodyDigest})`)
  for (const item of report.unchecked) lines.push(`  unchecked: seq ${item.seq} ${item.what}: ${item.reason}`)
  return lines.join('\n')
}

/** The body key of a trace, read from the owner's vault (opened read-only with the CLI's passphrase resolution). */
async function bodyKeyFromVault(tracePath: string, vaultDirectory: string, options: { json?: boolean }): Promise<Uint8Array> {
  const vault = await openForCommand(resolve(vaultDirectory), options, true)
  try {
    return await traceBodyKey({ vault, origin: traceOrigin(tracePath) })
  } finally {
    await vault.close()
  }
}
