import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createVault, exactIndexFactory, openVault, type Vault } from '../../src/memory/index.js'
import { hashEmbedder, temporaryFolder, testGuard } from './helpers.js'

type Model = Map<string, { text: string; metadata: Record<string, string>; namespace: string }>
type Operation =
  | { type: 'add'; id: string; text: string; namespace: string; tag: string }
  | { type: 'update'; id: string; text: string }
  | { type: 'delete'; id: string }
  | { type: 'compact' }
  | { type: 'reopen' }

const ids = fc.constantFrom('a', 'b', 'c', 'd', 'e')
const words = fc.array(fc.constantFrom('tea', 'sea', 'rust', 'memory', 'ada', 'bob', 'x'), { minLength: 1, maxLength: 4 })
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    type: fc.constant('add' as const),
    id: ids,
    text: words.map((list) => list.join(' ')),
    namespace: fc.constantFrom('default', 'alice'),
    tag: fc.constantFrom('p', 'q'),
  }),
  fc.record({ type: fc.constant('update' as const), id: ids, text: words.map((list) => list.join(' ')) }),
  fc.record({ type: fc.constant('delete' as const), id: ids }),
  fc.constant({ type: 'compact' as const }),
  fc.constant({ type: 'reopen' as const }),
)

function expectMatches(vault: Vault, model: Model): void {
  const listed = vault.list({ limit: 1000 }).records
  expect(
    new Map(listed.map((record) => [record.id, { text: record.text, metadata: record.metadata, namespace: record.namespace }])),
  ).toEqual(model)
  for (const [id, expected] of model) expect(vault.get(id)?.text).toBe(expected.text)
}

describe('vault property', () => {
  it('random operation sequences match an in-memory model, across compaction and reopen', async () => {
    const embedder = hashEmbedder(8)
    const guards = [testGuard()]
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), async (operations) => {
        const folder = temporaryFolder()
        const path = join(folder.path, 'vault')
        const model: Model = new Map()
        let vault = await createVault({ path, guards, embedder, snapshotThreshold: 2, index: exactIndexFactory })
        try {
          for (const op of operations) {
            if (op.type === 'add') {
              const promise = vault.add({ id: op.id, text: op.text, namespace: op.namespace, metadata: { tag: op.tag } })
              if (model.has(op.id)) await expect(promise).rejects.toThrow(/already exists/)
              else {
                await promise
                model.set(op.id, { text: op.text, metadata: { tag: op.tag }, namespace: op.namespace })
              }
            } else if (op.type === 'update') {
              const promise = vault.update({ id: op.id, text: op.text })
              const current = model.get(op.id)
              if (!current) await expect(promise).rejects.toThrow(/No memory/)
              else {
                await promise
                model.set(op.id, { ...current, text: op.text })
              }
            } else if (op.type === 'delete') {
              const promise = vault.delete(op.id)
              if (!model.has(op.id)) await expect(promise).rejects.toThrow(/No memory/)
              else {
                await promise
                model.delete(op.id)
              }
            } else if (op.type === 'compact') await vault.compact()
            else {
              await vault.close()
              vault = await openVault({ path, guards, embedder, snapshotThreshold: 2, index: exactIndexFactory })
            }
            expectMatches(vault, model)
          }
          // Search agrees with the model too: every live record is findable by its own text.
          for (const [id, expected] of model) {
            const hits = await vault.search({ query: expected.text, mode: 'text', k: 10, namespace: expected.namespace })
            expect(hits.map((hit) => hit.record.id)).toContain(id)
          }
          await vault.close()
          vault = await openVault({ path, guards, embedder, index: exactIndexFactory })
          expectMatches(vault, model)
        } finally {
          await vault.close()
          folder.cleanup()
        }
      }),
      { numRuns: 30 },
    )
  })
})
