/**
 * Example 2: an agent with a plugin (the first-party notebook under plugins/notebook), granted
 * exactly one memory namespace; a plugin asking for more than it is granted is refused.
 *
 * Run:  npm run build && node --import tsx examples/02-plugin.ts
 */
import { resolve } from 'node:path'
import { createVerityAgent } from 'verity/agent'
import { isVerityError } from 'verity/errors'
import { loadPlugin } from 'verity/plugin'
import { createInMemoryMemoryStore } from 'verity/tools'
import { createInMemoryDecisionRecorder } from 'verity/trace'

const memory = createInMemoryMemoryStore() // or vaultMemoryStore({ vault }) for an encrypted vault
const notebookFolder = resolve(import.meta.dirname, '..', 'plugins', 'notebook')

// The host grants plugins the `plugin:*` namespaces only; the notebook asks for `plugin:notebook`.
const notebook = await loadPlugin({
  source: notebookFolder,
  grants: { memory: { namespaces: ['plugin:*'] } },
  memory,
  log: (line) => process.stderr.write(`${line}\n`),
})

const recorder = createInMemoryDecisionRecorder() // or traceRecorder({ trace }) for a signed trace
const agent = createVerityAgent({ name: 'note-taker', plugins: [notebook], recorder })
const first = await agent.invoke('notebook write: the quarterly report is due on Friday')
const second = await agent.invoke('notebook search for the quarterly report')

// A host that grants only user namespaces: the notebook's request is refused, clearly.
let refused: string | undefined
try {
  await loadPlugin({ source: notebookFolder, grants: { memory: { namespaces: ['user:*'] } }, memory })
} catch (error) {
  refused = isVerityError(error) ? `${error.name}: ${error.shortMessage}` : String(error)
}

const pluginCalls = recorder.entries.filter((entry) => entry.kind === 'tool-call' && entry.body.plugin !== undefined)
console.log(
  JSON.stringify({
    answers: [first.answer, second.answer],
    pluginCalls: pluginCalls.map((entry) => ({ tool: entry.body.tool, plugin: entry.body.plugin })),
    refused,
    chainIntact: recorder.firstBrokenEntry() === undefined,
  }),
)
