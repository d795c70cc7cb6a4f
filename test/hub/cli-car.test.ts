import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openHub } from '../../src/hub/open-hub.js'
import { publishRelease } from '../../src/hub/publish-release.js'
import { createKeySigner } from '../../src/identity/secp256k1-signer.js'
import { runVerity } from '../e2e/run-process.js'
import { MODEL_DIR } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-cli-car-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('verity hub export --car / import / verify', () => {
  it('round-trips a release through a CAR file, and refuses a CAR with a flipped byte (exit 1)', async () => {
    const source = join(work, 'source')
    const hub = await openHub({ dir: source })
    const { release } = await publishRelease({
      hub,
      dir: MODEL_DIR,
      signer: createKeySigner({ privateKey: `0x${'77'.repeat(32)}` }),
    })
    const car = join(work, 'package.car')
    const exported = await runVerity(['hub', 'export', 'transaction-risk@1.0.0', '--car', car, '--hub', source, '--json'])
    expect(exported.code).toBe(0)
    expect(JSON.parse(exported.stdout).root).toBe(release.packageCid)

    const target = join(work, 'target')
    const imported = await runVerity(['hub', 'import', car, '--hub', target, '--json'])
    expect(imported.code).toBe(0)
    expect(JSON.parse(imported.stdout).roots).toEqual([release.packageCid])
    const verified = await runVerity(['hub', 'verify', release.packageCid, '--hub', target, '--json'])
    expect(JSON.parse(verified.stdout).blocks).toBe(9) // 8 one-chunk files (raw blocks) and the folder node

    const bytes = Buffer.from(readFileSync(car))
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0x40, bytes.length - 3)
    const tampered = join(work, 'tampered.car')
    writeFileSync(tampered, bytes)
    const refused = await runVerity(['hub', 'import', tampered, '--hub', join(work, 'third'), '--json'])
    expect(refused.code).toBe(1)
    expect(JSON.parse(refused.stderr).error.code).toBe('VERITY_BLOCK_INTEGRITY')
  }, 300_000)
})
