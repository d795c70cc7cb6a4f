import type { StructuredToolInterface } from '@langchain/core/tools'
import { z } from 'zod'
import type { MemoryStore } from '../tools/memory-store.js'
import { parseInput } from '../validation.js'

/**
 * The plugin contract, version `v1`. A plugin is a plain object made with {@link definePlugin}:
 * it declares the permissions it needs, and gets, in `setup` and its tool factory, only
 * capabilities narrowed to what the host granted (see `loadPlugin`).
 */

/** What a plugin asks for. Everything is denied unless asked for here and granted by the host. */
export type PluginPermissions = {
  /** Memory namespaces the plugin may read and write; `*` at the end matches a prefix (`plugin:weather:*`). */
  memory?: { namespaces: string[] } | undefined
  /** Hosts the plugin may reach with the `fetch` it is given (`api.example.com`, or `*` for any). */
  network?: { hosts: string[] } | undefined
}

/** Scoped capabilities a plugin receives: exactly what was requested and granted, nothing more. */
export type PluginContext = {
  /** The plugin's effective permissions. */
  readonly permissions: PluginPermissions
  /** Memory restricted to the granted namespaces (undefined without a memory grant or store). */
  readonly memory: MemoryStore | undefined
  /** `fetch` restricted to the granted hosts (undefined without a network grant). */
  readonly fetch: typeof globalThis.fetch | undefined
  /** Structured log lines, prefixed with the plugin name (never log secrets). */
  log(message: string): void
}

/** A plugin definition. */
export type PluginDefinition = {
  specificationVersion: 'v1'
  /** npm-style name: lowercase letters, digits, `-`, `.`, optional `@scope/`. */
  name: string
  /** Semver version. */
  version: string
  description?: string | undefined
  permissions: PluginPermissions
  /** Tools, or a factory that builds them from the scoped context. */
  tools?:
    | StructuredToolInterface[]
    | ((context: PluginContext) => StructuredToolInterface[] | Promise<StructuredToolInterface[]>)
    | undefined
  /** Runs once when the host loads the plugin. */
  setup?: ((context: PluginContext) => void | Promise<void>) | undefined
}

/** Brand that marks a value made by {@link definePlugin}; `Symbol.for` so that it survives module copies (src and dist). */
export const PLUGIN_BRAND: unique symbol = Symbol.for('verity.plugin.v1') as never

/** A plugin as {@link definePlugin} returns it. */
export type VerityPlugin = Readonly<PluginDefinition> & { readonly [PLUGIN_BRAND]: true }

const namePattern = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/
const semverPattern = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/
const namespacePattern = /^[A-Za-z0-9:._-]+\*?$/
const hostPattern = /^(\*|[A-Za-z0-9.-]+(:\d{1,5})?)$/

/** Zod schema of {@link PluginPermissions}, shared by plugins and host grants. */
export const pluginPermissionsSchema = z
  .object({
    memory: z
      .object({ namespaces: z.array(z.string().regex(namespacePattern, 'a namespace, optionally ending in *')).max(100) })
      .strict()
      .optional(),
    network: z
      .object({ hosts: z.array(z.string().regex(hostPattern, 'a host name (optionally :port) or *')).max(100) })
      .strict()
      .optional(),
  })
  .strict()

const definitionSchema = z
  .object({
    specificationVersion: z.literal('v1'),
    name: z.string().max(214).regex(namePattern, 'an npm-style package name'),
    version: z.string().regex(semverPattern, 'a semver version such as 1.0.0'),
    description: z.string().max(1000).optional(),
    permissions: pluginPermissionsSchema,
    tools: z
      .union([
        z.array(
          z.custom<StructuredToolInterface>(
            (value) => typeof value === 'object' && value !== null && 'name' in value && 'invoke' in value,
            'a LangChain tool',
          ),
        ),
        z.custom<(context: PluginContext) => StructuredToolInterface[]>((value) => typeof value === 'function'),
      ])
      .optional(),
    setup: z.custom<(context: PluginContext) => void>((value) => typeof value === 'function').optional(),
  })
  .strict()

export type DefinePluginParameters = PluginDefinition
export type DefinePluginReturnType = VerityPlugin

/**
 * Defines a plugin. Validates the definition and returns it, frozen and branded.
 *
 * @example
 * ```ts
 * import { definePlugin } from 'verity/plugin'
 * export default definePlugin({
 *   specificationVersion: 'v1',
 *   name: 'unit-converter',
 *   version: '1.0.0',
 *   permissions: {},
 *   tools: [celsiusToFahrenheit],
 * })
 * ```
 */
export function definePlugin(parameters: DefinePluginParameters): DefinePluginReturnType {
  parseInput(definitionSchema, parameters, {
    what: 'plugin definition',
    hint: "A plugin needs specificationVersion 'v1', an npm-style name, a semver version and a permissions object.",
    docsPath: 'plugins.md',
  })
  return Object.freeze({ ...parameters, [PLUGIN_BRAND]: true as const })
}

/**
 * True when `value` was made by {@link definePlugin} (any copy of this module).
 *
 * @example
 * ```ts
 * if (!isVerityPlugin(module.default)) throw new Error('not a plugin')
 * ```
 */
export function isVerityPlugin(value: unknown): value is VerityPlugin {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true
}
