import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { InvalidInputError, NotFoundError } from '../../errors.js'
import type { MemoryRecord } from '../../memory/record.js'
import type { Vault } from '../../memory/vault.js'
import { addEmbedderOption, type EmbedderOptionValues, embedderForCreate, embedderResolverOf } from '../embedder-option.js'
import { printResult } from '../output.js'
import { createProgressBar } from '../progress.js'
import { resolvePassphrase, resolveVaultGuards } from '../resolve-secrets.js'

/**
 * `verity vault ...`: create, fill, search, export and import encrypted vector-memory vaults.
 * The passphrase comes from `VERITY_PASSPHRASE` or an interactive prompt (no echo): see ../resolve-secrets.ts.
 *
 * The vault's modules (LanceDB, Arrow, scrypt, the embedder) are imported inside the actions,
 * so `verity --help` and other commands do not pay for loading them.
 */

/** The modules the vault commands need, loaded on first use. */
async function vaultModules() {
  const [{ passphraseGuard }, vault, archive] = await Promise.all([
    import('../../access/passphrase-guard.js'),
    import('../../memory/vault.js'),
    import('../../memory/vault-archive.js'),
  ])
  return {
    passphraseGuard,
    createVault: vault.createVault,
    openVault: vault.openVault,
    exportVault: archive.exportVault,
    importVault: archive.importVault,
  }
}

type JsonOption = { json?: boolean } & EmbedderOptionValues

/**
 * Opens a vault with the CLI's guard resolution ({@link resolveVaultGuards}: `VERITY_PASSPHRASE`, else a prompt) and
 * its embedder (`--embedder`, else the spec the vault records); also used by `verity trace reveal`.
 *
 * @example
 * ```ts
 * const vault = await openForCommand('vault', { json: true }, true)
 * ```
 */
export async function openForCommand(directory: string, options: JsonOption, readOnly: boolean): Promise<Vault> {
  const embedderResolver = embedderResolverOf(options) // a bad --embedder fails before the passphrase prompt
  const guards = await resolveVaultGuards()
  const { openVault } = await vaultModules()
  const progress = createProgressBar({ enabled: !options.json })
  try {
    return await openVault({
      path: directory,
      guards,
      embedderResolver,
      readOnly,
      onProgress: progress.report,
    })
  } finally {
    progress.stop()
  }
}

async function withVault<T>(
  directory: string,
  options: JsonOption,
  readOnly: boolean,
  run: (vault: Vault) => Promise<T>,
): Promise<T> {
  const vault = await openForCommand(directory, options, readOnly)
  try {
    return await run(vault)
  } finally {
    await vault.close()
  }
}

/** The memory text of `vault add`: `--text`, or `--text-file FILE` / `-` for stdin (so it never shows in `ps`). */
function readMemoryText(options: { text?: string | undefined; textFile?: string | undefined }): string {
  if ((options.text === undefined) === (options.textFile === undefined))
    throw new InvalidInputError('Pass the memory with exactly one of --text or --text-file', {
      hint: 'Use `--text-file note.txt`, or pipe it in with `--text-file -` (keeps the text out of `ps`).',
    })
  if (options.text !== undefined) return options.text
  const file = options.textFile as string
  let text: string
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (cause) {
    throw new NotFoundError('Cannot read the memory text', { details: `${file}: ${(cause as Error).message}`, cause })
  }
  return text.endsWith('\n') ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text
}

function parseMeta(text: string | undefined): Record<string, never> | undefined {
  if (text === undefined) return undefined
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object')
    return value as Record<string, never>
  } catch (cause) {
    throw new InvalidInputError('--meta is not a JSON object', {
      details: text,
      hint: `Pass e.g. --meta '{"topic":"billing"}'.`,
      cause,
    })
  }
}

function recordJson(record: MemoryRecord) {
  return {
    id: record.id,
    text: record.text,
    metadata: record.metadata,
    namespace: record.namespace,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    ...(record.provenance ? { provenance: record.provenance } : {}),
  }
}

function positiveInteger(value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new InvalidInputError(`Expected a positive integer, got '${value}'`)
  return number
}

/**
 * Adds `verity vault create|add|search|list|get|delete|export|import|rotate|compact`.
 *
 * @example
 * ```ts
 * const program = createProgram({ registrations: [registerVaultCommands] })
 * ```
 */
export function registerVaultCommands(program: Command): void {
  const vault = program
    .command('vault')
    .description('Encrypted vector-memory vaults (passphrase from VERITY_PASSPHRASE or a prompt)')

  addEmbedderOption(vault.command('create'))
    .argument('<dir>', 'folder to create')
    .option('--guard <kind>', 'who can open it (passphrase)', 'passphrase')
    .option('--scrypt-log-n <n>', 'scrypt cost log2(N) for the passphrase stanza (default 17)', positiveInteger)
    .option('--json', 'JSON output')
    .description('Create an empty vault')
    .action(async (directory: string, options: JsonOption & { guard: string; scryptLogN?: number }) => {
      if (options.guard !== 'passphrase')
        throw new InvalidInputError(`Unknown guard '${options.guard}'`, {
          hint: 'The CLI creates passphrase vaults; owner and Lit guards are added through the API (vault.grant).',
        })
      const embedder = await embedderForCreate(options) // a missing package fails before the passphrase prompt
      const { passphrase: secret } = await resolvePassphrase({ fallback: { from: 'prompt', confirm: true } })
      const { passphraseGuard, createVault } = await vaultModules()
      const guard = passphraseGuard({
        passphrase: secret,
        ...(options.scryptLogN ? { cost: { logN: options.scryptLogN, r: 8, p: 1 } } : {}),
      })
      const created = await createVault({ path: directory, guards: [guard], embedder })
      const info = created.info()
      await created.close()
      printResult(options, info, () => `created vault ${info.vaultId} at ${info.path} (embedder ${info.embedder.id})`)
    })

  addEmbedderOption(vault.command('add'))
    .argument('<dir>', 'vault folder')
    .option('--text <text>', 'the memory (visible to other users in `ps`: prefer --text-file)')
    .option('--text-file <file>', 'read the memory from a file, or from stdin with `-` (one trailing newline is dropped)')
    .option('--meta <json>', 'metadata as a JSON object')
    .option('--namespace <name>', 'namespace (default: default)')
    .option('--id <id>', 'id (default: random)')
    .option('--json', 'JSON output')
    .description('Add a memory')
    .action(
      async (
        directory: string,
        options: JsonOption & { text?: string; textFile?: string; meta?: string; namespace?: string; id?: string },
      ) => {
        const text = readMemoryText(options)
        const metadata = parseMeta(options.meta)
        const record = await withVault(directory, options, false, (open) =>
          open.add({ text, metadata, namespace: options.namespace, id: options.id }),
        )
        printResult(options, recordJson(record), () => record.id)
      },
    )

  addEmbedderOption(vault.command('search'))
    .argument('<dir>', 'vault folder')
    .requiredOption('--query <text>', 'what to look for')
    .option('-k, --k <k>', 'number of results', positiveInteger, 5)
    .option('--mode <mode>', 'vector, text or hybrid', 'hybrid')
    .option('--namespace <name>', 'only this namespace')
    .option('--meta <json>', 'metadata equality filter (JSON object)')
    .option('--json', 'JSON output')
    .description('Search memories')
    .action(
      async (
        directory: string,
        options: JsonOption & { query: string; k: number; mode: string; namespace?: string; meta?: string },
      ) => {
        const metadata = parseMeta(options.meta)
        const results = await withVault(directory, options, true, (open) =>
          open.search({
            query: options.query,
            k: options.k,
            mode: options.mode as 'hybrid',
            namespace: options.namespace,
            metadata,
          }),
        )
        printResult(
          options,
          results.map((result) => ({ score: result.score, distance: result.distance, ...recordJson(result.record) })),
          () =>
            results.map((result) => `${result.score.toFixed(4)}  ${result.record.id}  ${result.record.text}`).join('\n') ||
            '(no results)',
        )
      },
    )

  addEmbedderOption(vault.command('list'))
    .argument('<dir>', 'vault folder')
    .option('--namespace <name>', 'only this namespace')
    .option('--limit <n>', 'page size', positiveInteger, 100)
    .option('--cursor <cursor>', 'next page cursor')
    .option('--json', 'JSON output')
    .description('List memories')
    .action(async (directory: string, options: JsonOption & { namespace?: string; limit: number; cursor?: string }) => {
      const page = await withVault(directory, options, true, async (open) =>
        open.list({ namespace: options.namespace, limit: options.limit, cursor: options.cursor }),
      )
      printResult(options, { total: page.total, nextCursor: page.nextCursor, records: page.records.map(recordJson) }, () =>
        [
          ...page.records.map((record) => `${record.id}  [${record.namespace}]  ${record.text}`),
          `${page.total} memories${page.nextCursor ? ` (more: --cursor ${page.nextCursor})` : ''}`,
        ].join('\n'),
      )
    })

  addEmbedderOption(vault.command('get'))
    .argument('<dir>', 'vault folder')
    .argument('<id>', 'memory id')
    .option('--json', 'JSON output')
    .description('Show one memory')
    .action(async (directory: string, id: string, options: JsonOption) => {
      const record = await withVault(directory, options, true, async (open) => open.get(id))
      if (!record)
        throw new NotFoundError('No memory with this id', {
          details: `'${id}' in ${directory}`,
          hint: 'List ids with `verity vault list DIR`.',
        })
      printResult(
        options,
        recordJson(record),
        () => `${record.id}  [${record.namespace}]  ${record.text}\n${JSON.stringify(record.metadata)}`,
      )
    })

  addEmbedderOption(vault.command('delete'))
    .argument('<dir>', 'vault folder')
    .argument('<ids...>', 'memory ids')
    .option('--json', 'JSON output')
    .description('Delete memories (tombstones; `compact` drops them)')
    .action(async (directory: string, ids: string[], options: JsonOption) => {
      const result = await withVault(directory, options, false, (open) => open.delete(ids))
      printResult(options, result, () => `deleted ${result.deleted.length}`)
    })

  vault
    .command('export')
    .argument('<dir>', 'vault folder')
    .requiredOption('--out <file>', 'archive to write (.vault)')
    .option('--json', 'JSON output')
    .description('Write the vault to one portable .vault file (stays encrypted; no passphrase needed)')
    .action(async (directory: string, options: JsonOption & { out: string }) => {
      const { exportVault } = await vaultModules()
      const result = await exportVault({ path: directory, out: options.out })
      printResult(options, result, () => `exported ${result.files} files (${result.bytes} bytes) to ${result.out}`)
    })

  vault
    .command('import')
    .argument('<file>', '.vault archive')
    .requiredOption('--to <dir>', 'folder to create')
    .option('--json', 'JSON output')
    .description('Unpack a .vault file into a new vault folder')
    .action(async (file: string, options: JsonOption & { to: string }) => {
      const { importVault } = await vaultModules()
      const result = await importVault({ file, to: options.to })
      printResult(options, result, () => `imported vault ${result.vaultId} into ${result.path}`)
    })

  addEmbedderOption(vault.command('rotate'))
    .argument('<dir>', 'vault folder')
    .option('--json', 'JSON output')
    .description('New data key; re-encrypt every segment under it')
    .action(async (directory: string, options: JsonOption) => {
      const result = await withVault(directory, options, false, (open) => open.rotate())
      printResult(options, result, () => `rotated to key ${result.keyId} (${result.segments} segments re-encrypted)`)
    })

  addEmbedderOption(vault.command('compact'))
    .argument('<dir>', 'vault folder')
    .option('--json', 'JSON output')
    .description('Rewrite live memories into fresh segments and snapshot the index')
    .action(async (directory: string, options: JsonOption) => {
      const result = await withVault(directory, options, false, (open) => open.compact())
      printResult(
        options,
        result,
        () => `compacted ${result.segmentsBefore} -> ${result.segmentsAfter} segments, ${result.records} memories`,
      )
    })
}
