import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { StructuredToolInterface } from '@langchain/core/tools'
import { z } from 'zod'
import { NotFoundError, PluginPermissionError } from '../errors.js'
import type { MemoryStore } from '../tools/memory-store.js'
import { parseInput } from '../validation.js'
import {
  isVerityPlugin,
  type PluginContext,
  type PluginPermissions,
  pluginPermissionsSchema,
  type VerityPlugin,
} from './define-plugin.js'
import { narrowPermissions, scopeFetch, scopeMemory } from './permissions.js'

export type LoadPluginParameters = {
  /** A plugin object, a folder (with `package.json` or `index.js`/`index.ts`), a file, or an npm package name. */
  source: VerityPlugin | string
  /** What the host grants this plugin; anything the plugin asks for beyond it is refused. Default: nothing. */
  grants?: PluginPermissions | undefined
  /** The memory the plugin's scoped memory wraps (needed for memory grants). */
  memory?: MemoryStore | undefined
  /** The fetch the plugin's scoped fetch wraps (default `globalThis.fetch`). */
  fetch?: typeof globalThis.fetch | undefined
  /** Where to resolve npm package names from (default `process.cwd()`). */
  resolveFrom?: string | undefined
  /** Receives the plugin's log lines (default: stderr). */
  log?: ((line: string) => void) | undefined
}

/** A loaded plugin: what `createVerityAgent({ plugins })` takes. */
export type LoadedPlugin = {
  name: string
  version: string
  permissions: PluginPermissions
  tools: StructuredToolInterface[]
}
export type LoadPluginReturnType = Promise<LoadedPlugin>

const parametersSchema = z.object({
  source: z.union([z.string().min(1).max(4096), z.custom<VerityPlugin>(isVerityPlugin, 'a plugin made with definePlugin')]),
  grants: pluginPermissionsSchema.optional(),
  memory: z
    .custom<MemoryStore>(
      (value) => typeof value === 'object' && value !== null && (value as MemoryStore).specificationVersion === 'v1',
    )
    .optional(),
  fetch: z.custom<typeof fetch>((value) => typeof value === 'function').optional(),
  resolveFrom: z.string().optional(),
  log: z.custom<(line: string) => void>((value) => typeof value === 'function').optional(),
})

const toolNamePattern = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Loads a plugin, refuses it with {@link PluginPermissionError} if it asks for more than `grants`,
 * runs its `setup` with capabilities narrowed to the granted permissions, and builds its tools.
 *
 * @example
 * ```ts
 * const unitConverter = await loadPlugin({ source: './plugins/unit-converter' })
 * const notes = await loadPlugin({ source: 'verity-plugin-notes', grants: { memory: { namespaces: ['plugin:notes'] } }, memory })
 * const agent = createVerityAgent({ plugins: [unitConverter, notes], recorder })
 * ```
 */
export async function loadPlugin(parameters: LoadPluginParameters): LoadPluginReturnType {
  const options = parseInput(parametersSchema, parameters, {
    what: 'loadPlugin parameters',
    hint: 'Pass { source: plugin | folder | package name, grants }.',
    docsPath: 'plugins.md',
  })
  const plugin =
    typeof parameters.source === 'string'
      ? await importPlugin(parameters.source, options.resolveFrom ?? process.cwd())
      : parameters.source
  const permissions = narrowPermissions({ plugin: plugin.name, requested: plugin.permissions, granted: parameters.grants ?? {} })
  if (permissions.memory && !parameters.memory)
    throw new PluginPermissionError(`Plugin ${plugin.name} needs memory but the host passed no memory store`, {
      hint: 'Pass memory: vaultMemoryStore(vault) (or another MemoryStore) to loadPlugin.',
      docsPath: 'plugins.md',
    })
  const log = parameters.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const context: PluginContext = Object.freeze({
    permissions,
    memory:
      permissions.memory && parameters.memory
        ? scopeMemory({ plugin: plugin.name, store: parameters.memory, namespaces: permissions.memory.namespaces })
        : undefined,
    fetch: permissions.network
      ? scopeFetch({ plugin: plugin.name, hosts: permissions.network.hosts, fetch: parameters.fetch })
      : undefined,
    log: (message: string) => log(`[plugin ${plugin.name}] ${message}`),
  })
  await plugin.setup?.(context)
  const tools = typeof plugin.tools === 'function' ? await plugin.tools(context) : [...(plugin.tools ?? [])]
  for (const candidate of tools)
    if (
      !candidate ||
      typeof candidate.name !== 'string' ||
      !toolNamePattern.test(candidate.name) ||
      typeof candidate.invoke !== 'function'
    )
      throw new PluginPermissionError(`Plugin ${plugin.name} returned an invalid tool`, {
        details: `tool name ${JSON.stringify(candidate?.name)}; names must match ${toolNamePattern}`,
        hint: 'Plugin tools must be LangChain tools (tool() from langchain) with simple names.',
        docsPath: 'plugins.md',
      })
  return {
    name: plugin.name,
    version: plugin.version,
    permissions,
    tools,
  }
}

async function importPlugin(source: string, resolveFrom: string): Promise<VerityPlugin> {
  const looksLikePath = source.startsWith('.') || source.startsWith('/') || isAbsolute(source)
  let file: string
  if (looksLikePath) {
    const path = resolve(resolveFrom, source)
    if (!existsSync(path))
      throw new NotFoundError(`No plugin at ${path}`, {
        hint: 'Pass a folder with a package.json or index.js, a file, or an npm package name.',
        docsPath: 'plugins.md',
      })
    file = statSync(path).isDirectory() ? entryOfFolder(path) : path
  } else {
    try {
      file = createRequire(join(resolveFrom, 'noop.js')).resolve(source)
    } catch (error) {
      throw new NotFoundError(`Plugin package ${source} is not installed`, {
        cause: error,
        hint: `Install it first: npm install ${source}`,
        docsPath: 'plugins.md',
      })
    }
  }
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown; plugin?: unknown }
  const candidate = module.default ?? module.plugin
  if (!isVerityPlugin(candidate))
    throw new PluginPermissionError(`${source} is not a Verity plugin`, {
      details: `${file} must export default definePlugin({...})`,
      hint: "Build the plugin with definePlugin from 'verity/plugin'.",
      docsPath: 'plugins.md',
    })
  return candidate
}

function entryOfFolder(folder: string): string {
  const manifest = join(folder, 'package.json')
  if (existsSync(manifest)) {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { main?: string; exports?: unknown }
    const exported =
      typeof parsed.exports === 'string' ? parsed.exports : (parsed.exports as { '.'?: unknown } | undefined)?.['.']
    const entry =
      typeof exported === 'string'
        ? exported
        : typeof exported === 'object' && exported !== null && typeof (exported as { default?: unknown }).default === 'string'
          ? (exported as { default: string }).default
          : parsed.main
    if (entry) return join(folder, entry)
  }
  for (const name of ['index.js', 'index.mjs', 'index.ts']) if (existsSync(join(folder, name))) return join(folder, name)
  throw new NotFoundError(`No plugin entry point in ${folder}`, {
    hint: 'Add package.json "main" or an index.js.',
    docsPath: 'plugins.md',
  })
}
