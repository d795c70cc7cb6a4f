import { basename } from 'node:path'
import { z } from 'zod'
import { canonicalJson } from '../../crypto/canonical-json.js'
import { InvalidInputError } from '../../errors.js'
import { parseInput } from '../../validation.js'
import type { JsonValue } from '../record.js'

/**
 * An embedder *spec*: how to make the embedder again, recorded in the vault header beside its
 * `id` and `dimension` (`header.embedder.spec`), so the header's MAC and writer signature
 * authenticate it. Three kinds:
 *
 * - `hashing`: the built-in feature-hashing embedder (`createHashingEmbedder`);
 * - `langchain`: a LangChain embeddings class, `new module[export](options)`, loaded from the
 *   user's project (`@langchain/openai#OpenAIEmbeddings`, `{ "model": "text-embedding-3-small" }`);
 * - `transformers`: a local transformers.js model folder (`@huggingface/transformers`
 *   feature-extraction pipeline with `pooling` and `normalize`).
 *
 * Never put secrets in `options`: the header is authenticated, not encrypted. Keys that look like
 * secrets (`apiKey`, `token`, `password`, ...) are refused; LangChain classes read them from the
 * environment (`OPENAI_API_KEY`, ...).
 */

/** Option keys refused in a `langchain` spec because they usually hold secrets. */
const SECRET_KEY = /(api[-_]?key|token|secret|password|passphrase|credential|authorization|private[-_]?key)/i

function secretKeyIn(value: unknown, path: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) return `${path}${key}`
    const found = secretKeyIn(inner, `${path}${key}.`)
    if (found) return found
  }
  return undefined
}

const jsonOptionsSchema = z
  .record(z.string().max(128), z.json())
  .refine((value) => canonicalJson(value).length <= 4096, 'options must be at most 4096 bytes of JSON')
  .refine((value) => secretKeyIn(value, '') === undefined, {
    message:
      'options must not hold secrets (api keys, tokens, passwords): the vault header is not encrypted; set them in the environment',
  })

/** zod schema of an embedder spec (the single source for the header and the CLI). */
export const embedderSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('hashing') }).strict(),
  z
    .object({
      kind: z.literal('langchain'),
      /** A package name (`@langchain/openai`, `@langchain/ollama/embeddings`) or a module path (`./my-embeddings.js`). */
      module: z.string().min(1).max(512),
      /** The class exported by that module (`OpenAIEmbeddings`); `default` for a default export. */
      export: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[A-Za-z_$][\w$]*$/, 'must be a JavaScript identifier'),
      /** Constructor options, JSON only (no secrets). */
      options: jsonOptionsSchema,
    })
    .strict(),
  z
    .object({
      kind: z.literal('transformers'),
      /** The model folder's name (its identity; the folder may move). */
      model: z.string().min(1).max(256),
      /** The folder as given when the vault was made (where to look by default, relative to the working directory). */
      folder: z.string().min(1).max(1024),
      /** How token vectors become one vector. */
      pooling: z.enum(['mean', 'cls']),
      /** Whether vectors are L2-normalised. */
      normalize: z.boolean(),
    })
    .strict(),
])

/** How to make an embedder again; see {@link embedderSpecSchema}. */
export type EmbedderSpec = z.infer<typeof embedderSpecSchema>

/**
 * The part of a spec that decides the vectors, as canonical JSON: two embedders with the same
 * identity embed alike (a transformers folder may move; its name, pooling and normalisation may not).
 *
 * @example
 * ```ts
 * embedderSpecIdentity({ kind: 'hashing' }) // '{"kind":"hashing"}'
 * ```
 */
export function embedderSpecIdentity(spec: EmbedderSpec): string {
  if (spec.kind === 'transformers') {
    const { folder: _folder, ...identity } = spec
    return canonicalJson(identity)
  }
  return canonicalJson(spec)
}

/**
 * A spec as a short human-readable string (the form `--embedder` takes, plus options).
 *
 * @example
 * ```ts
 * describeEmbedderSpec({ kind: 'langchain', module: '@langchain/openai', export: 'OpenAIEmbeddings', options: {} })
 * // 'langchain:@langchain/openai#OpenAIEmbeddings {}'
 * ```
 */
export function describeEmbedderSpec(spec: EmbedderSpec | undefined): string {
  if (!spec) return '(no spec recorded)'
  if (spec.kind === 'hashing') return 'hashing'
  if (spec.kind === 'langchain') return `langchain:${spec.module}#${spec.export} ${canonicalJson(spec.options)}`
  return `transformers:${spec.model} (pooling ${spec.pooling}, ${spec.normalize ? 'normalised' : 'not normalised'})`
}

export type ParseEmbedderOptionParameters = {
  /** `hashing`, `langchain:MODULE#Export` or `transformers:FOLDER`. */
  value: string
  /** JSON object: constructor options of a LangChain class, or `{ pooling, normalize }` for transformers. */
  options?: string | undefined
}
export type ParseEmbedderOptionReturnType = EmbedderSpec

function parseJsonOptions(text: string | undefined): Record<string, JsonValue> {
  if (text === undefined) return {}
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object')
    return value as Record<string, JsonValue>
  } catch (cause) {
    throw new InvalidInputError('--embedder-options is not a JSON object', {
      details: text,
      hint: `Pass e.g. --embedder-options '{"model":"text-embedding-3-small"}'.`,
      docsPath: 'embedders.md',
      cause,
    })
  }
}

/**
 * Parses the CLI's `--embedder VALUE` (and `--embedder-options JSON`) into a spec.
 *
 * @example
 * ```ts
 * parseEmbedderOption({ value: 'langchain:@langchain/ollama#OllamaEmbeddings', options: '{"model":"nomic-embed-text"}' })
 * parseEmbedderOption({ value: 'transformers:./models/all-MiniLM-L6-v2' })
 * ```
 */
export function parseEmbedderOption(parameters: ParseEmbedderOptionParameters): ParseEmbedderOptionReturnType {
  const { value } = parameters
  const options = parseJsonOptions(parameters.options)
  const hint = 'Use --embedder hashing, --embedder langchain:PACKAGE#ExportName or --embedder transformers:FOLDER.'
  let candidate: unknown
  if (value === 'hashing') candidate = { kind: 'hashing' }
  else if (value.startsWith('langchain:')) {
    const rest = value.slice('langchain:'.length)
    const at = rest.lastIndexOf('#')
    if (at <= 0)
      throw new InvalidInputError('--embedder langchain: needs MODULE#ExportName', {
        details: value,
        hint: 'e.g. --embedder langchain:@langchain/openai#OpenAIEmbeddings',
        docsPath: 'embedders.md',
      })
    candidate = { kind: 'langchain', module: rest.slice(0, at), export: rest.slice(at + 1), options }
  } else if (value.startsWith('transformers:')) {
    const folder = value.slice('transformers:'.length)
    const model = basename(folder.replace(/[/\\]+$/, ''))
    candidate = { kind: 'transformers', model, folder, pooling: 'mean', normalize: true, ...options }
  } else throw new InvalidInputError(`Unknown embedder '${value}'`, { details: value, hint, docsPath: 'embedders.md' })
  return parseInput(embedderSpecSchema, candidate, { what: `--embedder ${value}`, hint, docsPath: 'embedders.md' })
}
