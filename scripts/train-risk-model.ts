/**
 * Trains the bundled transaction-risk scorer on synthetic data this script generates, writes it as
 * ONNX (hand-rolled protobuf: Gemm → Relu → Gemm → Clip(±6) → Sigmoid), reports its accuracy, builds
 * its model package with the pinned EZKL toolchain into models/transaction-risk/, and measures how far
 * the proven output is from onnxruntime and from the unclipped float model over held-out data.
 *
 *   node --import tsx scripts/train-risk-model.ts [--out models/transaction-risk] [--seed 7]
 *     [--clip 6] [--scale 7] [--max-logrows 10] [--agreement-samples 1000] [--onnx-only]
 *
 * Why the Clip: EZKL proves the Sigmoid with a lookup table over every fixed-point logit the circuit
 * may see. Clipping the logit to ±6 (sigmoid(6) = 0.9975) bounds that table to 2·6·128 + 1 = 1537
 * rows, so the circuit fits 2^10 rows (two table columns) instead of 2^13, and every input proves
 * (an unclipped table only covers the logits seen in calibration).
 *
 * Features (per transaction): amount_k (amount in thousands of USD), hour (0-23, local time),
 * merchant_risk (0-1, category risk), velocity_1h (transactions in the last hour), foreign (0/1),
 * new_device (0/1). Output: risk, the probability that the transaction is fraudulent.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { buildModelPackage } from '../src/proofs/build-model-package.js'
import { createOnnxRunner } from '../src/proofs/onnx-runtime.js'
import { runWitness } from '../src/proofs/witness.js'

const FEATURES = ['amount_k', 'hour', 'merchant_risk', 'velocity_1h', 'foreign', 'new_device'] as const
const HIDDEN = 8
const argument = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`)
  return index > 0 ? (process.argv[index + 1] ?? fallback) : fallback
}
const OUT = resolve(argument('out', 'models/transaction-risk'))
let seed = Number(argument('seed', '7'))
/** The logit is clipped to ±LOGIT_CLIP before the sigmoid: bounds the circuit's lookup table (see README). */
const LOGIT_CLIP = Number(argument('clip', '6'))
/** Fixed-point scale of inputs, weights and output (bits after the point): 7 → steps of 1/128. */
const SCALE = Number(argument('scale', '7'))
const MAX_LOGROWS = Number(argument('max-logrows', '10'))

// mulberry32: a small deterministic generator so the model is reproducible
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())

/** The hidden ground truth the data follows (a logistic model with interactions, plus noise). */
function sample(): { x: number[]; y: number } {
  const fraudish = random() < 0.15
  const amount = fraudish ? Math.min(10, Math.exp(gaussian() * 0.9 + 0.2)) : Math.min(10, Math.exp(gaussian() * 0.8 - 1.6))
  const hour = fraudish && random() < 0.6 ? Math.floor(random() * 6) : Math.floor(random() * 24)
  const merchantRisk = Math.min(1, Math.max(0, (fraudish ? 0.55 : 0.25) + gaussian() * 0.2))
  const velocity = Math.max(0, Math.round((fraudish ? 4 : 1) + gaussian() * 1.5))
  const foreign = random() < (fraudish ? 0.45 : 0.08) ? 1 : 0
  const newDevice = random() < (fraudish ? 0.5 : 0.05) ? 1 : 0
  const night = hour < 6 ? 1 : 0
  const logit =
    -4 +
    0.9 * amount +
    1.2 * night +
    2.5 * merchantRisk +
    0.45 * velocity +
    1.3 * foreign +
    1.6 * newDevice +
    0.8 * foreign * newDevice
  const y = random() < 1 / (1 + Math.exp(-(logit + gaussian() * 0.5))) ? 1 : 0
  return { x: [amount, hour, merchantRisk, velocity, foreign, newDevice], y }
}

const train = Array.from({ length: 20000 }, sample)
const test = Array.from({ length: 5000 }, sample)
const mean = FEATURES.map((_, j) => train.reduce((s, r) => s + (r.x[j] as number), 0) / train.length)
const std = FEATURES.map(
  (_, j) => Math.sqrt(train.reduce((s, r) => s + ((r.x[j] as number) - (mean[j] as number)) ** 2, 0) / train.length) || 1,
)
const norm = (x: number[]) => x.map((v, j) => (v - (mean[j] as number)) / (std[j] as number))

// 6 → 8 (ReLU) → 1 (sigmoid), plain mini-batch gradient descent with momentum on log loss
const W1 = Array.from({ length: HIDDEN }, () => FEATURES.map(() => gaussian() * 0.5))
const b1 = new Array(HIDDEN).fill(0)
const W2 = Array.from({ length: HIDDEN }, () => gaussian() * 0.5)
let b2 = 0
const forward = (x: number[]) => {
  const h = W1.map((row, i) =>
    Math.max(
      0,
      row.reduce((s, w, j) => s + w * (x[j] as number), b1[i] as number),
    ),
  )
  const z = h.reduce((s, v, i) => s + v * (W2[i] as number), b2)
  return { h, p: 1 / (1 + Math.exp(-z)) }
}
const rate = 0.05
for (let epoch = 0; epoch < 30; epoch++) {
  for (let start = 0; start < train.length; start += 64) {
    const gW1 = W1.map((row) => row.map(() => 0))
    const gb1 = new Array(HIDDEN).fill(0)
    const gW2 = new Array(HIDDEN).fill(0)
    let gb2 = 0
    const batch = train.slice(start, start + 64)
    for (const row of batch) {
      const x = norm(row.x)
      const { h, p } = forward(x)
      const dz = p - row.y
      gb2 += dz
      for (let i = 0; i < HIDDEN; i++) {
        gW2[i] += dz * (h[i] as number)
        if ((h[i] as number) <= 0) continue
        const dh = dz * (W2[i] as number)
        gb1[i] += dh
        for (let j = 0; j < FEATURES.length; j++)
          (gW1[i] as number[])[j] = ((gW1[i] as number[])[j] as number) + dh * (x[j] as number)
      }
    }
    for (let i = 0; i < HIDDEN; i++) {
      W2[i] = (W2[i] as number) - (rate * gW2[i]) / batch.length
      b1[i] = (b1[i] as number) - (rate * gb1[i]) / batch.length
      for (let j = 0; j < FEATURES.length; j++)
        (W1[i] as number[])[j] = ((W1[i] as number[])[j] as number) - (rate * ((gW1[i] as number[])[j] as number)) / batch.length
    }
    b2 -= (rate * gb2) / batch.length
  }
}

// fold the normalisation into the first layer so the model takes raw features
const W1raw = W1.map((row) => row.map((w, j) => w / (std[j] as number)))
const b1raw = W1.map(
  (row, i) => (b1[i] as number) - row.reduce((s, w, j) => s + (w * (mean[j] as number)) / (std[j] as number), 0),
)
/** The float model as trained (no clip): the meaning the circuit approximates. */
const predict = (x: number[]) => forward(norm(x)).p
let correct = 0
let positives = 0
let caught = 0
const scored = test.map((row) => ({ p: predict(row.x), y: row.y }))
for (const { p, y } of scored) {
  if ((p >= 0.5 ? 1 : 0) === y) correct++
  if (y === 1) {
    positives++
    if (p >= 0.5) caught++
  }
}
// AUC by ranking
const sorted = [...scored].sort((a, b) => a.p - b.p)
let rankSum = 0
sorted.forEach((item, index) => {
  if (item.y === 1) rankSum += index + 1
})
const negatives = scored.length - positives
const auc = (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
const metrics = {
  accuracy: correct / scored.length,
  recallAt05: caught / positives,
  auc,
  fraudRate: positives / scored.length,
  testSize: scored.length,
}
process.stderr.write(`trained: ${JSON.stringify(metrics)}\n`)

// ---- minimal protobuf writer for the ONNX subset we need ----
type Field = Uint8Array
const varint = (value: number | bigint): number[] => {
  let v = BigInt(value)
  const out: number[] = []
  while (v > 127n) {
    out.push(Number((v & 127n) | 128n))
    v >>= 7n
  }
  out.push(Number(v))
  return out
}
const concat = (parts: Field[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
const fInt = (field: number, value: number) => Uint8Array.from([...varint(field << 3), ...varint(value)])
const fBytes = (field: number, bytes: Uint8Array) =>
  concat([Uint8Array.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes])
const fStr = (field: number, text: string) => fBytes(field, new TextEncoder().encode(text))
const tensor = (name: string, dims: number[], values: number[]) =>
  concat([...dims.map((d) => fInt(1, d)), fInt(2, 1), fStr(8, name), fBytes(9, new Uint8Array(Float32Array.from(values).buffer))])
const attributeInt = (name: string, value: number) => concat([fStr(1, name), fInt(3, value), fInt(20, 2)])
const node = (op: string, inputs: string[], outputs: string[], name: string, attributes: Field[] = []) =>
  concat([
    ...inputs.map((i) => fStr(1, i)),
    ...outputs.map((o) => fStr(2, o)),
    fStr(3, name),
    fStr(4, op),
    ...attributes.map((a) => fBytes(5, a)),
  ])
const valueInfo = (name: string, dims: number[]) =>
  concat([fStr(1, name), fBytes(2, fBytes(1, concat([fInt(1, 1), fBytes(2, concat(dims.map((d) => fBytes(1, fInt(1, d)))))])))])
const graph = concat([
  fBytes(1, node('Gemm', ['features', 'W1', 'b1'], ['h1'], 'dense1', [attributeInt('transB', 1)])),
  fBytes(1, node('Relu', ['h1'], ['h1r'], 'relu1')),
  fBytes(1, node('Gemm', ['h1r', 'W2', 'b2'], ['logit'], 'dense2', [attributeInt('transB', 1)])),
  fBytes(1, node('Clip', ['logit', 'logit_min', 'logit_max'], ['logit_clipped'], 'clip')),
  fBytes(1, node('Sigmoid', ['logit_clipped'], ['risk'], 'sigmoid')),
  fStr(2, 'transaction_risk'),
  fBytes(5, tensor('W1', [HIDDEN, FEATURES.length], W1raw.flat())),
  fBytes(5, tensor('b1', [HIDDEN], b1raw)),
  fBytes(5, tensor('W2', [1, HIDDEN], W2)),
  fBytes(5, tensor('b2', [1], [b2])),
  fBytes(5, tensor('logit_min', [], [-LOGIT_CLIP])),
  fBytes(5, tensor('logit_max', [], [LOGIT_CLIP])),
  fBytes(11, valueInfo('features', [1, FEATURES.length])),
  fBytes(12, valueInfo('risk', [1, 1])),
])
const modelProto = concat([
  fInt(1, 8),
  fStr(2, 'verity-train-risk-model'),
  fBytes(7, graph),
  fBytes(8, concat([fStr(1, ''), fInt(2, 13)])),
])

const scratch = join(OUT, '..', '.transaction-risk-build')
mkdirSync(scratch, { recursive: true })
const onnxPath = join(scratch, 'network.onnx')
writeFileSync(onnxPath, modelProto)
if (process.argv.includes('--onnx-only')) {
  process.stdout.write(`${JSON.stringify({ onnx: onnxPath, metrics })}\n`)
  process.exit(0)
}
// Calibration: realistic low- and high-risk transactions, plus two inputs that drive the logit past
// both clip bounds, so the Sigmoid lookup table covers exactly [-LOGIT_CLIP, LOGIT_CLIP] at the input
// scale (lookupSafetyMargin 1: the Clip guarantees no lookup input falls outside that range).
const calibrationSamples = [
  [9.5, 2, 1, 12, 1, 1],
  [0.05, 14, 0.1, 0, 0, 0],
  [0.95, 3, 0.8, 6, 1, 1],
  [10, 0, 1, 20, 1, 1],
  [0, 12, -10, 0, 0, 0],
]
const { package: built } = await buildModelPackage({
  model: onnxPath,
  sample: { input_data: [calibrationSamples.flat()] },
  out: OUT,
  srs: 'dev',
  name: 'transaction-risk',
  version: '1.0.0',
  description: 'Scores a card transaction: probability that it is fraudulent (synthetic training data; see README)',
  inputLabels: [[...FEATURES]],
  outputLabels: [['risk']],
  scales: [SCALE],
  lookupSafetyMargin: 1,
  // 2^10 rows: the 1537-entry Sigmoid table is split over two lookup columns (measured faster to prove
  // than 2^11 rows with one column; 2^9 with four columns was no faster)
  maxLogrows: MAX_LOGROWS,
  maxShippedProvingKeyBytes: 0,
})

// Agreement of the proven output with onnxruntime (same graph) and with the float model before
// clipping, over held-out transactions.
const agreementSize = Math.min(test.length, Number(argument('agreement-samples', '1000')))
const runner = await createOnnxRunner({ model: built.onnx, inputs: built.manifest.inputs })
let maxVsOnnx = 0
let sumVsOnnx = 0
const differences: number[] = []
let maxVsFloat = 0
let sumVsFloat = 0
for (const row of test.slice(0, agreementSize)) {
  const { output, crossCheck } = await runWitness({ package: built, input: [row.x], crossCheck: runner })
  const proven = output[0]?.[0] as number
  const vsOnnx = crossCheck?.maxAbsoluteDifference ?? Number.NaN
  const vsFloat = Math.abs(proven - predict(row.x))
  differences.push(vsOnnx)
  maxVsOnnx = Math.max(maxVsOnnx, vsOnnx)
  sumVsOnnx += vsOnnx
  maxVsFloat = Math.max(maxVsFloat, vsFloat)
  sumVsFloat += vsFloat
}
await runner.release()
const circuitAgreement = {
  samples: agreementSize,
  maxAbsoluteDifferenceVsOnnxruntime: maxVsOnnx,
  meanAbsoluteDifferenceVsOnnxruntime: sumVsOnnx / agreementSize,
  p95AbsoluteDifferenceVsOnnxruntime: differences.sort((a, b) => a - b)[Math.floor(0.95 * (differences.length - 1))],
  shareWithin001VsOnnxruntime: differences.filter((value) => value <= 0.01).length / agreementSize,
  maxAbsoluteDifferenceVsUnclippedFloat: maxVsFloat,
  meanAbsoluteDifferenceVsUnclippedFloat: sumVsFloat / agreementSize,
}
process.stderr.write(`circuit agreement: ${JSON.stringify(circuitAgreement)}\n`)
writeFileSync(
  join(OUT, 'training.json'),
  `${JSON.stringify(
    {
      seed: Number(argument('seed', '7')),
      features: FEATURES,
      hidden: HIDDEN,
      logitClip: LOGIT_CLIP,
      scale: SCALE,
      logrows: built.manifest.ezkl.logrows,
      calibrationSamples,
      metrics,
      circuitAgreement,
    },
    null,
    2,
  )}\n`,
)
rmSync(scratch, { recursive: true, force: true })
process.stdout.write(`${JSON.stringify({ dir: built.dir, digest: built.digest, metrics, circuitAgreement })}\n`)
