import * as vitest from 'vitest'
import { VerityCheckpointSaver } from '../../src/langchain/verity-checkpoint-saver.js'
import type { Vault } from '../../src/memory/vault.js'
import { createVault } from '../../src/memory/vault.js'
import { hashEmbedder, temporaryFolder, testGuard } from '../memory/helpers.js'

// The suite is written against Jest-style globals (describe/it/expect/beforeAll...): give it vitest's.
const { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } = vitest
Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test })
const { validate } = await import('@langchain/langgraph-checkpoint-validation')

// LangGraph's own checkpoint saver validation suite, run against savers over real vaults
// (LanceDB index, encrypted segments), one fresh vault per saver so the suite's isolation holds.
const folder = temporaryFolder('verity-checkpoint-validation-')
const vaults = new Map<VerityCheckpointSaver, Vault>()
let count = 0

validate<VerityCheckpointSaver>({
  checkpointerName: 'VerityCheckpointSaver',
  async createCheckpointer() {
    const vault = await createVault({ path: `${folder.path}/vault-${count++}`, guards: [testGuard()], embedder: hashEmbedder(8) })
    const saver = new VerityCheckpointSaver({ vault })
    vaults.set(saver, vault)
    return saver
  },
  async destroyCheckpointer(saver) {
    await vaults.get(saver)?.close()
    vaults.delete(saver)
  },
})

afterAll(() => folder.cleanup())
