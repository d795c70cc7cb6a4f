import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { InvalidInputError } from '../../errors.js'
import { resolvePassphrase } from '../resolve-secrets.js'

type StartOptions = {
  redis: string
  models?: string
  concurrency?: string
  prover?: string
  home: string
  lockMs?: string
  hub?: string
  hubToken?: string
  json?: boolean
}

const positive = (value: string | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidInputError(`--${name} must be a positive integer`, { details: value, hint: `e.g. --${name} 2` })
  return parsed
}

/** Pulls a package by model digest from a Verity hub into the node's models folder (via its own local hub store). */
async function hubFetcher(
  from: string,
  token: string | undefined,
  home: string,
): Promise<(request: { digest: string; name: string; models: string }) => Promise<void>> {
  const [{ openHub }, { fetchReleaseIndex, pullPackage }] = await Promise.all([
    import('../../hub/open-hub.js'),
    import('../../hub/pull-package.js'),
  ])
  const hubToken = token ?? process.env.VERITY_HUB_TOKEN
  const local = await openHub({ dir: join(home, 'hub') })
  return async ({ digest, models }) => {
    const releases = await fetchReleaseIndex({ from, token: hubToken }) // every release's signature is checked
    const release = releases.find((candidate) => candidate.details.package.modelDigest === digest)
    if (!release) throw new Error(`the hub ${from} has no release of model ${digest}`)
    const to = join(models, `${release.name}-${digest.slice('sha256:'.length, 'sha256:'.length + 12)}`)
    if (existsSync(to)) return // pulled before: the node loads it and checks its digest
    await pullPackage({ hub: local, cid: release.packageCid, from, token: hubToken, to })
  }
}

/**
 * `verity prover start --redis URL [--models DIR] [--hub URL] [--concurrency N] [--prover native|wasm] [--home DIR]`:
 * a prover node of the fleet. With `--hub`, a package the node lacks is pulled by its model digest
 * from that Verity hub (`hub serve`): the release is found in the hub's signed index, every block is
 * checked against its CID, and the node still proves only if the installed package has the job's digest. It signs proofs with its key (`<home>/agent-key.json`, created on
 * first start, passphrase from `$VERITY_PASSPHRASE` or `<home>/passphrase`), prints one line per job
 * event (JSON lines with `--json`), and on SIGTERM/SIGINT stops taking jobs, finishes the running
 * ones and exits 0 (a second signal hands them back at once).
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerProverCommands] })
 * ```
 */
export function registerProverCommands(program: Command): void {
  const prover = program.command('prover').description('Prover fleet nodes (BullMQ on Redis)')
  prover
    .command('start')
    .description('Run a prover node: take proof jobs from Redis, prove them, sign and return the proofs')
    .requiredOption('--redis <url>', 'Redis URL of the fleet, e.g. redis://127.0.0.1:6379')
    .option('--models <dir>', 'folder of model packages (found by digest)', 'models')
    .option('--concurrency <n>', 'proofs at once (default 1: a proof already uses every core)')
    .option('--prover <kind>', 'backend that proves: auto (native if installed, else wasm), native, wasm')
    .option('--home <dir>', 'the node home (its key)', '.verity-prover')
    .option('--hub <url>', 'a Verity hub (hub serve) to pull packages the node lacks from, by model digest')
    .option('--hub-token <token>', 'bearer token of that hub (default $VERITY_HUB_TOKEN)')
    .option('--lock-ms <ms>', 'job lock duration: a node that dies hands its job on after this (default 30000)')
    .option('--json', 'print JSON lines')
    .action(async (options: StartOptions) => {
      if (options.prover === 'queue')
        throw new InvalidInputError('A prover node proves itself', { hint: 'Use --prover native or wasm.' })
      const [{ createAgentIdentity, loadAgentIdentity, AGENT_KEYSTORE_FILE }, { createProver }, { startProverNode }] =
        await Promise.all([
          import('../../identity/agent-identity.js'),
          import('../../proofs/create-prover.js'),
          import('../../proofs/prover-node.js'),
        ])
      const home = resolve(options.home)
      const { passphrase } = await resolvePassphrase({ fallback: { from: 'home', home } })
      const identity = existsSync(join(home, AGENT_KEYSTORE_FILE))
        ? await loadAgentIdentity({ home, passphrase })
        : await createAgentIdentity({ home, passphrase })
      const backend = await createProver({
        kind: options.prover as 'auto' | 'native' | 'wasm' | undefined,
        signer: identity.signer,
        workers: 1,
      })
      const lockDurationMs = positive(options.lockMs, 'lock-ms', 30_000)
      const say = (json: Record<string, unknown>, text: string) =>
        process.stdout.write(options.json ? `${JSON.stringify(json)}\n` : `${text}\n`)
      const node = await startProverNode({
        redis: options.redis,
        models: options.models ?? 'models',
        backend,
        signer: identity.signer,
        concurrency: positive(options.concurrency, 'concurrency', 1),
        lockDurationMs,
        stalledIntervalMs: Math.max(500, Math.floor(lockDurationMs / 2)),
        fetchPackage: options.hub ? await hubFetcher(options.hub, options.hubToken, home) : undefined,
        onEvent: (event) =>
          say(
            { ...event, node: identity.address },
            event.type === 'job-failed'
              ? `job ${event.jobId} failed${event.final ? ' (dead-lettered)' : ''}: ${event.reason}`
              : event.type === 'job-completed'
                ? `job ${event.jobId} proven in ${Math.round(event.proveMs)} ms`
                : `job ${event.jobId} started (attempt ${event.attempt})`,
          ),
      })
      say(
        { type: 'node-started', node: identity.address, backend: backend.kind, models: node.models(), pid: process.pid },
        `prover node ${identity.address} (${backend.kind}) serving ${node.models().length} package(s); Ctrl-C to stop`,
      )
      await new Promise<void>((resolveStop) => {
        let stopping = false
        const stop = () => {
          if (stopping) {
            void node.close({ force: true }).finally(resolveStop)
            return
          }
          stopping = true
          void node.close().finally(resolveStop)
        }
        process.on('SIGTERM', stop)
        process.on('SIGINT', stop)
      })
      say({ type: 'node-stopped', node: identity.address }, 'prover node stopped')
    })
}
