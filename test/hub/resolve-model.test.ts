import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { NotFoundError } from '../../src/errors.js'
import { openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { resolveModel } from '../../src/hub/resolve-model.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { MODEL_DIR } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-resolve-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('naming a model by hub name or CID', () => {
  it('resolves a name or a CID to a folder loadModelPackage accepts, written out once', async () => {
    const hub = await openHub({ dir: join(work, 'hub') })
    const { release } = await publishRelease({
      hub,
      dir: MODEL_DIR,
      signer: createKeySigner({ privateKey: `0x${'66'.repeat(32)}` }),
    })
    const byName = await resolveModel({ hub, reference: 'transaction-risk@1.0.0' })
    expect(byName.release?.id).toBe(release.id)
    expect(byName.cid).toBe(release.packageCid)
    expect(loadModelPackage({ dir: byName.dir }).digest).toBe(loadModelPackage({ dir: MODEL_DIR }).digest)
    const before = statSync(byName.dir).mtimeMs
    const byCid = await resolveModel({ hub, reference: release.packageCid })
    expect(byCid.dir).toBe(byName.dir)
    expect(statSync(byCid.dir).mtimeMs).toBe(before)
    await expect(resolveModel({ hub, reference: 'no-such-model' })).rejects.toThrow(NotFoundError)
  })
})
