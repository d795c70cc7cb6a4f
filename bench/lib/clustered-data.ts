/**
 * Deterministic synthetic vectors for benchmarks and tests: a seeded PRNG (mulberry32) and
 * Gaussian clusters, so every run (and the baseline beside it) sees the same data.
 */

/** A seeded uniform PRNG in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type ClusteredSamplerParameters = { seed: number; centres: number; dimension: number; sigma: number }
export type ClusteredSamplerReturnType = { next: () => number; sample: () => Float32Array }

/** Samples vectors around `centres` random Gaussian centres with spread `sigma` (Box-Muller). */
export function clusteredSampler(parameters: ClusteredSamplerParameters): ClusteredSamplerReturnType {
  const next = seededRandom(parameters.seed)
  const gauss = () => Math.sqrt(-2 * Math.log(next() || 1e-9)) * Math.cos(2 * Math.PI * next())
  const centres = Array.from({ length: parameters.centres }, () => Float32Array.from({ length: parameters.dimension }, gauss))
  const sample = () =>
    (centres[Math.floor(next() * parameters.centres)] as Float32Array).map((value) => value + parameters.sigma * gauss())
  return { next, sample }
}
