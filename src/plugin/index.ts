/**
 * `verity/plugin`: the plugin contract (`definePlugin`, version v1), loading and permission narrowing.
 *
 * @example
 * ```ts
 * import { definePlugin } from 'verity/plugin'
 * export default definePlugin({ specificationVersion: 'v1', name: 'my-plugin', version: '1.0.0', permissions: {}, tools: [] })
 * ```
 */
export type {
  DefinePluginParameters,
  DefinePluginReturnType,
  PluginContext,
  PluginDefinition,
  PluginPermissions,
  VerityPlugin,
} from './define-plugin.js'
export { definePlugin, isVerityPlugin } from './define-plugin.js'
export type { LoadedPlugin, LoadPluginParameters, LoadPluginReturnType } from './load-plugin.js'
export { loadPlugin } from './load-plugin.js'
