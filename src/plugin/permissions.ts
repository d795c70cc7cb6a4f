import { PluginPermissionError } from '../errors.js'
import type { MemoryStore } from '../tools/memory-store.js'
import type { PluginPermissions } from './define-plugin.js'

/**
 * Permission narrowing: a plugin gets what it asked for only if the host granted it; asking for
 * more is refused, clearly, before any plugin code runs. Capabilities handed to the plugin (memory,
 * fetch) enforce the same rules on every call.
 *
 * Note: permissions govern the capabilities Verity hands to a plugin. They are not a sandbox: a
 * plugin is JavaScript running in your process, so load only plugins you trust.
 */

export type NarrowPermissionsParameters = {
  plugin: string
  requested: PluginPermissions
  granted: PluginPermissions
}
export type NarrowPermissionsReturnType = PluginPermissions

/**
 * Checks that `requested` is within `granted` and returns the effective permissions, or throws
 * {@link PluginPermissionError} listing every permission that was asked for but not granted.
 *
 * @example
 * ```ts
 * narrowPermissions({ plugin: 'weather', requested: { network: { hosts: ['api.weather.gov'] } }, granted: {} })
 * // throws PluginPermissionError: Plugin weather asks for permissions the host did not grant
 * ```
 */
export function narrowPermissions(parameters: NarrowPermissionsParameters): NarrowPermissionsReturnType {
  const { requested, granted, plugin } = parameters
  const refused: string[] = []
  for (const namespace of requested.memory?.namespaces ?? [])
    if (!(granted.memory?.namespaces ?? []).some((grant) => patternCovers(grant, namespace)))
      refused.push(`memory namespace "${namespace}"`)
  for (const host of requested.network?.hosts ?? [])
    if (!(granted.network?.hosts ?? []).some((grant) => grant === '*' || grant.toLowerCase() === host.toLowerCase()))
      refused.push(`network host "${host}"`)
  if (refused.length > 0)
    throw new PluginPermissionError(`Plugin ${plugin} asks for permissions the host did not grant`, {
      details: `not granted: ${refused.join(', ')}`,
      hint: `Grant them when loading the plugin (loadPlugin({ ..., grants })) if you trust ${plugin}, or do not load it.`,
      docsPath: 'plugins.md',
      meta: { plugin, refused },
    })
  const effective: PluginPermissions = {}
  if (requested.memory?.namespaces.length) effective.memory = { namespaces: [...requested.memory.namespaces] }
  if (requested.network?.hosts.length) effective.network = { hosts: [...requested.network.hosts] }
  return effective
}

/**
 * Whether a namespace (or namespace pattern) falls within a granted pattern (`*` suffix = prefix).
 *
 * @example
 * ```ts
 * patternCovers('plugin:*', 'plugin:weather') // true
 * patternCovers('plugin:weather', 'user:alice') // false
 * ```
 */
export function patternCovers(grant: string, namespace: string): boolean {
  const requestedPrefix = namespace.endsWith('*') ? namespace.slice(0, -1) : undefined
  if (grant.endsWith('*')) {
    const prefix = grant.slice(0, -1)
    return (requestedPrefix ?? namespace).startsWith(prefix)
  }
  return requestedPrefix === undefined && grant === namespace
}

export type ScopeMemoryParameters = { plugin: string; store: MemoryStore; namespaces: string[] }
export type ScopeMemoryReturnType = MemoryStore

/**
 * Wraps a memory store so that only the given namespaces can be read, written or deleted.
 *
 * @example
 * ```ts
 * const memory = scopeMemory({ plugin: 'notes', store, namespaces: ['plugin:notes'] })
 * await memory.add({ text: 'x', namespace: 'user:alice' }) // throws PluginPermissionError
 * ```
 */
export function scopeMemory(parameters: ScopeMemoryParameters): ScopeMemoryReturnType {
  const { store, namespaces, plugin } = parameters
  const check = (namespace: string) => {
    if (!namespaces.some((grant) => patternCovers(grant, namespace)))
      throw new PluginPermissionError(`Plugin ${plugin} may not use memory namespace "${namespace}"`, {
        details: `granted namespaces: ${namespaces.join(', ') || '(none)'}`,
        hint: 'Use one of the granted namespaces, or ask the host for this one in the plugin permissions.',
        docsPath: 'plugins.md',
        meta: { plugin, namespace },
      })
  }
  return {
    specificationVersion: 'v1',
    async add(input) {
      check(input.namespace)
      return store.add({ ...input, provenance: { ...input.provenance, source: input.provenance?.source ?? `plugin:${plugin}` } })
    },
    async search(input) {
      check(input.namespace)
      return store.search(input)
    },
    async delete(input) {
      check(input.namespace)
      return store.delete(input)
    },
  }
}

export type ScopeFetchParameters = { plugin: string; hosts: string[]; fetch?: typeof globalThis.fetch | undefined }
export type ScopeFetchReturnType = typeof globalThis.fetch

/**
 * Wraps `fetch` so that only the given hosts can be reached (`*` allows any).
 *
 * @example
 * ```ts
 * const fetch = scopeFetch({ plugin: 'weather', hosts: ['api.weather.gov'] })
 * await fetch('https://evil.example/') // throws PluginPermissionError
 * ```
 */
export function scopeFetch(parameters: ScopeFetchParameters): ScopeFetchReturnType {
  const inner = parameters.fetch ?? globalThis.fetch
  const hosts = parameters.hosts.map((host) => host.toLowerCase())
  return (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
    const host = url.host.toLowerCase()
    if (!hosts.includes('*') && !hosts.includes(host) && !hosts.includes(url.hostname.toLowerCase()))
      throw new PluginPermissionError(`Plugin ${parameters.plugin} may not reach ${url.host}`, {
        details: `granted hosts: ${hosts.join(', ') || '(none)'}`,
        hint: 'Ask the host to grant this host in the plugin network permissions.',
        docsPath: 'plugins.md',
        meta: { plugin: parameters.plugin, host: url.host },
      })
    return inner(input, init)
  }) as typeof globalThis.fetch
}
