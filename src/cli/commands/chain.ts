import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { InvalidInputError, ProofError } from '../../errors.js'
import { type ChainOptions, withChain, withChainOptions } from '../chain-options.js'
import { printResult } from '../output.js'
import { readReceiptFiles } from '../receipt-files.js'

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

function address(value: string, what: string): string {
  if (!ADDRESS.test(value))
    throw new InvalidInputError(`${what} is not an address`, { details: value, hint: '0x + 40 hex digits' })
  return value
}

function note(options: ChainOptions, text: string): void {
  if (!options.json) process.stderr.write(`${text}\n`)
}

/** Appends a deployment to the package manifest's `evm` list (atomic replace; the package digest is unchanged). */
function recordDeployment(dir: string, deployment: Record<string, unknown>): void {
  const path = join(dir, 'verity-model.json')
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { evm?: unknown[] }
  manifest.evm = [...(manifest.evm ?? []), deployment]
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(manifest, null, 2)}\n`)
  renameSync(temporary, path)
}

/**
 * `--on-chain ADDRESS`: verifies a receipt's proof with an EVM verifier (also `verity proof verify --on-chain`).
 *
 * @example
 * ```ts
 * await verifyReceiptOnChainAction('receipt.json', { onChain: '0x…', rpc: 'http://127.0.0.1:8545' })
 * ```
 */
export async function verifyReceiptOnChainAction(
  receiptFile: string,
  options: ChainOptions & { onChain?: string; vk?: string; proof?: string; model?: string },
): Promise<void> {
  const [{ loadModelPackage }, { deployVerifier }, { verifyOnChain }, { BUNDLED_MODELS_DIR }] = await Promise.all([
    import('../../proofs/model-package.js'),
    import('../../chain/evm-verifier.js'),
    import('../../chain/verify-on-chain.js'),
    import('../home.js'),
  ])
  const { receipt, proof } = readReceiptFiles({ receipt: receiptFile, proof: options.proof })
  const model = loadModelPackage({ dir: options.model ?? join(BUNDLED_MODELS_DIR, 'transaction-risk') })
  const result = await withChain(options, async (client) => {
    let verifier = options.onChain ? address(options.onChain, '--on-chain') : undefined
    let vk = options.vk ? address(options.vk, '--vk') : undefined
    if (!verifier) {
      note(options, 'no --on-chain: deploying the verifier on the in-process dev chain first...')
      const deployment = await deployVerifier({ client, package: model })
      verifier = deployment.verifier
      vk = deployment.vk
    }
    return {
      verifier,
      chainId: client.chainId.toString(),
      ...(await verifyOnChain({
        client,
        verifier,
        vk,
        proof,
        receipt,
        outputScales: model.manifest.ezkl.outputScales,
        outputSizes: model.manifest.outputs.map((tensor) => tensor.shape.reduce((a, b) => a * b, 1)),
      })),
    }
  })
  if (!result.valid)
    throw new ProofError('The verifier on chain does not accept the receipt', {
      details: result.reason,
      hint: 'The receipt, the proof or the verifier belong to different models, or one was changed.',
      docsPath: 'chain.md',
    })
  printResult(
    options,
    { valid: true, verifier: result.verifier, chainId: result.chainId, gas: result.gas?.toString() },
    () => `valid on chain ${result.chainId}: verifier ${result.verifier} accepts the proof (${result.gas} gas as a transaction)`,
  )
}

/**
 * `--anchored ADDRESS`: checks a local trace against its anchored checkpoint (also `verity trace verify --anchored`).
 *
 * @example
 * ```ts
 * await verifyAnchoredTraceAction('run.trace.jsonl', { anchored: '0x…', rpc: 'http://127.0.0.1:8545' })
 * ```
 */
export async function verifyAnchoredTraceAction(tracePath: string, options: ChainOptions & { anchored: string }): Promise<void> {
  const [{ verifyAnchoredTrace }, { attachVerityContract }, { TraceVerificationError }] = await Promise.all([
    import('../../chain/trace-anchor.js'),
    import('../../chain/verity-contracts.js'),
    import('../../errors.js'),
  ])
  const verdict = await withChain(options, async (client) => {
    const anchor = await attachVerityContract({
      client,
      name: 'TraceAnchor',
      address: address(options.anchored, '--anchored'),
    })
    return verifyAnchoredTrace({ anchor, path: resolve(tracePath) })
  })
  if (!verdict.ok)
    throw new TraceVerificationError(`The trace is ${verdict.status} with respect to its anchor`, {
      details: verdict.reason,
      hint: 'The local log is not the one that was anchored: restore it from a copy you trust.',
      docsPath: 'chain.md',
      meta: { status: verdict.status },
    })
  printResult(options, verdict, () => `consistent: ${verdict.reason}`)
}

/**
 * Anchors the latest checkpoint of a trace (`verity chain anchor`, `verity trace anchor`).
 *
 * @example
 * ```ts
 * await anchorTraceAction('run.trace.jsonl', { anchor: '0x…', rpc: 'http://127.0.0.1:8545' })
 * ```
 */
export async function anchorTraceAction(tracePath: string, options: ChainOptions & { anchor: string }): Promise<void> {
  const [{ anchorCheckpoint, latestCheckpoint }, { attachVerityContract }, { recordTraceAnchor }] = await Promise.all([
    import('../../chain/trace-anchor.js'),
    import('../../chain/verity-contracts.js'),
    import('../../chain/trace-anchor-record.js'),
  ])
  const checkpoint = await latestCheckpoint(resolve(tracePath))
  const result = await withChain(options, async (client) => {
    const contract = address(options.anchor, '--anchor')
    const anchor = await attachVerityContract({ client, name: 'TraceAnchor', address: contract })
    const sent = await anchorCheckpoint({ anchor, checkpoint })
    // Where it was anchored, beside the trace (the daemon's explorer shows and re-checks it). The anchor is on chain
    // already: a record that cannot be written is a warning, not a failed command.
    try {
      recordTraceAnchor({ tracePath: resolve(tracePath), checkpoint, chainId: client.chainId, contract, transaction: sent })
    } catch (error) {
      process.stderr.write(`warning: anchored, but the anchor record was not written: ${(error as Error).message}\n`)
    }
    return sent
  })
  printResult(
    options,
    {
      origin: checkpoint.origin,
      agent: checkpoint.agent,
      size: checkpoint.size,
      root: checkpoint.root,
      transaction: result.hash,
      gas: result.gasUsed.toString(),
    },
    () =>
      `anchored ${checkpoint.origin} at size ${checkpoint.size} (root ${checkpoint.root}) in ${result.hash}, ${result.gasUsed} gas`,
  )
}

/**
 * Adds `verity trace anchor FILE --anchor ADDRESS` to the existing `trace` command group.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerTraceCommands, registerTraceAnchorCommand] })
 * ```
 */
export function registerTraceAnchorCommand(program: Command): void {
  const trace = program.commands.find((command) => command.name() === 'trace') ?? program.command('trace')
  addAnchorCommand(trace, 'Anchor the latest signed checkpoint of a trace in a TraceAnchor contract (see `verity chain`)')
}

/** `anchor <trace> --anchor ADDRESS` with the chain options, under `verity chain` and `verity trace`. */
function addAnchorCommand(group: Command, description: string): void {
  withChainOptions(
    group
      .command('anchor')
      .description(description)
      .argument('<trace>', 'trace .jsonl file')
      .requiredOption('--anchor <address>', 'the TraceAnchor contract'),
  ).action(anchorTraceAction)
}

/**
 * `verity chain verifier|verify|deploy|anchor|verify-trace`: EVM verifiers, on-chain verification and trace anchoring.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerChainCommands] })
 * ```
 */
export function registerChainCommands(program: Command): void {
  const chain = program.command('chain').description('EVM verifiers, on-chain proof verification, trace anchoring')

  withChainOptions(
    chain
      .command('verifier')
      .description("Render the package's Halo2 verifier with ezkl, compile it with solc-js and deploy it")
      .argument('<package>', 'model package folder')
      .option('--reusable', 'deploy the reusable verifier plus this model’s VK artifact')
      .option('--reusable-verifier <address>', 'an already deployed reusable verifier: deploy only the VK artifact')
      .option('--no-record', 'do not record the deployment in the package manifest'),
  ).action(
    async (packageDir: string, options: ChainOptions & { reusable?: boolean; reusableVerifier?: string; record?: boolean }) => {
      const [{ loadModelPackage }, { deployVerifier }] = await Promise.all([
        import('../../proofs/model-package.js'),
        import('../../chain/evm-verifier.js'),
      ])
      const model = loadModelPackage({ dir: packageDir })
      const reusableVerifier = options.reusableVerifier ? address(options.reusableVerifier, '--reusable-verifier') : undefined
      note(options, 'rendering the verifier with ezkl, compiling with solc-js (first compile ~1 min, then cached)...')
      const deployment = await withChain(options, (client) =>
        deployVerifier({
          client,
          package: model,
          reusable: options.reusable === true || reusableVerifier !== undefined,
          reusableVerifier,
        }),
      )
      const recorded = {
        chainId: deployment.chainId,
        verifier: deployment.verifier,
        ...(deployment.vk ? { vk: deployment.vk } : {}),
        reusable: deployment.reusable,
        bytecodeDigest: deployment.bytecodeDigest,
        ...(deployment.vkBytecodeDigest ? { vkBytecodeDigest: deployment.vkBytecodeDigest } : {}),
        deployedAt: deployment.deployedAt,
      }
      const record = options.record !== false && options.rpc !== undefined
      if (record) recordDeployment(model.dir, recorded)
      const gas = {
        verifier: deployment.verifierDeployment?.gasUsed.toString(),
        vk: deployment.vkDeployment?.gasUsed.toString(),
      }
      printResult(options, { ...recorded, gas, recorded: record }, () =>
        [
          `verifier ${deployment.verifier}${deployment.vk ? ` (reusable; VK artifact ${deployment.vk})` : ''} on chain ${deployment.chainId}`,
          `bytecode ${deployment.bytecodeDigest}`,
          `gas: verifier ${gas.verifier ?? 'reused'}${gas.vk ? `, VK artifact ${gas.vk}` : ''}`,
          record ? `recorded in ${join(model.dir, 'verity-model.json')}` : 'not recorded (in-process chain or --no-record)',
        ].join('\n'),
      )
    },
  )

  withChainOptions(
    chain
      .command('verify')
      .description('Verify a receipt’s proof with an EVM verifier (eth_call) and report the result and gas')
      .argument('<receipt>', 'receipt JSON file')
      .option('--on-chain <address>', 'the verifier contract (default: deploy one on the in-process dev chain)')
      .option('--vk <address>', 'VK artifact, for a reusable verifier')
      .option('--proof <file>', 'proof file (default: RECEIPT with .proof.json)')
      .option('--model <dir>', 'model package (default: the bundled transaction-risk package)'),
  ).action(verifyReceiptOnChainAction)

  withChainOptions(
    chain
      .command('deploy')
      .description('Deploy one of Verity’s contracts: TraceAnchor, ModelRegistry, ProverMarket')
      .argument('<contract>', 'TraceAnchor | ModelRegistry | ProverMarket'),
  ).action(async (name: string, options: ChainOptions) => {
    if (!['TraceAnchor', 'ModelRegistry', 'ProverMarket'].includes(name))
      throw new InvalidInputError(`Unknown contract ${name}`, {
        hint: 'One of TraceAnchor, ModelRegistry, ProverMarket (RiskGate takes arguments: use the SDK).',
      })
    const { deployVerityContract } = await import('../../chain/verity-contracts.js')
    const deployed = await withChain(options, (client) =>
      deployVerityContract({ client, name: name as 'TraceAnchor' | 'ModelRegistry' | 'ProverMarket' }).then((value) => ({
        ...value,
        chainId: client.chainId.toString(),
        from: client.address,
      })),
    )
    printResult(
      options,
      {
        contract: name,
        address: deployed.address,
        chainId: deployed.chainId,
        from: deployed.from,
        gas: deployed.deployment.gasUsed.toString(),
      },
      () => `${name} at ${deployed.address} on chain ${deployed.chainId} (${deployed.deployment.gasUsed} gas)`,
    )
  })

  addAnchorCommand(chain, 'Anchor the latest signed checkpoint of a trace in a TraceAnchor contract')

  withChainOptions(
    chain
      .command('verify-trace')
      .description('Check a local trace against its anchored checkpoint (RFC 9162 consistency proof)')
      .argument('<trace>', 'trace .jsonl file')
      .requiredOption('--anchored <address>', 'the TraceAnchor contract'),
  ).action(verifyAnchoredTraceAction)
}
