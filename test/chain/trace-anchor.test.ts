import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Contract } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChainClient, chainErrorFrom } from '../../src/chain/chain-client.js'
import {
  type AnchorableCheckpoint,
  anchorCheckpoint,
  anchorCheckpointBatch,
  latestCheckpoint,
  readAnchoredCheckpoint,
  verifyAnchoredTrace,
  verifyBatchInclusion,
} from '../../src/chain/trace-anchor.js'
import { deployVerityContract } from '../../src/chain/verity-contracts.js'
import { canonicalDigest } from '../../src/crypto/canonical-json.js'
import { ChainError } from '../../src/errors.js'
import { entryHash, type TraceEntryLine, traceEntryHeader } from '../../src/trace/entry.js'
import { openTrace, traceCheckpointSidecarPath } from '../../src/trace/open-trace.js'
import { temporaryDirectory, testSigner } from '../trace/helpers.js'
import { NETWORKS, openNetwork } from './helpers.js'

/** Writes `count` decisions through the real trace writer, then a checkpoint. */
async function writeDecisions(path: string, name: string, count: number, label: string, end = false) {
  const trace = await openTrace({ path, signer: testSigner(name), checkpointInterval: 1000 })
  for (let index = 0; index < count; index++) await trace.append({ kind: 'answer', body: { text: `${label} ${index}` } })
  if (end) await trace.end({ body: { status: 'ok' } })
  else {
    await trace.checkpoint()
    await trace.close()
  }
}

async function expectRevert(promise: Promise<unknown>, reason: RegExp) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ChainError)
  expect(String((error as ChainError).meta?.reason)).toMatch(reason)
}

for (const network of NETWORKS) {
  describe(`TraceAnchor on ${network}`, { timeout: 300_000 }, () => {
    let client: ChainClient
    let close: () => Promise<void>
    let anchor: Contract
    beforeAll(async () => {
      const opened = await openNetwork(network, 1)
      client = opened.clients[0] as ChainClient
      close = opened.close
      anchor = (await deployVerityContract({ client, name: 'TraceAnchor' })).contract
    }, 180_000)
    afterAll(async () => close?.())

    it('anchors a real checkpoint; the growing trace stays consistent; sizes only grow; a bad signature is refused', async () => {
      const path = join(temporaryDirectory(), 'run.trace.jsonl')
      await writeDecisions(path, 'anchor-alice', 3, 'decision')
      const first = await latestCheckpoint(path)
      expect(first.size).toBe(4) // run-start + 3
      const { gasUsed } = await anchorCheckpoint({ anchor, checkpoint: first })
      expect(gasUsed).toBeGreaterThan(40_000n)
      expect(await readAnchoredCheckpoint({ anchor, agent: first.agent, origin: first.origin })).toMatchObject({
        size: 4,
        root: first.root,
      })
      // the run goes on: the anchored tree is a prefix of the longer one
      await writeDecisions(path, 'anchor-alice', 3, 'later', true)
      const verdict = await verifyAnchoredTrace({ anchor, path })
      expect(verdict).toMatchObject({ status: 'consistent', ok: true, localEntries: 8 })
      expect(verdict.consistencyProof?.length).toBeGreaterThan(0)

      const second = await latestCheckpoint(path)
      await anchorCheckpoint({ anchor, checkpoint: second })
      await expectRevert(anchorCheckpoint({ anchor, checkpoint: first }), /SizeMustGrow\(8, 4\)/)
      await expectRevert(anchorCheckpoint({ anchor, checkpoint: second }), /SizeMustGrow\(8, 8\)/)

      const otherRoot = `0x${'ab'.repeat(32)}`
      await expectRevert(anchorCheckpoint({ anchor, checkpoint: { ...second, size: 9, root: otherRoot } }), /BadSignature/)
      await expectRevert(anchorCheckpoint({ anchor, checkpoint: { ...second, chainId: 5 } }), /BadSignature/)
      // another agent's signature under alice's name
      const mallory = join(temporaryDirectory(), 'mallory.trace.jsonl')
      await writeDecisions(mallory, 'anchor-mallory', 20, 'x')
      const forged = await latestCheckpoint(mallory)
      await expectRevert(
        anchorCheckpoint({ anchor, checkpoint: { ...forged, agent: second.agent, origin: second.origin } }),
        /BadSignature/,
      )
      // a high-s twin of a valid signature is refused (malleability)
      const s = BigInt(`0x${second.signature.slice(66, 130)}`)
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
      const v = Number.parseInt(second.signature.slice(130), 16)
      const highS = `${second.signature.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`
      await expectRevert(anchorCheckpoint({ anchor, checkpoint: { ...second, size: 8, signature: highS } }), /BadSignature/)
    })

    it('names a trace truncated, forked or rewritten after anchoring', async () => {
      const directory = temporaryDirectory()
      const path = join(directory, 'run.trace.jsonl')
      await writeDecisions(path, 'anchor-bob', 2, 'shared')
      // a copy taken before the anchored part diverges: the same run, resumed elsewhere
      const fork = join(directory, 'fork.trace.jsonl')
      copyFileSync(path, fork)
      if (existsSync(traceCheckpointSidecarPath(path)))
        copyFileSync(traceCheckpointSidecarPath(path), traceCheckpointSidecarPath(fork))
      await writeDecisions(path, 'anchor-bob', 4, 'anchored')
      await anchorCheckpoint({ anchor, checkpoint: await latestCheckpoint(path) })
      expect((await verifyAnchoredTrace({ anchor, path })).status).toBe('consistent')

      await writeDecisions(fork, 'anchor-bob', 5, 'other history')
      const forked = await verifyAnchoredTrace({ anchor, path: fork })
      expect(forked.status).toBe('forked')
      expect(forked.reason).toMatch(/different, validly signed history/)

      const lines = readFileSync(path, 'utf8').trimEnd().split('\n')
      const entryLines = lines.filter((line) => line.includes('"type":"entry"'))
      const truncated = join(directory, 'truncated.trace.jsonl')
      writeFileSync(truncated, `${entryLines.slice(0, 5).join('\n')}\n`)
      const cut = await verifyAnchoredTrace({ anchor, path: truncated })
      expect(cut.status).toBe('truncated')
      expect(cut.reason).toMatch(/has 5 entries, 7 were anchored/)

      // rewrite decision 2 after anchoring: new text, new body digest, new hash (the old signature stays)
      const rewritten = join(directory, 'rewritten.trace.jsonl')
      const changed = lines.map((text) => {
        const line = JSON.parse(text) as TraceEntryLine
        if (line.type !== 'entry' || line.seq !== 3) return text
        const body = { text: 'anchored 0 (edited)' }
        const edited = { ...line, body, bodyDigest: canonicalDigest(body) }
        return JSON.stringify({ ...edited, hash: entryHash(traceEntryHeader(edited)) })
      })
      writeFileSync(rewritten, `${changed.join('\n')}\n`)
      const rewrite = await verifyAnchoredTrace({ anchor, path: rewritten })
      expect(rewrite.status).toBe('rewritten')
      expect(rewrite.reason).toMatch(/seq/)
    })

    it('anchors 20 agents in one transaction; each proves inclusion; a changed or unsigned leaf does not', async () => {
      const checkpoints: AnchorableCheckpoint[] = []
      for (let index = 0; index < 20; index++) {
        const path = join(temporaryDirectory(), 'run.trace.jsonl')
        await writeDecisions(path, `batch-agent-${index}`, 1 + (index % 3), 'decision')
        checkpoints.push(await latestCheckpoint(path))
      }
      const batch = await anchorCheckpointBatch({ anchor, checkpoints })
      for (const inclusion of batch.inclusions)
        expect(await verifyBatchInclusion({ anchor, batchId: batch.batchId, ...inclusion })).toBe(true)
      const [first, second] = batch.inclusions as [(typeof batch.inclusions)[0], (typeof batch.inclusions)[0]]
      expect(await verifyBatchInclusion({ anchor, batchId: batch.batchId, ...first, index: 1 })).toBe(false)
      expect(await verifyBatchInclusion({ anchor, batchId: batch.batchId, ...first, proof: second.proof })).toBe(false)
      expect(
        await verifyBatchInclusion({
          anchor,
          batchId: batch.batchId,
          ...first,
          checkpoint: { ...first.checkpoint, signature: second.checkpoint.signature },
        }),
      ).toBe(false)
      await expectRevert(verifyBatchInclusion({ anchor, batchId: batch.batchId + 7, ...first }), /NoSuchBatch/)
      await expectRevert(
        anchor
          .getFunction('anchorBatch')(`0x${'00'.repeat(32)}`, 0)
          .catch((error: unknown) => {
            throw chainErrorFrom(error, anchor.interface, 'batch')
          }),
        /EmptyBatch/,
      )
    })
  })
}
