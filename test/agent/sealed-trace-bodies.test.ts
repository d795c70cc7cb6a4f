import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AIMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { tool } from '@langchain/core/tools'
import { beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createVerityAgent } from '../../src/agent/create-verity-agent.js'
import { traceBodyKey } from '../../src/agent/trace-body-key.js'
import { traceRecorder } from '../../src/agent/trace-recorder.js'
import { IntegrityError, InvalidInputError } from '../../src/errors.js'
import { createAgentIdentity } from '../../src/identity/agent-identity.js'
import { createHashingEmbedder } from '../../src/memory/embedders/hashing-embedder.js'
import { createVault, openVault } from '../../src/memory/vault.js'
import type { TraceEntryLine } from '../../src/trace/entry.js'
import { openTrace } from '../../src/trace/open-trace.js'
import { readTraceFile } from '../../src/trace/read-trace.js'
import { revealTrace } from '../../src/trace/reveal-trace.js'
import { isSealedTraceBody, openSealedTraceBody } from '../../src/trace/sealed-body.js'
import { traceTimeline } from '../../src/trace/trace-timeline.js'
import { verifyTrace } from '../../src/trace/verify-trace.js'
import { AGENT_VAULT_GUARDS, useAgentVault } from './helpers/agent-vault.js'
import { toolCallingModel } from './helpers/tool-calling-model.js'

// Canaries: a memory in the vault (recalled automatically), a tool argument, a remembered text.
const MEMORY = 'Zanzibar canary memory 7731'
const ARGUMENT = 'Quokka-canary-argument-5512'
const REMEMBERED = 'Narwhal canary remembered 9902'

const forecast = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: 'forecast',
  description: 'Weather forecast for a city',
  schema: z.object({ city: z.string() }),
})

function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

const entriesOf = (path: string): TraceEntryLine[] =>
  readTraceFile(path).lines.flatMap((line) => (line.ok && line.line.type === 'entry' ? [line.line] : []))

describe('sealed trace bodies after a real agent run', () => {
  const fixture = useAgentVault('verity-sealed-')
  beforeEach(async () => {
    await fixture.vault.add({ text: MEMORY, namespace: 'agent:canary' })
  })

  async function run(sealTraceBodies?: boolean) {
    const { home, vault } = fixture
    const identity = await createAgentIdentity({ home, passphrase: 'correct horse battery', scrypt: { N: 1024 } })
    const runFolder = join(home, 'run')
    mkdirSync(runFolder)
    const tracePath = join(runFolder, 'run.trace.jsonl')
    // blobThreshold 300: larger bodies go to blobs/, so the canary covers blob files and inline bodies.
    const trace = await openTrace({ path: tracePath, signer: identity.signer, blobThreshold: 300, checkpointInterval: 4 })
    const model = toolCallingModel({
      toolCalls: [
        { name: 'forecast', args: { city: ARGUMENT }, id: 'call-forecast' },
        { name: 'remember', args: { text: REMEMBERED }, id: 'call-remember' },
      ],
      answer: `Forecast done for ${ARGUMENT}.`,
    })
    const agent = createVerityAgent({
      name: 'canary',
      model,
      tools: [forecast],
      vault,
      recorder: traceRecorder({ trace }),
      ...(sealTraceBodies === undefined ? {} : { sealTraceBodies }),
    })
    await agent.invoke(`Zanzibar canary memory: what is the forecast for ${ARGUMENT}?`)
    // The recalled memory really reached the model (so it was personal data in flight).
    expect(JSON.stringify(model.calls[0]?.messages.map((message) => message.content))).toContain(MEMORY)
    await trace.end()
    return { tracePath, runFolder, origin: trace.origin }
  }

  it('no memory text, task or tool argument in any byte of the run folder; verify passes without the key; the vault reveals them', async () => {
    const { home, vault } = fixture
    const { tracePath, runFolder, origin } = await run()
    const files = filesUnder(runFolder)
    expect(files.some((file) => file.includes(`${join(runFolder, 'blobs')}`))).toBe(true)
    expect(files.some((file) => file.endsWith('.checkpoint.json'))).toBe(true)
    for (const file of files) {
      const bytes = readFileSync(file).toString('latin1')
      for (const canary of [MEMORY, ARGUMENT, REMEMBERED, 'Zanzibar', 'Quokka', 'Narwhal'])
        expect(bytes.includes(canary), `${canary} in ${file}`).toBe(false)
    }

    // Anyone verifies chain, signatures and checkpoints without the key.
    const report = await verifyTrace({ path: tracePath, workers: 0 })
    expect(report.firstFailure).toBeUndefined()
    expect(report.ok).toBe(true)
    const { rows } = await traceTimeline({ path: tracePath })
    expect(rows.some((row) => row.sealed && row.summary.endsWith('[sealed]'))).toBe(true)

    // The owner, through the vault (reopened read-only, as `verity trace reveal --vault` does), reveals them.
    await vault.close()
    const reader = await openVault({
      path: join(home, 'vault'),
      guards: AGENT_VAULT_GUARDS,
      embedder: createHashingEmbedder(),
      readOnly: true,
    })
    const key = await traceBodyKey({ vault: reader, origin })
    await reader.close()
    const { entries } = revealTrace({ path: tracePath, key })
    const revealed = JSON.stringify(entries.map((entry) => entry.body))
    expect(revealed).toContain(ARGUMENT)
    expect(revealed).toContain(REMEMBERED)
    expect(revealed).toContain('Zanzibar canary memory: what is the forecast')
    const toolCall = entries.find((entry) => entry.kind === 'tool-call' && (entry.body as { tool?: string }).tool === 'forecast')
    expect(toolCall?.sealed).toBe(true)
    expect((toolCall?.body as { args?: unknown } | undefined)?.args).toEqual({ city: ARGUMENT })
    const shown = await traceTimeline({ path: tracePath, bodyKey: key })
    expect(shown.rows.find((row) => row.kind === 'tool-call')?.summary).toContain(ARGUMENT)

    // A sealed part moved to another entry, or altered, fails to open (typed) and fails verify.
    const lines = readFileSync(tracePath, 'utf8').trimEnd().split('\n')
    const sealedEntries = entriesOf(tracePath).filter((entry) => entry.body !== undefined && isSealedTraceBody(entry.body))
    expect(sealedEntries.length).toBeGreaterThanOrEqual(2)
    const [from, to] = sealedEntries as [TraceEntryLine, TraceEntryLine]
    const moved = { ...(to.body as object), sealed: (from.body as { sealed: unknown }).sealed }
    expect(() => openSealedTraceBody({ key, origin, agent: to.agent, seq: to.seq, kind: to.kind, body: moved as never })).toThrow(
      IntegrityError,
    )
    const sealedPart = (from.body as { sealed: { ciphertext: string } }).sealed
    const flipped = `${sealedPart.ciphertext[0] === 'A' ? 'B' : 'A'}${sealedPart.ciphertext.slice(1)}`
    const altered = { ...(from.body as object), sealed: { ...sealedPart, ciphertext: flipped } }
    expect(() =>
      openSealedTraceBody({ key, origin, agent: from.agent, seq: from.seq, kind: from.kind, body: altered as never }),
    ).toThrow(IntegrityError)
    for (const [target, body] of [
      [to, moved],
      [from, altered],
    ] as const) {
      const index = lines.findIndex((line) => line.includes(`"hash":"${target.hash}"`))
      const tampered = [...lines]
      tampered[index] = JSON.stringify({ ...JSON.parse(lines[index] as string), body })
      const copy = join(home, `tampered-${target.seq}.trace.jsonl`)
      writeFileSync(copy, `${tampered.join('\n')}\n`)
      const bad = await verifyTrace({ path: copy, workers: 0 })
      expect(bad.ok).toBe(false)
      expect(bad.firstFailure?.field).toBe('body')
      expect(() => revealTrace({ path: copy, key, seqs: [target.seq] })).toThrow(IntegrityError)
    }
  })

  it('sealTraceBodies: false is an explicit opt-out (plaintext bodies, as before)', async () => {
    const { tracePath, runFolder } = await run(false)
    const text = filesUnder(runFolder)
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n')
    expect(text).toContain(ARGUMENT)
    expect(entriesOf(tracePath).some((entry) => entry.body !== undefined && isSealedTraceBody(entry.body))).toBe(false)
  })
})

describe('sealed trace bodies on a read-only vault', () => {
  it('createVerityAgent refuses at once with a typed error (the body key cannot be stored), and runs with sealTraceBodies: false', async () => {
    const home = mkdtempSync(join(tmpdir(), 'verity-sealed-ro-'))
    const guards = AGENT_VAULT_GUARDS
    const path = join(home, 'vault')
    await (await createVault({ path, guards, embedder: createHashingEmbedder() })).close()
    const reader = await openVault({ path, guards, embedder: createHashingEmbedder(), readOnly: true })
    try {
      const identity = await createAgentIdentity({ home, passphrase: 'correct horse battery', scrypt: { N: 1024 } })
      const trace = await openTrace({ path: join(home, 'run.trace.jsonl'), signer: identity.signer })
      const model = fakeModel().respond(new AIMessage('ok'))
      const create = (sealTraceBodies?: boolean) =>
        createVerityAgent({
          name: 'reader',
          model,
          vault: reader,
          checkpointer: false,
          recorder: traceRecorder({ trace }),
          ...(sealTraceBodies === undefined ? {} : { sealTraceBodies }),
        })
      expect(() => create()).toThrow(InvalidInputError)
      expect(() => create()).toThrow(/read-only vault/)
      expect(() => create(false)).not.toThrow()
      await trace.end()
    } finally {
      await reader.close()
      rmSync(home, { recursive: true, force: true })
    }
  })
})
