/**
 * Throughput of the vault's chunked AEAD (STREAM over AES-256-GCM) against the bare
 * node:crypto AES-256-GCM and ChaCha20-Poly1305 ciphers sealing the same 16 MiB in 64 KiB messages, in the same run.
 */
import { createCipheriv, randomBytes } from 'node:crypto'
import { streamEncrypt } from '../src/crypto/stream.js'
import { type BenchmarkReport, machine, metric, round, rssSampler, timeMs } from './lib/measure.js'

const SIZE = 16 * 1024 * 1024
const ROUNDS = 5
const CHUNK = 64 * 1024

async function throughput(run: () => void): Promise<number> {
  let best = Number.POSITIVE_INFINITY
  for (let round = 0; round < ROUNDS; round++) best = Math.min(best, await timeMs(run))
  return SIZE / 1024 / 1024 / (best / 1000)
}

/** Seals `data` in 64 KiB messages, as the vault does, with one cipher object per message. */
function bare(algorithm: 'aes-256-gcm' | 'chacha20-poly1305', key: Buffer, data: Buffer): void {
  for (let offset = 0; offset < data.length; offset += CHUNK) {
    const iv = randomBytes(12)
    const cipher =
      algorithm === 'aes-256-gcm'
        ? createCipheriv(algorithm, key, iv, { authTagLength: 16 })
        : createCipheriv(algorithm, key, iv, { authTagLength: 16 })
    cipher.update(data.subarray(offset, offset + CHUNK))
    cipher.final()
    cipher.getAuthTag()
  }
}

export default async function run(): Promise<BenchmarkReport> {
  const rss = rssSampler()
  const key = randomBytes(32)
  const data = randomBytes(SIZE)
  const aes = await throughput(() => bare('aes-256-gcm', key, data))
  const chacha = await throughput(() => bare('chacha20-poly1305', key, data))
  const stream = await throughput(() => streamEncrypt({ key, plaintext: data }))
  return {
    benchmark: 'crypto',
    startedAt: new Date().toISOString(),
    machine: machine(),
    parameters: { bytes: SIZE, rounds: ROUNDS, chunkSize: 65536 },
    metrics: [
      metric({ name: 'aes-256-gcm encrypt', value: round(aes), unit: 'MiB/s' }),
      metric({
        name: 'chacha20-poly1305 encrypt',
        value: round(chacha),
        unit: 'MiB/s',
        baseline: { name: 'aes-256-gcm', value: round(aes) },
      }),
      metric({
        name: 'stream encrypt (aes-256-gcm, 64 KiB chunks)',
        value: round(stream),
        unit: 'MiB/s',
        baseline: { name: 'aes-256-gcm', value: round(aes) },
      }),
    ],
    peakRssBytes: rss.stop(),
  }
}
