/**
 * The hub on a 100 MB model package (the bundled transaction-risk package plus a 100 MiB weights
 * file), each figure beside a baseline measured in the same run:
 * - publish (check the package, UnixFS-chunk it, write blocks durably, sign) vs a plain disk copy of
 *   the same folder (`cp -r`, left in the page cache), and vs the same copy made durable (`cp -r`,
 *   then fsync of every copied file and folder): a publish is durable when it returns, so the second
 *   is the like-for-like baseline; both ratios are reported;
 * - pull from this hub's blocks into a folder (every block checked, files fsynced) vs the same two copies;
 * - CID computation (ipfs-unixfs-importer, blocks discarded) vs `sha256sum` of the same file, and vs
 *   Node's own sha256 over the file (the hash the importer uses: the floor of its cost);
 * - `pullPackage` from `hub serve` over loopback (CAR, every block checked, blocks stored, folder
 *   installed, both durable) vs `curl` downloading the same CAR bytes from a plain Node file server
 *   to a file, and vs that download followed by an fsync of the file. Both servers run in this
 *   process, so the hub's server work (reading and checking every block it sends) shares the core.
 * - publish vs kubo `ipfs add -r` of the same folder, when scripts/setup-kubo.sh has built kubo (the CIDs must agree).
 * Publish, local pull and both copies run VERITY_BENCH_HUB_ROUNDS rounds (default 3); medians are reported.
 * Scale: VERITY_BENCH_HUB_MIB (default 100).
 */
import { execFile, execFileSync } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import {
  closeSync,
  cpSync,
  createReadStream,
  fsyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { importer } from 'ipfs-unixfs-importer'
import { digest } from '../src/crypto/digest.js'
import { parseCid } from '../src/hub/block-check.js'
import { exportCar } from '../src/hub/car-file.js'
import { exportFolder } from '../src/hub/export-folder.js'
import { startHubGateway } from '../src/hub/gateway-server.js'
import { openHub } from '../src/hub/open-hub.js'
import { publishRelease } from '../src/hub/publish-release.js'
import { pullPackage } from '../src/hub/pull-package.js'
import { KUBO_ADD_FLAGS, unixfsImporterOptions } from '../src/hub/unixfs-settings.js'
import { createKeySigner } from '../src/identity/secp256k1-signer.js'
import { kuboBinaryIfBuilt } from '../test/hub/kubo.js'
import { type BenchmarkReport, machine, metric, percentile, round, rssSampler, timeMs } from './lib/measure.js'

const execFileAsync = promisify(execFile)
const MIB = Number(process.env.VERITY_BENCH_HUB_MIB ?? 100)
const ROUNDS = Number(process.env.VERITY_BENCH_HUB_ROUNDS ?? 3)
const MODEL_DIR = join(import.meta.dirname, '..', 'models', 'transaction-risk')

function fsyncPath(path: string): void {
  const descriptor = openSync(path, 'r')
  try {
    fsyncSync(descriptor)
  } finally {
    closeSync(descriptor)
  }
}

/** fsync of every file and folder under `path` (what makes a copy durable, like the hub's writes). */
function fsyncTree(path: string): void {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) fsyncTree(join(path, name))
  fsyncPath(path)
}

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const work = mkdtempSync(join(tmpdir(), 'verity-bench-hub-'))
  try {
    // the package: the bundled model plus a big weights file, registered in its manifest
    const source = join(work, 'package')
    cpSync(MODEL_DIR, source, { recursive: true })
    const weights = Buffer.alloc(MIB * 1024 * 1024)
    for (let offset = 0; offset < weights.length; offset += 1 << 16)
      randomFillSync(weights, offset, Math.min(1 << 16, weights.length - offset))
    writeFileSync(join(source, 'weights.bin'), weights)
    const manifest = JSON.parse(readFileSync(join(source, 'verity-model.json'), 'utf8'))
    manifest.files['weights.bin'] = digest(weights)
    writeFileSync(join(source, 'verity-model.json'), JSON.stringify(manifest, null, 2))
    const packageBytes = weights.length + 150_000
    const mb = packageBytes / 1e6
    execFileSync('sync')

    // ROUNDS rounds, each: plain copy, durable copy, publish into a fresh hub, local pull out of it;
    // medians reported (one round alone swings with the page cache and the disk's write-back)
    const signer = createKeySigner({ privateKey: `0x${'55'.repeat(32)}` })
    const rounds = { copyMs: [] as number[], copySyncMs: [] as number[], publishMs: [] as number[], exportMs: [] as number[] }
    let packageCid = ''
    let hub = await openHub({ dir: join(work, 'hub-0') })
    for (let round = 0; round < ROUNDS; round += 1) {
      rmSync(join(work, 'copy'), { recursive: true, force: true })
      rounds.copyMs.push(await timeMs(() => execFileSync('cp', ['-r', source, join(work, 'copy')])))
      rmSync(join(work, 'copy'), { recursive: true, force: true })
      rounds.copySyncMs.push(
        await timeMs(() => {
          execFileSync('cp', ['-r', source, join(work, 'copy')])
          fsyncTree(join(work, 'copy'))
          fsyncPath(work) // the folder that names the copy
        }),
      )
      if (round > 0) rmSync(join(work, `hub-${round - 1}`), { recursive: true, force: true })
      hub = await openHub({ dir: join(work, `hub-${round}`) })
      rounds.publishMs.push(
        await timeMs(async () => {
          packageCid = (await publishRelease({ hub, dir: source, signer })).release.packageCid
        }),
      )
      rmSync(join(work, 'exported'), { recursive: true, force: true })
      rounds.exportMs.push(
        await timeMs(() => exportFolder({ cid: parseCid(packageCid), blockstore: hub.blocks, to: join(work, 'exported') })),
      )
    }
    rmSync(join(work, 'copy'), { recursive: true, force: true })
    const copyMs = percentile(rounds.copyMs, 50)
    const copySyncMs = percentile(rounds.copySyncMs, 50)
    const publishMs = percentile(rounds.publishMs, 50)
    const exportMs = percentile(rounds.exportMs, 50)

    // the reference IPFS node on the same folder (its flatfs blockstore syncs its writes): same CID expected
    let kuboAddMs: number | undefined
    const kubo = kuboBinaryIfBuilt()
    if (kubo) {
      const env = { ...process.env, IPFS_PATH: join(work, 'kubo'), IPFS_TELEMETRY: 'off' }
      execFileSync(kubo, ['init', '--profile', 'test', '--empty-repo'], { env, stdio: 'ignore' })
      let kuboCid = ''
      kuboAddMs = await timeMs(() => {
        kuboCid = execFileSync(kubo, ['add', '-r', '-Q', '--hidden', ...KUBO_ADD_FLAGS, source], { env, encoding: 'utf8' }).trim()
      })
      if (kuboCid !== packageCid) throw new Error(`kubo computed ${kuboCid}, Verity ${packageCid}`)
    }

    // CID computation vs sha256sum of the weights file
    const weightsPath = join(source, 'weights.bin')
    const sha256sumMs = await timeMs(() => execFileSync('sha256sum', [weightsPath]))
    const nodeSha256Ms = await timeMs(async () => {
      const hash = createHash('sha256')
      for await (const chunk of createReadStream(weightsPath, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
      hash.digest()
    })
    const cidMs = await timeMs(async () => {
      for await (const _ of importer(
        [{ path: 'w', content: createReadStream(weightsPath, { highWaterMark: 1 << 20 }) }],
        { put: async (cid) => cid },
        unixfsImporterOptions(),
      ))
        void _
    })

    // pull over loopback HTTP vs a plain HTTP download of the same CAR bytes
    const carPath = join(work, 'package.car')
    await exportCar({ root: parseCid(packageCid), blockstore: hub.blocks, file: carPath })
    const carBytes = statSync(carPath).size
    const token = 'bench-token-0123456789abcdef'
    const gateway = await startHubGateway({ hub, token })
    // the plain baseline: a Node file server (1 MiB reads) and curl writing the body to a file
    const plain = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': carBytes })
      createReadStream(carPath, { highWaterMark: 1 << 20 }).pipe(response)
    })
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/package.car`
    const curl = (to: string) => execFileAsync('curl', ['--silent', '--show-error', '--fail', '--output', to, plainUrl])
    let pullMs: number
    let downloadMs: number
    let downloadSyncMs: number
    try {
      downloadMs = await timeMs(() => curl(join(work, 'downloaded-1.car')))
      downloadSyncMs = await timeMs(async () => {
        await curl(join(work, 'downloaded-2.car'))
        fsyncPath(join(work, 'downloaded-2.car'))
        fsyncPath(work)
      })
      const consumer = await openHub({ dir: join(work, 'consumer') })
      pullMs = await timeMs(() =>
        pullPackage({ hub: consumer, cid: packageCid, from: gateway.url, token, to: join(work, 'pulled') }),
      )
    } finally {
      await gateway.close()
      plain.close()
    }

    const throughput = (ms: number) => round(mb / (ms / 1000), 1)
    return {
      benchmark: 'hub',
      startedAt: new Date().toISOString(),
      machine: machine(),
      parameters: { packageMiB: MIB, packageBytes, carBytes, chunkSize: 1_048_576, rounds, kubo: kubo ?? 'not built' },
      metrics: [
        metric({
          name: 'publish throughput',
          value: throughput(publishMs),
          unit: 'MB/s',
          baseline: { name: 'cp -r + fsync of the copied files', value: throughput(copySyncMs) },
        }),
        metric({
          name: 'publish / (cp -r + fsync) (throughput ratio)',
          value: round(copySyncMs / publishMs, 3),
          unit: 'ratio',
          target: '>= 0.5',
        }),
        metric({
          name: 'publish / cp -r, page cache only (throughput ratio)',
          value: round(copyMs / publishMs, 3),
          unit: 'ratio',
          target: '>= 0.5',
        }),
        metric({
          name: 'local pull (blocks → folder) throughput',
          value: throughput(exportMs),
          unit: 'MB/s',
          baseline: { name: 'cp -r + fsync of the copied files', value: throughput(copySyncMs) },
        }),
        metric({
          name: 'local pull / (cp -r + fsync) (throughput ratio)',
          value: round(copySyncMs / exportMs, 3),
          unit: 'ratio',
          target: '>= 0.5',
        }),
        metric({
          name: 'local pull / cp -r, page cache only (throughput ratio)',
          value: round(copyMs / exportMs, 3),
          unit: 'ratio',
          target: '>= 0.5',
        }),
        metric({
          name: 'CID computation',
          value: throughput(cidMs),
          unit: 'MB/s',
          baseline: { name: 'sha256sum', value: throughput(sha256sumMs) },
        }),
        metric({
          name: 'CID computation vs Node sha256 of the file',
          value: throughput(cidMs),
          unit: 'MB/s',
          baseline: { name: 'node:crypto sha256 over a 1 MiB read stream', value: throughput(nodeSha256Ms) },
        }),
        metric({
          name: 'pull over loopback HTTP (checked, stored, installed, durable)',
          value: throughput(pullMs),
          unit: 'MB/s',
          baseline: { name: 'curl download of the CAR to a file', value: throughput(downloadMs) },
        }),
        metric({
          name: 'pull over loopback HTTP vs curl download + fsync',
          value: throughput(pullMs),
          unit: 'MB/s',
          baseline: { name: 'curl download of the CAR, then fsync', value: throughput(downloadSyncMs) },
        }),
        metric({
          name: 'pull over loopback HTTP / (cp -r + fsync) (throughput ratio)',
          value: round(copySyncMs / pullMs, 3),
          unit: 'ratio',
        }),
        ...(kuboAddMs === undefined
          ? []
          : [
              metric({
                name: 'publish vs kubo `ipfs add -r` of the same folder (same CID; flatfs, synced)',
                value: throughput(publishMs),
                unit: 'MB/s',
                baseline: { name: 'kubo ipfs add', value: throughput(kuboAddMs) },
              }),
            ]),
        metric({ name: 'publish time (median)', value: round(publishMs), unit: 'ms' }),
        metric({ name: 'local pull time (median)', value: round(exportMs), unit: 'ms' }),
        metric({ name: 'disk copy time (cp -r, median)', value: round(copyMs), unit: 'ms' }),
        metric({ name: 'durable disk copy time (cp -r + fsync, median)', value: round(copySyncMs), unit: 'ms' }),
        metric({ name: 'pull over HTTP time', value: round(pullMs), unit: 'ms' }),
        metric({ name: 'curl download time', value: round(downloadMs), unit: 'ms' }),
        metric({ name: 'curl download + fsync time', value: round(downloadSyncMs), unit: 'ms' }),
      ],
      peakRssBytes: rss.stop(),
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
