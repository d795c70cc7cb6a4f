import { z } from 'zod'
import type { Guard } from '../access/guard.js'
import type { JsonValue } from './record.js'
import type { EmbedderDescription, EmbedderResolver } from './vault-embedder.js'
import type { VectorIndexFactory } from './vector-index.js'

/** zod schemas of every vault entry's input (the single source for validation). */

/** A progress event of a long vault operation (decrypting segments, indexing). */
export type VaultProgress = (event: { phase: string; done: number; total: number }) => void

// ---------------------------------------------------------------------------------------
// Input schemas
// ---------------------------------------------------------------------------------------

export const guardSchema = z.custom<Guard>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    (value as Guard).specificationVersion === 'v1' &&
    typeof (value as Guard).kind === 'string' &&
    typeof (value as Guard).wrap === 'function' &&
    typeof (value as Guard).unwrap === 'function',
  { message: "expected a Guard (specificationVersion 'v1', kind, wrap, unwrap), e.g. passphraseGuard({ passphrase })" },
)
export const embedderSchema = z.custom<EmbedderDescription>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as EmbedderDescription).id === 'string' &&
    (value as EmbedderDescription).id.length > 0 &&
    Number.isInteger((value as EmbedderDescription).dimension) &&
    (value as EmbedderDescription).dimension >= 1 &&
    (value as EmbedderDescription).dimension <= 65536,
  { message: 'expected an embedder with a string id and an integer dimension in [1, 65536]' },
)
export const indexFactorySchema = z.custom<VectorIndexFactory>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as VectorIndexFactory).id === 'string' &&
    typeof (value as VectorIndexFactory).open === 'function',
  { message: 'expected a VectorIndexFactory ({ id, open })' },
)
export const progressSchema = z.custom<VaultProgress>((value) => typeof value === 'function', { message: 'expected a function' })

export const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'ids may use letters, digits and . _ : @ -')
export const namespaceSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@/-]+$/, 'namespaces may use letters, digits and . _ : @ / -')
/** True for JSON data (what `z.json()` accepts), checked without per-node parser overhead (hot in batch adds). */
function isJsonValue(value: unknown, depth: number): boolean {
  if (value === null) return true
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object': {
      if (depth > 64) return false
      if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1))
      const prototype = Object.getPrototypeOf(value)
      if (prototype !== Object.prototype && prototype !== null) return false
      for (const key of Object.keys(value)) if (!isJsonValue((value as Record<string, unknown>)[key], depth + 1)) return false
      return true
    }
    default:
      return false
  }
}
export const metadataSchema = z.custom<Record<string, JsonValue>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).every((key) => key.length <= 256) &&
    isJsonValue(value, 0),
  {
    message:
      'expected a JSON object (keys up to 256 characters; values: strings, finite numbers, booleans, null, arrays, objects)',
  },
)
export const vectorSchema = z.union([z.instanceof(Float32Array), z.array(z.number())])
export const provenanceSchema = z
  .object({
    traceEntry: z.string().max(256).optional(),
    receipt: z.string().max(256).optional(),
    source: z.string().max(2048).optional(),
  })
  .strict()

export const createSchema = z
  .object({
    path: z.string().min(1),
    guards: z.array(guardSchema).min(1, 'at least one guard must be able to open the vault'),
    embedder: embedderSchema,
    index: indexFactorySchema.optional(),
    snapshotThreshold: z.number().int().min(0).optional(),
    stateFolder: z.string().min(1).optional(),
  })
  .strict()
export const openSchema = z
  .object({
    path: z.string().min(1),
    guards: z.array(guardSchema).min(1, 'pass the guard(s) that can open the vault'),
    embedder: embedderSchema.optional(),
    embedderResolver: z
      .custom<EmbedderResolver>((value) => typeof value === 'function', { message: 'expected a function' })
      .optional(),
    index: indexFactorySchema.optional(),
    readOnly: z.boolean().optional(),
    onProgress: progressSchema.optional(),
    snapshotThreshold: z.number().int().min(0).optional(),
    stateFolder: z.string().min(1).optional(),
  })
  .strict()
export const addItemSchema = z
  .object({
    id: idSchema.optional(),
    text: z.string().max(1 << 20),
    embedding: vectorSchema.optional(),
    metadata: metadataSchema.optional(),
    namespace: namespaceSchema.optional(),
    provenance: provenanceSchema.optional(),
  })
  .strict()
export const addSchema = z.union([addItemSchema, z.array(addItemSchema).min(1).max(1_000_000)])
export const updateSchema = z
  .object({
    id: idSchema,
    text: z
      .string()
      .max(1 << 20)
      .optional(),
    embedding: vectorSchema.optional(),
    metadata: metadataSchema.optional(),
    namespace: namespaceSchema.optional(),
    provenance: provenanceSchema.optional(),
  })
  .strict()
export const deleteSchema = z.union([idSchema, z.array(idSchema).min(1)])
export const listSchema = z
  .object({
    namespace: namespaceSchema.optional(),
    metadata: metadataSchema.optional(),
    limit: z.number().int().min(1).max(100_000).optional(),
    cursor: z.string().regex(/^\d+$/).optional(),
  })
  .strict()
export const searchSchema = z
  .object({
    query: z
      .string()
      .max(1 << 16)
      .optional(),
    vector: vectorSchema.optional(),
    k: z.number().int().min(1).max(10_000).optional(),
    mode: z.enum(['vector', 'text', 'hybrid']).optional(),
    namespace: namespaceSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .refine((value) => value.query !== undefined || value.vector !== undefined, 'pass `query` (text) or `vector`')
export const revokeSchema = z.object({ guards: z.array(guardSchema).min(1, 'pass the guards that keep access') }).strict()
export const rotateSchema = z.object({ guards: z.array(guardSchema).min(1).optional() }).strict()
export const grantOptionsSchema = z.object({ write: z.boolean().optional() }).strict()
