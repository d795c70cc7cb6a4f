import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import type { Guard } from '../../access/guard.js'
import type { LitNetwork } from '../../access/lit-network.js'
import type { OwnerGuardReturnType } from '../../access/owner-guard.js'
import { InvalidInputError, StorageError } from '../../errors.js'
import { COMMIT_FILE } from '../../memory/vault-format.js'
import { printResult } from '../output.js'
import { resolveVaultGuards } from '../resolve-secrets.js'

/**
 * The access and vault modules, loaded when a command runs: the Lit SDK takes seconds to import,
 * and every `verity` invocation registers these commands.
 */
async function load() {
  const [conditions, lit, keyCache, local, node, owner, memory, ethers] = await Promise.all([
    import('../../access/lit-conditions.js'),
    import('../../access/lit-guard.js'),
    import('../../access/lit-key-cache.js'),
    import('../../access/lit-local/lit-local-network.js'),
    import('../../access/lit-node-network.js'),
    import('../../access/owner-guard.js'),
    import('../../memory/index.js'),
    import('ethers'),
  ])
  return {
    parseLitConditions: conditions.parseLitConditions,
    litGuard: lit.litGuard,
    fileLitKeyCache: keyCache.fileLitKeyCache,
    litLocalNetwork: local.litLocalNetwork,
    litNodeNetwork: node.litNodeNetwork,
    ownerGuard: owner.ownerGuard,
    openVault: memory.openVault,
    getAddress: ethers.getAddress,
  }
}
type Modules = Awaited<ReturnType<typeof load>>

type OpenOptions = { keystore?: string; litNodes?: string; litNetwork?: string; json?: boolean }

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (cause) {
    throw new StorageError(`Cannot read ${what} ${path}`, { cause })
  }
}

function litNetworkFrom(modules: Modules, options: OpenOptions): LitNetwork | undefined {
  const { litLocalNetwork, litNodeNetwork } = modules
  if (options.litNodes) return litLocalNetwork({ nodes: options.litNodes.split(',').map((url) => url.trim()) })
  if (options.litNetwork) return litNodeNetwork({ network: options.litNetwork as 'datil' })
  return undefined
}

function withOpenOptions(command: Command): Command {
  return command
    .option('--keystore <file>', "owner's encrypted JSON keystore (password in VERITY_KEYSTORE_PASSWORD)")
    .option('--lit-nodes <urls>', 'comma-separated lit-local node URLs (for lit grants)')
    .option('--lit-network <name>', 'public Lit network (datil, datil-test, datil-dev) for lit grants')
    .option('--json', 'JSON output')
}

/**
 * `verity vault grant|revoke|grants|access`: who can open a vault.
 *
 * @example
 * ```sh
 * verity vault grant ./memory --to 0xF00... --public-key 0x02ab... --keystore owner.json
 * verity vault grant ./memory --conditions holders.json --lit-nodes http://127.0.0.1:7470,http://127.0.0.1:7471
 * verity vault revoke ./memory --recipient 0xF00... --keystore owner.json
 * verity vault grants ./memory --json
 * verity vault access ./memory --keystore friend.json --json
 * ```
 */
export function registerVaultAccessCommands(program: Command): void {
  const vault =
    program.commands.find((command) => command.name() === 'vault') ??
    program.command('vault').description('Encrypted, portable vector memory.')

  withOpenOptions(
    vault.command('grant <dir>').description('Let another wallet or a Lit condition open the vault (current and later writes).'),
  )
    .option('--to <address>', 'the wallet address to grant')
    .option('--public-key <hex>', "that wallet's secp256k1 public key (an address alone cannot be encrypted to)")
    .option('--conditions <file>', 'Lit access-control conditions JSON')
    .option('--write', 'also give the writer key (default: a reader, who cannot commit)')
    .action(
      async (dir: string, options: OpenOptions & { to?: string; publicKey?: string; conditions?: string; write?: boolean }) => {
        const modules = await load()
        const { parseLitConditions, litGuard, fileLitKeyCache, ownerGuard, openVault, getAddress } = modules
        let guard: Guard
        if (options.conditions) {
          const network = litNetworkFrom(modules, options)
          if (!network)
            throw new InvalidInputError('A Lit grant needs a network', {
              hint: 'Pass --lit-nodes URLS or --lit-network datil.',
              docsPath: 'access.md',
            })
          let conditions: unknown
          try {
            conditions = JSON.parse(readText(options.conditions, 'conditions file'))
          } catch (cause) {
            if (cause instanceof StorageError) throw cause
            throw new InvalidInputError('Conditions file is not JSON', {
              details: options.conditions,
              cause,
              docsPath: 'access.md',
            })
          }
          // refuse malformed conditions before the vault is opened or any network is asked
          const parsed = await parseLitConditions(conditions)
          guard = litGuard({
            network,
            conditions: parsed,
            keyCache: fileLitKeyCache({ path: join(homedir(), '.verity', 'lit-keys.json') }),
          })
        } else if (options.publicKey) {
          const owner = ownerGuard({ publicKey: options.publicKey })
          if (options.to && getAddress(options.to) !== owner.address)
            throw new InvalidInputError('The public key does not belong to --to', {
              details: `${options.to} vs ${owner.address}`,
            })
          guard = owner
        } else
          throw new InvalidInputError('Nothing to grant', {
            hint: 'Pass --to ADDRESS --public-key HEX, or --conditions FILE. An address alone is not enough: ask the grantee for a public key or a signed message.',
            docsPath: 'access.md',
          })
        const opened = await openVault({ path: dir, guards: await resolveVaultGuards({ keystore: options.keystore }) })
        try {
          const grant = await opened.grant(guard, { write: options.write === true })
          printResult(
            options,
            grant,
            () => `granted ${grant.write ? 'write' : 'read'} access to ${grant.kind}:${grant.recipient} (key ${grant.keyId})`,
          )
        } finally {
          await opened.close()
        }
      },
    )

  withOpenOptions(
    vault
      .command('revoke <dir>')
      .description('Remove a recipient: new data key for all later writes, re-wrapped for everyone else.'),
  )
    .requiredOption('--recipient <recipient>', 'the recipient as `verity vault grants` lists it')
    .action(async (dir: string, options: OpenOptions & { recipient: string }) => {
      const modules = await load()
      const { litGuard, ownerGuard, openVault } = modules
      const openers = await resolveVaultGuards({ keystore: options.keystore })
      const opened = await openVault({ path: dir, guards: openers })
      try {
        const keep: Guard[] = [...openers]
        const seen = new Set<string>()
        const network = litNetworkFrom(modules, options)
        const { header } = JSON.parse(readText(join(dir, COMMIT_FILE), 'vault commit file')) as {
          header: { stanzas?: { kind: string; recipient: string; keyId: string; params: Record<string, unknown> }[] }
        }
        const current = opened.info().keyId
        for (const stanza of header.stanzas ?? []) {
          if (
            stanza.keyId !== current ||
            stanza.recipient === options.recipient ||
            seen.has(`${stanza.kind}:${stanza.recipient}`)
          )
            continue
          seen.add(`${stanza.kind}:${stanza.recipient}`)
          if (stanza.kind === 'owner' && typeof stanza.params.recipientPublicKey === 'string') {
            const owner = ownerGuard({ publicKey: stanza.params.recipientPublicKey })
            if (!openers.some((guard) => (guard as { address?: string }).address === owner.address)) keep.push(owner)
          } else if (stanza.kind === 'lit') {
            if (!network)
              throw new InvalidInputError('Re-granting the remaining Lit recipients needs the network', {
                hint: 'Pass --lit-nodes or --lit-network.',
              })
            keep.push(litGuard({ network, conditions: stanza.params.conditions as never }))
          }
        }
        const result = await opened.revoke(options.recipient, { guards: keep })
        printResult(
          options,
          { revoked: options.recipient, keyId: result.keyId, kept: opened.grants() },
          () => `revoked ${options.recipient}; later writes use key ${result.keyId}`,
        )
      } finally {
        await opened.close()
      }
    })

  withOpenOptions(
    vault
      .command('access <dir>')
      .description('Check that your key (VERITY_PASSPHRASE or --keystore) opens the vault, and what it opens.'),
  ).action(async (dir: string, options: OpenOptions) => {
    const modules = await load()
    const { openVault } = modules
    const openers = await resolveVaultGuards({ keystore: options.keystore })
    const opened = await openVault({ path: dir, guards: openers, readOnly: true })
    try {
      const info = opened.info()
      const result = {
        vaultId: info.vaultId,
        keyId: info.keyId,
        openedWith: openers.map((guard) => (guard.kind === 'owner' ? (guard as OwnerGuardReturnType).address : guard.kind)),
        memories: info.records,
        grants: opened.grants().length,
      }
      printResult(options, result, () => `opened vault ${result.vaultId} (key ${result.keyId}): ${result.memories} memories`)
    } finally {
      await opened.close()
    }
  })

  withOpenOptions(vault.command('grants <dir>').description('List who can open the vault.')).action(
    async (dir: string, options: OpenOptions) => {
      const modules = await load()
      const opened = await modules.openVault({
        path: dir,
        guards: await resolveVaultGuards({ keystore: options.keystore }),
        readOnly: true,
      })
      try {
        const grants = opened.grants()
        printResult(options, { grants }, () =>
          grants.map((grant) => `${grant.kind.padEnd(10)} ${grant.recipient}  key ${grant.keyId}`).join('\n'),
        )
      } finally {
        await opened.close()
      }
    },
  )
}
