/**
 * A first-party Verity plugin written only against the public plugin API (`verity/plugin`).
 *
 * It asks for one permission, the memory namespace `plugin:notebook`, and offers two tools:
 * `notebook_write` (store a note) and `notebook_search` (find notes). It never sees any other
 * namespace: the memory it gets from the host is scoped to what was granted.
 *
 * @example
 * ```ts
 * const notebook = await loadPlugin({ source: './plugins/notebook', grants: { memory: { namespaces: ['plugin:*'] } }, memory })
 * const agent = createVerityAgent({ plugins: [notebook], recorder })
 * ```
 */
import { tool } from 'langchain'
import { definePlugin, type PluginContext } from 'verity/plugin'
import { z } from 'zod'

const NAMESPACE = 'plugin:notebook'

function notebookTools(context: PluginContext) {
  const memory = context.memory
  if (!memory) throw new Error('the notebook plugin needs its memory grant')
  const write = tool(
    async ({ note }: { note: string }) => {
      const { id } = await memory.add({ text: note, namespace: NAMESPACE, metadata: { kind: 'note' } })
      context.log(`wrote note ${id}`)
      return JSON.stringify({ saved: id })
    },
    {
      name: 'notebook_write',
      description: 'Write a note into the notebook',
      schema: z.object({ note: z.string().min(1).max(10_000).describe('The note to write') }),
    },
  )
  const search = tool(
    async ({ query }: { query: string }) => {
      const hits = await memory.search({ query, namespace: NAMESPACE, k: 5 })
      return JSON.stringify({ notes: hits.map((hit) => hit.text) })
    },
    {
      name: 'notebook_search',
      description: 'Search the notebook for notes',
      schema: z.object({ query: z.string().min(1).max(1000).describe('What to look for') }),
    },
  )
  return [write, search]
}

export default definePlugin({
  specificationVersion: 'v1',
  name: '@verity-plugins/notebook',
  version: '1.0.0',
  description: 'A notebook in its own memory namespace.',
  permissions: { memory: { namespaces: [NAMESPACE] } },
  tools: notebookTools,
})
