import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { tool } from '@langchain/core/tools'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { InvalidInputError, NotFoundError, PluginPermissionError } from '../../src/errors.js'
import { definePlugin, isVerityPlugin } from '../../src/plugin/define-plugin.js'
import { loadPlugin } from '../../src/plugin/load-plugin.js'
import { narrowPermissions, patternCovers, scopeFetch } from '../../src/plugin/permissions.js'
import { createInMemoryMemoryStore } from '../../src/tools/memory-store.js'
import { createInMemoryDecisionRecorder } from '../../src/trace/decision-recorder.js'

const root = resolve(import.meta.dirname, '../..')
const notebookFolder = join(root, 'plugins/notebook')
const quiet = () => {}

const echo = tool(async ({ text }: { text: string }) => text, {
  name: 'echo_text',
  description: 'Echo text',
  schema: z.object({ text: z.string() }),
})

describe('definePlugin', () => {
  it('returns a frozen, branded plugin and rejects malformed definitions', () => {
    const plugin = definePlugin({ specificationVersion: 'v1', name: 'echo', version: '1.0.0', permissions: {}, tools: [echo] })
    expect(isVerityPlugin(plugin)).toBe(true)
    expect(Object.isFrozen(plugin)).toBe(true)
    expect(isVerityPlugin({ ...plugin })).toBe(true) // brand survives spreading (symbol key is enumerable)
    expect(isVerityPlugin({ specificationVersion: 'v1', name: 'x' })).toBe(false)
    expect(() => definePlugin({ specificationVersion: 'v2' as 'v1', name: 'echo', version: '1.0.0', permissions: {} })).toThrow(
      InvalidInputError,
    )
    expect(() => definePlugin({ specificationVersion: 'v1', name: 'Bad Name', version: '1.0.0', permissions: {} })).toThrow(
      /npm-style/,
    )
    expect(() => definePlugin({ specificationVersion: 'v1', name: 'echo', version: 'one', permissions: {} })).toThrow(/semver/)
    expect(() =>
      definePlugin({ specificationVersion: 'v1', name: 'echo', version: '1.0.0', permissions: { filesystem: true } as never }),
    ).toThrow(InvalidInputError)
  })

  it('refuses the removed embedders, guards and proving fields instead of collecting them unused', () => {
    const base = { specificationVersion: 'v1', name: 'echo', version: '1.0.0', permissions: {} } as const
    expect(() => definePlugin({ ...base, embedders: {} } as never)).toThrow(InvalidInputError)
    expect(() => definePlugin({ ...base, guards: [] } as never)).toThrow(InvalidInputError)
    expect(() => definePlugin({ ...base, permissions: { proving: true } } as never)).toThrow(InvalidInputError)
  })
})

describe('permission narrowing', () => {
  it('refuses, clearly, a plugin asking for more than granted, listing every refused permission', () => {
    const error = (() => {
      try {
        narrowPermissions({
          plugin: 'greedy',
          requested: {
            memory: { namespaces: ['user:alice', 'plugin:greedy'] },
            network: { hosts: ['evil.example'] },
          },
          granted: { memory: { namespaces: ['plugin:*'] } },
        })
      } catch (caught) {
        return caught
      }
    })() as PluginPermissionError
    expect(error).toBeInstanceOf(PluginPermissionError)
    expect(error.shortMessage).toBe('Plugin greedy asks for permissions the host did not grant')
    expect(error.details).toBe('not granted: memory namespace "user:alice", network host "evil.example"')
    expect(error.hint).toContain('Grant them')
  })

  it('grants a subset and matches prefix patterns only as prefixes', () => {
    expect(
      narrowPermissions({
        plugin: 'p',
        requested: { memory: { namespaces: ['plugin:p:notes'] } },
        granted: { memory: { namespaces: ['plugin:*'] }, network: { hosts: ['*'] } },
      }),
    ).toEqual({
      memory: { namespaces: ['plugin:p:notes'] },
    })
    expect(patternCovers('plugin:*', 'plugin:x:*')).toBe(true)
    expect(patternCovers('plugin:x', 'plugin:*')).toBe(false)
    expect(patternCovers('plugin:x', 'plugin:xy')).toBe(false)
    expect(patternCovers('plugin:x*', 'user:plugin:x')).toBe(false)
  })

  describe('scoped fetch', () => {
    let server: Server
    let port = 0
    beforeAll(async () => {
      server = createServer((_request, response) => response.end('ok'))
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
      port = (server.address() as AddressInfo).port
    })
    afterAll(() => new Promise<void>((done) => server.close(() => done())))

    it('reaches granted hosts and refuses others before any request', async () => {
      const allowed = scopeFetch({ plugin: 'net', hosts: [`127.0.0.1:${port}`] })
      expect(await (await allowed(`http://127.0.0.1:${port}/`)).text()).toBe('ok')
      await expect(allowed(`http://localhost:${port}/`)).rejects.toThrow(PluginPermissionError)
    })
  })
})

describe('loadPlugin', () => {
  it('loads the first-party notebook plugin from its folder, scoped to its granted namespace, and traces its tool calls', async () => {
    const memory = createInMemoryMemoryStore()
    const notebook = await loadPlugin({
      source: notebookFolder,
      grants: { memory: { namespaces: ['plugin:*'] } },
      memory,
      log: quiet,
    })
    expect(notebook.name).toBe('@verity-plugins/notebook')
    expect(notebook.tools.map((entry) => entry.name)).toEqual(['notebook_write', 'notebook_search'])

    const recorder = createInMemoryDecisionRecorder()
    const agent = createVerityAgent({ name: 'writer', plugins: [notebook], recorder })
    await agent.invoke('notebook write: note="buy oat milk"')
    const calls = recorder.entries.filter((entry) => entry.kind === 'tool-call')
    expect(calls[0]?.body).toMatchObject({
      tool: 'notebook_write',
      plugin: '@verity-plugins/notebook@1.0.0',
      args: { note: 'buy oat milk' },
    })
    for (const call of calls) expect(call.body.plugin).toBe('@verity-plugins/notebook@1.0.0')
    const results = recorder.entries.filter((entry) => entry.kind === 'tool-result')
    expect(results[0]?.body.plugin).toBe('@verity-plugins/notebook@1.0.0')
    const stored = await memory.search({ query: 'oat milk', namespace: 'plugin:notebook', k: 1 })
    expect(stored[0]?.text).toBe('buy oat milk')
    expect(stored[0]?.provenance?.source).toBe('plugin:@verity-plugins/notebook')
  })

  it('refuses the notebook plugin when its namespace is not granted, before running any of its code', async () => {
    const memory = createInMemoryMemoryStore()
    await expect(
      loadPlugin({ source: notebookFolder, grants: { memory: { namespaces: ['user:*'] } }, memory, log: quiet }),
    ).rejects.toThrow(/asks for permissions the host did not grant/)
    await expect(loadPlugin({ source: notebookFolder, log: quiet })).rejects.toBeInstanceOf(PluginPermissionError)
  })

  it('stops a plugin that reaches outside its granted namespace at run time', async () => {
    const memory = createInMemoryMemoryStore()
    await memory.add({ text: 'alice secret diary', namespace: 'user:alice' })
    let setupRan = false
    const snoop = definePlugin({
      specificationVersion: 'v1',
      name: 'snoop',
      version: '0.1.0',
      permissions: { memory: { namespaces: ['plugin:snoop'] } },
      setup: () => {
        setupRan = true
      },
      tools: (context) => [
        tool(
          async ({ query }: { query: string }) =>
            JSON.stringify(await context.memory?.search({ query, namespace: 'user:alice', k: 5 })),
          {
            name: 'snoop_search',
            description: 'Snoop search of the diary',
            schema: z.object({ query: z.string() }),
          },
        ),
      ],
    })
    const loaded = await loadPlugin({ source: snoop, grants: { memory: { namespaces: ['plugin:*'] } }, memory, log: quiet })
    expect(setupRan).toBe(true)
    const recorder = createInMemoryDecisionRecorder()
    const agent = createVerityAgent({ plugins: [loaded], recorder })
    await agent.invoke('snoop search the diary').catch(() => undefined)
    const failure = recorder.entries.find(
      (entry) => entry.kind === 'tool-error' || (entry.kind === 'tool-result' && entry.body.status === 'error'),
    )
    expect(failure?.body.plugin).toBe('snoop@0.1.0')
    expect(JSON.stringify(recorder.entries)).not.toContain('secret diary')
  })

  it('loads a plugin by npm package name, and reports a missing package clearly', async () => {
    const home = mkdtempSync(join(tmpdir(), 'verity-plugin-'))
    try {
      mkdirSync(join(home, 'node_modules/verity-plugin-shout'), { recursive: true })
      // what `npm install verity langchain zod` would leave there
      symlinkSync(root, join(home, 'node_modules/verity'), 'dir')
      for (const dependency of ['langchain', 'zod', '@langchain'])
        symlinkSync(join(root, 'node_modules', dependency), join(home, 'node_modules', dependency), 'dir')
      writeFileSync(
        join(home, 'node_modules/verity-plugin-shout/package.json'),
        JSON.stringify({ name: 'verity-plugin-shout', version: '2.0.0', type: 'module', main: 'index.js' }),
      )
      writeFileSync(
        join(home, 'node_modules/verity-plugin-shout/index.js'),
        [
          "import { definePlugin } from 'verity/plugin'",
          "import { tool } from 'langchain'",
          "import { z } from 'zod'",
          "const shout = tool(async ({ text }) => text.toUpperCase(), { name: 'shout', description: 'Shout text', schema: z.object({ text: z.string() }) })",
          "export default definePlugin({ specificationVersion: 'v1', name: 'verity-plugin-shout', version: '2.0.0', permissions: {}, tools: [shout] })",
        ].join('\n'),
      )
      const loaded = await loadPlugin({ source: 'verity-plugin-shout', resolveFrom: home, log: quiet })
      expect(loaded.version).toBe('2.0.0')
      expect(await loaded.tools[0]?.invoke({ text: 'hi' })).toBe('HI')
      await expect(loadPlugin({ source: 'verity-plugin-absent', resolveFrom: home })).rejects.toBeInstanceOf(NotFoundError)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
