import { z } from 'zod'
import { parseInput } from '../../validation.js'
import { tokenize } from '../tokenize.js'
import type { Embedder } from './embedder.js'

/**
 * Verity's default embedder: deterministic feature hashing, offline, no model download.
 *
 * Features of the NFKC-normalised, lower-cased text without ~40 English stop words: word unigrams (weight 1), word bigrams
 * (0.5) and character trigrams of each word with boundary marks (0.25, so `invoice` and
 * `invoices` share most features). Each feature is hashed (FNV-1a, 32 bit) to one of
 * `dimension` buckets with a sign from a second hash, weighted by sublinear term frequency
 * `1 + ln(tf)`, and the vector is L2-normalised. Cosine similarity then measures lexical
 * overlap: good for recalling memories that share words, word stems or names with the query;
 * blind to synonyms and meaning (see `docs/embedders.md`).
 */

export type CreateHashingEmbedderParameters = {
  /** Vector length; default 384 (the common size of small sentence-transformer models). */
  dimension?: number | undefined
}
export type CreateHashingEmbedderReturnType = Embedder

const schema = z
  .object({ dimension: z.number().int().min(16).max(8192).optional() })
  .strict()
  .optional()

const WORD_WEIGHT = 1
const BIGRAM_WEIGHT = 0.5
const TRIGRAM_WEIGHT = 0.25
const EMPTY_FEATURE = '\u0000empty'
/** Very common English function words: they carry no topic and would make unrelated texts look alike. */
const STOP_WORDS = new Set(
  'a an and are as at be but by for from has have he her his i in is it its of on or she that the their them they this to was were will with you your'.split(
    ' ',
  ),
)

/** FNV-1a over UTF-16 code units, with a seed mixed into the offset basis. */
function fnv1a(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/**
 * The features of a text with their weights: `weight × (1 + ln(term frequency))`.
 *
 * @example
 * ```ts
 * hashingFeatures('Paid invoices').get('w:invoices') // 1
 * ```
 */
export function hashingFeatures(text: string): Map<string, number> {
  const words = tokenize(text).filter((word) => !STOP_WORDS.has(word))
  const counts = new Map<string, number>()
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1)
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string
    add(`w:${word}`)
    if (index + 1 < words.length) add(`b:${word} ${words[index + 1]}`)
    const marked = `<${word}>`
    for (let start = 0; start + 3 <= marked.length; start++) add(`c:${marked.slice(start, start + 3)}`)
  }
  if (counts.size === 0) add(EMPTY_FEATURE)
  const features = new Map<string, number>()
  for (const [feature, count] of counts) {
    const kind = feature.slice(0, 2)
    const weight = kind === 'w:' ? WORD_WEIGHT : kind === 'b:' ? BIGRAM_WEIGHT : kind === 'c:' ? TRIGRAM_WEIGHT : 1
    features.set(feature, weight * (1 + Math.log(count)))
  }
  return features
}

function embed(text: string, dimension: number): number[] {
  const vector = new Float64Array(dimension)
  for (const [feature, weight] of hashingFeatures(text)) {
    const bucket = fnv1a(feature, 0) % dimension
    const sign = fnv1a(feature, 0x9e3779b9) & 1 ? 1 : -1
    vector[bucket] = (vector[bucket] as number) + sign * weight
  }
  let norm = 0
  for (const value of vector) norm += value * value
  norm = Math.sqrt(norm)
  const out = new Array<number>(dimension)
  for (let index = 0; index < dimension; index++) out[index] = norm === 0 ? 0 : (vector[index] as number) / norm
  // Hash collisions can cancel every feature out; fall back to a fixed unit vector.
  if (norm === 0) out[0] = 1
  return out
}

/**
 * Creates the default offline embedder (`verity/hashing-<dimension>@1`).
 *
 * @example
 * ```ts
 * const embedder = createHashingEmbedder()
 * const [a, b] = await embedder.embedDocuments(['invoice paid', 'the invoices were paid'])
 * ```
 */
export function createHashingEmbedder(parameters?: CreateHashingEmbedderParameters): CreateHashingEmbedderReturnType {
  const input = parseInput(schema, parameters, {
    what: 'createHashingEmbedder parameters',
    hint: 'Pass { dimension? } with an integer between 16 and 8192.',
    docsPath: 'embedders.md',
  })
  const dimension = input?.dimension ?? 384
  const texts = z.array(z.string())
  return {
    specificationVersion: 'v1',
    id: `verity/hashing-${dimension}@1`,
    spec: { kind: 'hashing' },
    dimension,
    async embedDocuments(documents: string[]) {
      parseInput(texts, documents, { what: 'embedDocuments input', hint: 'Pass an array of strings.' })
      return documents.map((document) => embed(document, dimension))
    },
    async embedQuery(document: string) {
      parseInput(z.string(), document, { what: 'embedQuery input', hint: 'Pass a string.' })
      return embed(document, dimension)
    },
  }
}
