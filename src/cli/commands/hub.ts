import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import type { ModelReleaseRegistry } from '../../chain/release-registry.js'
import { InvalidInputError } from '../../errors.js'
import type { AgentIdentity } from '../../identity/agent-identity.js'
import { printResult } from '../output.js'
import { createProgressBar } from '../progress.js'

type HubOptions = { hub?: string; json?: boolean }
type SignerOptions = HubOptions & { home?: string }

async function hubFor(options: HubOptions) {
  const { openHub } = await import('../../hub/open-hub.js')
  return openHub({ dir: options.hub })
}

async function identityFor(options: SignerOptions): Promise<AgentIdentity> {
  const { AGENT_KEYSTORE_FILE, createAgentIdentity, loadAgentIdentity } = await import('../../identity/agent-identity.js')
  const { resolvePassphrase } = await import('../resolve-secrets.js')
  const home = options.home ?? process.env.VERITY_AGENT_HOME ?? '.verity-agent'
  const { passphrase } = await resolvePassphrase({ fallback: { from: 'home', home } })
  return existsSync(join(home, AGENT_KEYSTORE_FILE))
    ? loadAgentIdentity({ home, passphrase })
    : createAgentIdentity({ home, passphrase })
}

function parseVerifier(text: string | undefined): { chainId: number; address: string } | undefined {
  if (!text) return undefined
  const match = /^(\d+):(0x[0-9a-fA-F]{40})$/.exec(text)
  if (!match) throw new InvalidInputError('Bad --verifier', { details: text, hint: 'Use CHAIN_ID:0xADDRESS, e.g. 31337:0xAbC…' })
  return { chainId: Number(match[1]), address: match[2] as string }
}

function isCid(text: string): boolean {
  return /^(bafy|bafk|Qm)[a-zA-Z0-9]+$/.test(text)
}

type RegistryOptions = SignerOptions & { registry?: string; rpc?: string }

/**
 * Runs `run` with the `--registry` ModelRegistry on `--rpc` (or `undefined` without `--registry`).
 * `send`: transactions are signed with the `--home` keystore, as every chain command does; reads need no account.
 */
async function withRegistry<T>(
  options: RegistryOptions,
  mode: 'send' | 'read',
  run: (registry: ModelReleaseRegistry | undefined) => Promise<T>,
): Promise<T> {
  if (!options.registry) {
    if (options.rpc)
      throw new InvalidInputError('--rpc is for --registry', { hint: 'Pass --registry ADDRESS too, or drop --rpc.' })
    return run(undefined)
  }
  const registryAddress = options.registry
  if (!options.rpc)
    throw new InvalidInputError('--registry needs --rpc', {
      details: registryAddress,
      hint: 'Pass the JSON-RPC URL of the chain the ModelRegistry is deployed on.',
      docsPath: 'hub.md',
    })
  const { openReleaseRegistry } = await import('../../chain/release-registry.js')
  if (mode === 'send') {
    const { withChain } = await import('../chain-options.js')
    return withChain(options, async (client) => run(await openReleaseRegistry({ client, address: registryAddress })))
  }
  const [{ connectChain }, { Wallet }] = await Promise.all([import('../../chain/chain-client.js'), import('ethers')])
  // reads only: a throwaway key stands in for the sender, so no keystore is opened and no node account is needed
  const client = await connectChain({ rpc: options.rpc, privateKey: Wallet.createRandom().privateKey })
  try {
    return await run(await openReleaseRegistry({ client, address: registryAddress }))
  } finally {
    await client.close()
  }
}

function registrationSummary(registry: ModelReleaseRegistry | undefined, transaction: string | undefined) {
  return registry && transaction
    ? { address: registry.contract.target as string, chainId: registry.chainId, transaction }
    : undefined
}

const hubOption = ['--hub <dir>', 'hub folder (default: $VERITY_HUB_HOME or ~/.verity/hub)'] as const
const homeOption = ['--home <dir>', 'publisher key home (default: $VERITY_AGENT_HOME or ./.verity-agent)'] as const
const registryOption = ['--registry <address>', 'a ModelRegistry contract (see `verity chain deploy ModelRegistry`)'] as const
const rpcOption = ['--rpc <url>', 'JSON-RPC URL of the chain of --registry'] as const

/**
 * `verity hub publish|pull|list|log|fork|verify|export|import|serve`.
 *
 * @example
 * ```ts
 * createProgram({ registrations: [registerHubCommands] })
 * ```
 */
export function registerHubCommands(program: Command): void {
  const hub = program.command('hub').description('Content-addressed, signed, versioned model packages (IPFS-compatible)')

  hub
    .command('publish')
    .description('Add a model package to the hub and sign a release of it')
    .argument('<package>', 'model package folder')
    .option('--name <name>', 'release name (default: the package name)')
    .option('--release-version <semver>', 'release version (default: the package version)')
    .option('--verifier <chain:address>', 'deployed EVM verifier of this model')
    .option(...registryOption)
    .option(...rpcOption)
    .option(...hubOption)
    .option(...homeOption)
    .option('--json', 'print JSON')
    .action(async (dir: string, options: RegistryOptions & { name?: string; releaseVersion?: string; verifier?: string }) => {
      const { publishRelease } = await import('../../hub/publish-release.js')
      const progress = createProgressBar({ enabled: !options.json })
      try {
        const hubHandle = await hubFor(options)
        const signer = (await identityFor(options)).signer
        const { release, newBlocks, reusedBlocks, registry } = await withRegistry(options, 'send', async (opened) => {
          const published = await publishRelease({
            hub: hubHandle,
            dir,
            signer,
            name: options.name,
            version: options.releaseVersion,
            verifier: parseVerifier(options.verifier),
            registry: opened,
            onProgress: progress.report,
          })
          return { ...published, registry: registrationSummary(opened, published.registration?.transaction) }
        })
        progress.stop()
        printResult(options, { release, newBlocks, reusedBlocks, registry }, () =>
          [
            `published ${release.publisher}/${release.name}@${release.version}`,
            `package ${release.packageCid}`,
            `release ${release.id}`,
            `blocks: ${newBlocks} new, ${reusedBlocks} already stored`,
            ...(registry
              ? [
                  `recorded in ModelRegistry ${registry.address} on chain ${registry.chainId}: transaction ${registry.transaction}`,
                ]
              : []),
          ].join('\n'),
        )
      } finally {
        progress.stop()
      }
    })

  hub
    .command('pull')
    .description('Fetch a package (by release name or CID) from a Verity hub or any IPFS gateway, checking every block')
    .argument('<ref>', 'NAME[@VERSION], 0xPUBLISHER/NAME[@VERSION] or a CID')
    .option('--from <url>', 'a Verity hub (hub serve) or an IPFS gateway; default: this hub only')
    .option('--token <token>', 'bearer token of the remote hub (default $VERITY_HUB_TOKEN)')
    .option('--to <dir>', 'install the package folder here')
    .option(...registryOption)
    .option(...rpcOption)
    .option(...hubOption)
    .option('--json', 'print JSON')
    .action(async (reference: string, options: RegistryOptions & { from?: string; token?: string; to?: string }) => {
      const { pullPackage, fetchReleaseIndex, pickRelease } = await import('../../hub/pull-package.js')
      const { parseReleaseReference } = await import('../../hub/release-store.js')
      const localHub = await hubFor(options)
      const token = options.token ?? process.env.VERITY_HUB_TOKEN
      let release: import('../../hub/release.js').Release | undefined
      let registered: { address: string; chainId: number } | undefined
      if (options.registry) {
        const parsed = isCid(reference) ? undefined : parseReleaseReference(reference)
        if (!parsed?.version)
          throw new InvalidInputError('--registry resolves NAME@VERSION', {
            details: reference,
            hint: 'Name the version: verity hub pull NAME@VERSION --registry ADDRESS --rpc URL.',
            docsPath: 'hub.md',
          })
        const { resolveRegisteredRelease } = await import('../../hub/release-registry.js')
        const candidates = [
          ...(options.from ? await fetchReleaseIndex({ from: options.from, token }) : []),
          ...localHub.releases.all(),
        ].filter((candidate) => !parsed.publisher || candidate.publisher.toLowerCase() === parsed.publisher.toLowerCase())
        const version = parsed.version
        release = await withRegistry(options, 'read', async (registry) => {
          if (!registry) throw new InvalidInputError('--registry is missing')
          registered = { address: registry.contract.target as string, chainId: registry.chainId }
          return (await resolveRegisteredRelease({ registry, name: parsed.name, version, releases: candidates })).release
        })
      } else if (!isCid(reference)) {
        const parsed = parseReleaseReference(reference)
        if (options.from) {
          release = pickRelease(await fetchReleaseIndex({ from: options.from, token }), parsed)
          if (!release)
            throw new InvalidInputError('The remote hub has no such release', { details: `${options.from}: ${reference}` })
        } else release = localHub.releases.resolve(parsed)
      }
      const progress = createProgressBar({ enabled: !options.json })
      try {
        const pulled = await pullPackage({
          hub: localHub,
          cid: release?.packageCid ?? reference,
          from: options.from,
          token,
          to: options.to,
          onProgress: progress.report,
        })
        if (release) await localHub.releases.save(release)
        progress.stop()
        printResult(options, { ...pulled, cid: pulled.cid.toString(), release, registry: registered }, () =>
          [
            `pulled ${pulled.cid.toString()}${release ? ` (${release.publisher}/${release.name}@${release.version}, signature checked)` : ''}`,
            ...(registered
              ? [`resolved through ModelRegistry ${registered.address} on chain ${registered.chainId}; entry matches the release`]
              : []),
            `${pulled.blocks} blocks checked, ${pulled.fetchedBlocks} fetched (${pulled.fetchedBytes} bytes)`,
            ...(pulled.dir ? [`installed in ${pulled.dir}`] : []),
          ].join('\n'),
        )
      } finally {
        progress.stop()
      }
    })

  hub
    .command('register')
    .description('Record a release already in this hub in a ModelRegistry (as `publish --registry` does)')
    .argument('<ref>', 'NAME@VERSION or 0xPUBLISHER/NAME@VERSION')
    .requiredOption(...registryOption)
    .requiredOption(...rpcOption)
    .option(...hubOption)
    .option(...homeOption)
    .option('--json', 'print JSON')
    .action(async (reference: string, options: RegistryOptions) => {
      const { registerRelease } = await import('../../hub/release-registry.js')
      const { parseReleaseReference } = await import('../../hub/release-store.js')
      const release = (await hubFor(options)).releases.resolve(parseReleaseReference(reference))
      const registry = await withRegistry(options, 'send', async (opened) => {
        if (!opened) throw new InvalidInputError('--registry is missing')
        return registrationSummary(opened, (await registerRelease({ registry: opened, release })).transaction)
      })
      printResult(
        options,
        { release, registry },
        () =>
          `recorded ${release.publisher}/${release.name}@${release.version} in ModelRegistry ${registry?.address} on chain ${registry?.chainId}: transaction ${registry?.transaction}`,
      )
    })

  hub
    .command('list')
    .description('List the releases in this hub (every signature checked)')
    .option(...hubOption)
    .option('--json', 'print JSON')
    .action(async (options: HubOptions) => {
      const releases = (await hubFor(options)).releases.all()
      printResult(options, { releases }, () =>
        releases.length
          ? releases.map((r) => `${r.publisher}/${r.name}@${r.version}  ${r.packageCid}`).join('\n')
          : 'no releases',
      )
    })

  hub
    .command('log')
    .description("A release's history back to its origin, across forks, signatures and links checked")
    .argument('<name>', 'NAME[@VERSION] or 0xPUBLISHER/NAME[@VERSION]')
    .option(...hubOption)
    .option('--json', 'print JSON')
    .action(async (reference: string, options: HubOptions) => {
      const { releaseLog } = await import('../../hub/release-log.js')
      const log = releaseLog({ hub: await hubFor(options), reference })
      printResult(options, log, () =>
        [
          ...log.entries.map(
            ({ release, link }) =>
              `${release.publisher}/${release.name}@${release.version}  ${release.packageCid}  ${new Date(release.createdAt * 1000).toISOString()}  [${link}]`,
          ),
          log.complete ? 'history complete, all signatures valid' : 'history incomplete: an ancestor is not in this hub',
        ].join('\n'),
      )
    })

  hub
    .command('fork')
    .description('Start a new name (under your address) whose parent is another release')
    .argument('<source>', 'NAME@VERSION or 0xPUBLISHER/NAME@VERSION')
    .requiredOption('--name <name>', 'the new name')
    .option('--release-version <semver>', 'first version of the fork (default: the source version)')
    .option(...registryOption)
    .option(...rpcOption)
    .option(...hubOption)
    .option(...homeOption)
    .option('--json', 'print JSON')
    .action(async (source: string, options: RegistryOptions & { name: string; releaseVersion?: string }) => {
      const { forkRelease } = await import('../../hub/publish-release.js')
      const hubHandle = await hubFor(options)
      const signer = (await identityFor(options)).signer
      const { release, registry } = await withRegistry(options, 'send', async (opened) => {
        const forked = await forkRelease({
          hub: hubHandle,
          source,
          name: options.name,
          version: options.releaseVersion,
          signer,
          registry: opened,
        })
        return { ...forked, registry: registrationSummary(opened, forked.registration?.transaction) }
      })
      printResult(options, { release, registry }, () =>
        [
          `forked ${source} as ${release.publisher}/${release.name}@${release.version}`,
          ...(registry
            ? [`recorded in ModelRegistry ${registry.address} on chain ${registry.chainId}: transaction ${registry.transaction}`]
            : []),
        ].join('\n'),
      )
    })

  hub
    .command('verify')
    .description('Check a package: a CID (every block in this hub) or a folder (its CID, file digests, releases naming it)')
    .argument('<target>', 'CID or package folder')
    .option(...hubOption)
    .option('--json', 'print JSON')
    .action(async (target: string, options: HubOptions) => {
      const localHub = await hubFor(options)
      let cid: string
      let blocks = 0
      if (isCid(target)) {
        const { walkDag } = await import('../../hub/dag-walk.js')
        const { parseCid } = await import('../../hub/block-check.js')
        for await (const _ of walkDag({ root: parseCid(target), getBlock: (c) => localHub.blocks.getBytes(c) })) blocks += 1
        cid = parseCid(target).toString()
      } else {
        const { addFolder } = await import('../../hub/add-folder.js')
        const { loadModelPackage } = await import('../../proofs/model-package.js')
        // a model package's file digests are checked too; any other folder just gets its CID
        if (existsSync(join(target, 'verity-model.json'))) loadModelPackage({ dir: target, skipEngineValidation: true })
        const added = await addFolder({ dir: target, blockstore: { put: async (c) => c } })
        cid = added.cid.toString()
      }
      const releases = localHub.releases.all().filter((release) => release.packageCid === cid)
      printResult(options, { cid, blocks, releases }, () =>
        [
          `ok ${cid}${blocks ? ` (${blocks} blocks checked)` : ''}`,
          ...releases.map((r) => `named by ${r.publisher}/${r.name}@${r.version} (signature valid)`),
        ].join('\n'),
      )
    })

  hub
    .command('export')
    .description('Write a package (CID or release) as a CAR file, for ipfs dag import or hub import')
    .argument('<ref>', 'CID or release name')
    .requiredOption('--car <file>', 'CAR file to write')
    .option(...hubOption)
    .option('--json', 'print JSON')
    .action(async (reference: string, options: HubOptions & { car: string }) => {
      const { exportCar } = await import('../../hub/car-file.js')
      const { parseCid } = await import('../../hub/block-check.js')
      const { parseReleaseReference } = await import('../../hub/release-store.js')
      const localHub = await hubFor(options)
      const root = parseCid(isCid(reference) ? reference : localHub.releases.resolve(parseReleaseReference(reference)).packageCid)
      const progress = createProgressBar({ enabled: !options.json })
      const written = await exportCar({
        root,
        blockstore: localHub.blocks,
        file: options.car,
        onProgress: progress.report,
      }).finally(() => progress.stop())
      printResult(
        options,
        { file: written.file, root: root.toString(), bytes: written.bytes },
        () => `wrote ${written.file} (${written.bytes} bytes, root ${root.toString()})`,
      )
    })

  hub
    .command('import')
    .description('Import a CAR file (e.g. from ipfs dag export), checking every block')
    .argument('<file>', 'CAR file')
    .option(...hubOption)
    .option('--json', 'print JSON')
    .action(async (file: string, options: HubOptions) => {
      const { importCar } = await import('../../hub/car-file.js')
      const progress = createProgressBar({ enabled: !options.json })
      const imported = await importCar({
        source: file,
        blockstore: (await hubFor(options)).blocks,
        onProgress: progress.report,
      }).finally(() => progress.stop())
      const roots = imported.roots.map((root) => root.toString())
      printResult(
        options,
        { roots, blocks: imported.blocks, bytes: imported.bytes },
        () => `imported ${imported.blocks} blocks; roots ${roots.join(', ')}`,
      )
    })

  hub
    .command('serve')
    .description('Serve this hub over the IPFS trustless gateway protocol plus its release index (127.0.0.1)')
    .option('--port <port>', 'port (default 4100; 0 = any)', '4100')
    .option('--token <token>', 'bearer token required on every request (default: $VERITY_HUB_TOKEN, else a random one, printed)')
    .option('--public', 'serve without a token (blocks and releases are verifiable by anyone)')
    .option(...hubOption)
    .option('--json', 'print JSON')
    .action(async (options: HubOptions & { port: string; token?: string; public?: boolean }) => {
      const { startHubGateway } = await import('../../hub/gateway-server.js')
      const { toHex } = await import('../../crypto/bytes.js')
      const { randomBytes } = await import('../../crypto/random.js')
      const token = options.public ? undefined : (options.token ?? process.env.VERITY_HUB_TOKEN ?? toHex(randomBytes(24)))
      const gateway = await startHubGateway({
        hub: await hubFor(options),
        port: Number(options.port),
        token,
        public: options.public,
      })
      printResult(options, { url: gateway.url, token }, () =>
        [
          `serving ${gateway.url}  (GET /ipfs/{cid}, GET /releases)`,
          ...(token ? [`token ${token}`] : ['no token (public)']),
        ].join('\n'),
      )
      await new Promise<void>((resolve) => {
        const stop = () => void gateway.close().then(resolve)
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
    })
}
