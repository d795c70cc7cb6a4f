import { createRequire } from 'node:module'
import { isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { EmbedderUnavailableError } from '../../errors.js'

export type ImportFromProjectParameters = {
  /** A package name (`@langchain/openai`, `@huggingface/transformers`) or, when `allowPaths`, a module path. */
  specifier: string
  /** The user's project: packages are looked up from its `node_modules` first (default: the working directory). */
  directory?: string | undefined
  /** Whether a relative or absolute module path may be loaded (only when the user names it, never from a vault header). */
  allowPaths?: boolean | undefined
  /** What needs the module, for messages (`--embedder langchain:...`). */
  what: string
}
export type ImportFromProjectReturnType = Promise<Record<string, unknown>>

/** True for `./x.js`, `../x.js`, `/abs/x.js`, `file:///...` (a module path rather than a package name). */
export function isModulePath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || specifier.startsWith('file:')
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'
}

/** The package part of a specifier: `@scope/name` or `name` (without a subpath). */
function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string)
}

/**
 * Loads a module for an embedder with dynamic `import()`: a package from the user's project
 * (resolved from `directory`'s `node_modules`, then from Verity's own), or a module path the
 * user named. A package that is not installed is an {@link EmbedderUnavailableError} whose hint
 * says what to install; a module that fails while loading is one too, with the cause.
 *
 * @example
 * ```ts
 * const module = await importFromProject({ specifier: '@langchain/openai', what: '--embedder' })
 * const Embeddings = module.OpenAIEmbeddings
 * ```
 */
export async function importFromProject(parameters: ImportFromProjectParameters): ImportFromProjectReturnType {
  const { specifier, what } = parameters
  const directory = resolve(parameters.directory ?? process.cwd())
  if (isModulePath(specifier)) {
    if (!parameters.allowPaths)
      throw new EmbedderUnavailableError('Refusing to load an embedder module by path from a vault header', {
        details: `${what} names the module path '${specifier}'`,
        hint: `Name it yourself to trust it: --embedder langchain:${specifier}#ExportName (or install it as a package).`,
        docsPath: 'embedders.md',
        meta: { module: specifier },
      })
    const url = specifier.startsWith('file:') ? specifier : pathToFileURL(resolve(directory, specifier)).href
    try {
      return (await import(url)) as Record<string, unknown>
    } catch (cause) {
      throw new EmbedderUnavailableError(isNotFound(cause) ? 'Embedder module not found' : 'Embedder module failed to load', {
        details: `${what}: ${url}: ${(cause as Error).message}`,
        hint: 'Check the path (relative to the working directory) and that the module loads with `node`.',
        docsPath: 'embedders.md',
        meta: { module: specifier },
        cause,
      })
    }
  }
  let failure: unknown
  // The user's project first (a CLI run from it), then wherever Verity itself is installed.
  try {
    const resolved = createRequire(join(directory, 'package.json')).resolve(specifier)
    return (await import(pathToFileURL(resolved).href)) as Record<string, unknown>
  } catch (cause) {
    if (!isNotFound(cause)) failure = cause
  }
  if (failure === undefined)
    try {
      return (await import(specifier)) as Record<string, unknown>
    } catch (cause) {
      failure = cause
    }
  // Not found, and the missing module is this package (not one of its own dependencies).
  const missing = isNotFound(failure) && String((failure as Error).message).includes(packageName(specifier))
  throw new EmbedderUnavailableError(missing ? 'The embedder package is not installed' : 'The embedder package failed to load', {
    details: `${what} needs '${specifier}'${missing ? '' : `: ${(failure as Error).message}`}`,
    hint: missing
      ? `npm install ${packageName(specifier)} in your project (looked in ${directory}/node_modules and beside Verity).`
      : 'Check that the package and its peer dependencies are installed and load with `node`.',
    docsPath: 'embedders.md',
    meta: { module: specifier, missing },
    cause: failure,
  })
}
