import { createHash, randomFillSync } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseCid } from '../../src/hub/block-check.js'
import { exportFolder } from '../../src/hub/export-folder.js'
import { openHub } from '../../src/hub/open-hub.js'
import { PACK_INDEX_SUFFIX, PACK_SUFFIX, readPackIndexes } from '../../src/hub/pack-index.js'
import { loadModelPackage } from '../../src/proofs/model-package.js'
import { runVerity, spawnVerity } from '../e2e/run-process.js'
import { MODEL_DIR } from './files.js'

const work = mkdtempSync(join(tmpdir(), 'verity-hub-crash-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
const alice = { VERITY_AGENT_HOME: join(work, 'alice'), VERITY_PASSPHRASE: 'alice hub crash passphrase' }
const bob = { VERITY_AGENT_HOME: join(work, 'bob'), VERITY_PASSPHRASE: 'bob hub crash passphrase' }

/** The bundled package plus a weights file of `mib` random MiB listed in its manifest, as version `version`. */
function packageWithWeights(dir: string, mib: number, version: string): void {
  cpSync(MODEL_DIR, dir, { recursive: true })
  const weights = Buffer.alloc(mib * 1024 * 1024)
  randomFillSync(weights)
  writeFileSync(join(dir, 'weights.bin'), weights)
  const manifest = JSON.parse(readFileSync(join(dir, 'verity-model.json'), 'utf8'))
  manifest.version = version
  manifest.files['weights.bin'] = `sha256:${createHash('sha256').update(weights).digest('hex')}`
  writeFileSync(join(dir, 'verity-model.json'), JSON.stringify(manifest, null, 2))
}

describe('the hub under crashes and concurrent writers', () => {
  it('kill -9 mid-publish: no release, no block of it counts, earlier releases intact, the publish can be redone', async () => {
    const hubDir = join(work, 'hub-killed')
    const first = await runVerity(['hub', 'publish', MODEL_DIR, '--hub', hubDir, '--json'], alice)
    expect(first.code, first.stderr).toBe(0)
    const firstCid = JSON.parse(first.stdout).release.packageCid as string
    const blocksDir = join(hubDir, 'blocks')
    const committed = new Set(readdirSync(blocksDir).filter((name) => name.endsWith(PACK_SUFFIX)))

    const big = join(work, 'big')
    packageWithWeights(big, 96, '1.1.0')
    const child = spawnVerity(['hub', 'publish', big, '--hub', hubDir, '--json'], alice)
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    let finishedFirst = false
    child.on('exit', () => {
      finishedFirst = true
    })
    // kill it once its pack holds a few MiB: mid-batch, the index not written
    for (;;) {
      const growing = readdirSync(blocksDir).find(
        (name) => name.endsWith(PACK_SUFFIX) && !committed.has(name) && statSync(join(blocksDir, name)).size > 4 * 1024 * 1024,
      )
      if (growing || finishedFirst) break
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(finishedFirst, 'the publish ended before it could be killed').toBe(false)
    child.kill('SIGKILL')
    expect(await exited).toBe(null)

    const hub = await openHub({ dir: hubDir })
    expect(hub.releases.all().map((release) => release.version)).toEqual(['1.0.0'])
    const orphans = readdirSync(blocksDir).filter(
      (name) =>
        name.endsWith(PACK_SUFFIX) && !existsSync(join(blocksDir, `${name.slice(0, -PACK_SUFFIX.length)}${PACK_INDEX_SUFFIX}`)),
    )
    expect(orphans.length).toBe(1) // the killed batch's pack: counts for nothing, kept while it may be live
    expect((await readPackIndexes({ dir: blocksDir })).length).toBe(committed.size)
    const out = join(work, 'first-out')
    await exportFolder({ cid: parseCid(firstCid), blockstore: hub.blocks, to: out })
    expect(loadModelPackage({ dir: out }).manifest.name).toBe('transaction-risk')

    const again = await runVerity(['hub', 'publish', big, '--hub', hubDir, '--json'], alice)
    expect(again.code, again.stderr).toBe(0)
    const pulled = await runVerity(
      ['hub', 'pull', 'transaction-risk@1.1.0', '--hub', hubDir, '--to', join(work, 'big-out'), '--json'],
      alice,
    )
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(readFileSync(join(work, 'big-out', 'weights.bin')).equals(readFileSync(join(big, 'weights.bin')))).toBe(true)
  })

  it('two processes publishing into one hub at once: both releases and all their blocks are there', async () => {
    const hubDir = join(work, 'hub-shared')
    const [one, two] = [join(work, 'one'), join(work, 'two')]
    packageWithWeights(one, 8, '2.0.0')
    packageWithWeights(two, 8, '3.0.0')
    const [a, b] = await Promise.all([
      runVerity(['hub', 'publish', one, '--hub', hubDir, '--json'], alice),
      runVerity(['hub', 'publish', two, '--hub', hubDir, '--json'], bob),
    ])
    expect(a.code, a.stderr).toBe(0)
    expect(b.code, b.stderr).toBe(0)
    const hub = await openHub({ dir: hubDir })
    expect(
      hub.releases
        .all()
        .map((release) => release.version)
        .sort(),
    ).toEqual(['2.0.0', '3.0.0'])
    for (const [result, source] of [
      [a, one],
      [b, two],
    ] as const) {
      const to = `${source}-out`
      await exportFolder({ cid: parseCid(JSON.parse(result.stdout).release.packageCid), blockstore: hub.blocks, to })
      expect(readFileSync(join(to, 'weights.bin')).equals(readFileSync(join(source, 'weights.bin')))).toBe(true)
    }
  })
})
