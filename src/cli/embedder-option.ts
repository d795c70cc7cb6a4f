import type { Command } from 'commander'
import { InvalidInputError } from '../errors.js'
import type { Embedder } from '../memory/embedders/embedder.js'
import { type EmbedderSpec, parseEmbedderOption } from '../memory/embedders/embedder-spec.js'
import type { EmbedderResolver } from '../memory/vault-embedder.js'

/**
 * The CLI's one embedder option, shared by every command that opens or creates a vault:
 * `--embedder hashing | langchain:PACKAGE#ExportName | transformers:FOLDER` and
 * `--embedder-options JSON`. Without it a command uses the spec the vault records.
 */

/** Parsed `--embedder` / `--embedder-options` values of a command. */
export type EmbedderOptionValues = { embedder?: string | undefined; embedderOptions?: string | undefined }

/**
 * Adds `--embedder` and `--embedder-options` to a command.
 *
 * @example
 * ```ts
 * addEmbedderOption(vault.command('search').argument('<dir>'))
 * ```
 */
export function addEmbedderOption(command: Command): Command {
  return command
    .option(
      '--embedder <spec>',
      'embedder: hashing, langchain:PACKAGE#ExportName or transformers:FOLDER (default: the spec the vault records)',
    )
    .option(
      '--embedder-options <json>',
      'JSON options for --embedder (LangChain constructor options; transformers: pooling, normalize)',
    )
}

/**
 * The spec named on the command line, or undefined (checked before any passphrase is asked).
 *
 * @example
 * ```ts
 * const spec = embedderSpecOf({ embedder: 'hashing' }) // { kind: 'hashing' }
 * ```
 */
export function embedderSpecOf(options: EmbedderOptionValues): EmbedderSpec | undefined {
  if (options.embedder === undefined) {
    if (options.embedderOptions !== undefined)
      throw new InvalidInputError('--embedder-options needs --embedder', {
        hint: 'Name the embedder too, e.g. --embedder langchain:@langchain/openai#OpenAIEmbeddings.',
        docsPath: 'embedders.md',
      })
    return undefined
  }
  return parseEmbedderOption({ value: options.embedder, options: options.embedderOptions })
}

/**
 * What `openVault` gets from the CLI: a resolver that makes the embedder once the vault header is
 * authenticated, from `--embedder` if given, else from the recorded spec. Its package or model is
 * loaded at the first embedding (add, search), so `list` or `get` never need it.
 *
 * @example
 * ```ts
 * await openVault({ path, guards, embedderResolver: embedderResolverOf(options) })
 * ```
 */
export function embedderResolverOf(options: EmbedderOptionValues): EmbedderResolver {
  const spec = embedderSpecOf(options)
  return async (recorded) => {
    const { resolveEmbedder } = await import('../memory/embedders/resolve-embedder.js')
    return resolveEmbedder({ spec, recorded, lazy: true })
  }
}

/**
 * The embedder a new vault is created with: `--embedder`, else the built-in hashing embedder.
 *
 * @example
 * ```ts
 * await createVault({ path, guards, embedder: await embedderForCreate(options) })
 * ```
 */
export async function embedderForCreate(options: EmbedderOptionValues): Promise<Embedder> {
  const spec = embedderSpecOf(options) ?? { kind: 'hashing' }
  const { resolveEmbedder } = await import('../memory/embedders/resolve-embedder.js')
  return (await resolveEmbedder({ spec })) as Embedder
}
