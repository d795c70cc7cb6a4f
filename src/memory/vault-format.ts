import { createHmac } from 'node:crypto'
import { z } from 'zod'
import { stanzaSchema } from '../access/guard.js'
import { aeadDecrypt, aeadEncrypt } from '../crypto/aead.js'
import { bytesToUtf8, constantTimeEqual, fromBase64, fromHex, toBase64, toHex, utf8ToBytes } from '../crypto/bytes.js'
import { canonicalJson } from '../crypto/canonical-json.js'
import { hkdf } from '../crypto/hkdf.js'
import { randomBytes } from '../crypto/random.js'
import { IntegrityError, InvalidStateError, UnsupportedFormatError } from '../errors.js'
import { embedderSpecSchema } from './embedders/embedder-spec.js'
import { signCommit } from './vault-writer-key.js'

/**
 * The vault's commit file (`vault.json`): a header (format, vault id, embedder, guard stanzas)
 * and a manifest (sequence, key ids, segment list), authenticated together by an HMAC keyed
 * from the data key. Byte-level description: `docs/vault-format.md`.
 */

/** `header.format` of every Verity vault. */
export const VAULT_FORMAT = 'verity-vault'
/**
 * The format version this build writes (2: commits signed by the writer key, `keyEpoch`). It also
 * reads version 1 (MAC only) and upgrades such a vault to 2 on the first writable open.
 */
export const VAULT_FORMAT_VERSION = 2
/** Format versions this build reads. */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2]
/** Name of the commit file inside a vault folder. */
export const COMMIT_FILE = 'vault.json'
/** Folder of segment files inside a vault folder. */
export const SEGMENTS_FOLDER = 'segments'

const hex32 = z.string().regex(/^[0-9a-f]{32}$/)
const digestString = z.string().regex(/^sha256:[0-9a-f]{64}$/)

/** The writer section of a version-2 header: the Ed25519 public key and who holds the seed. */
export const writerSchema = z
  .object({
    publicKey: z.string().regex(/^[0-9a-f]{64}$/),
    recipients: z.array(z.object({ kind: z.string().min(1).max(64), recipient: z.string().min(1).max(512) }).strict()).max(1024),
  })
  .strict()

/** zod schema of the header section. */
export const headerSchema = z
  .object({
    format: z.literal(VAULT_FORMAT),
    formatVersion: z.union([z.literal(1), z.literal(2)]),
    vaultId: hex32,
    createdAt: z.number().int().nonnegative(),
    /** `spec` (how to make the embedder again) is optional: vaults made before it was recorded have none. */
    embedder: z
      .object({
        id: z.string().min(1).max(256),
        dimension: z.number().int().min(1).max(65536),
        spec: embedderSpecSchema.optional(),
      })
      .strict(),
    stanzas: z.array(stanzaSchema).min(1).max(1024),
    /** Version 2 only. */
    writer: writerSchema.optional(),
  })
  .strict()

/** One segment as the manifest lists it. */
export const segmentEntrySchema = z
  .object({
    id: hex32,
    digest: digestString,
    kind: z.enum(['operations', 'index-snapshot']),
    sequence: z.number().int().nonnegative(),
    keyId: hex32,
    operations: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
  })
  .strict()

/** A superseded data key, sealed under the current one. */
export const keyringEntrySchema = z.object({ keyId: hex32, nonce: z.string().max(64), sealed: z.string().max(256) }).strict()

/** zod schema of the manifest section. */
export const manifestSchema = z
  .object({
    sequence: z.number().int().nonnegative(),
    /** Version 2 only: grows by one at every revoke and rotate. */
    keyEpoch: z.number().int().nonnegative().optional(),
    keyId: hex32,
    updatedAt: z.number().int().nonnegative(),
    keyring: z.array(keyringEntrySchema).max(100_000),
    segments: z.array(segmentEntrySchema),
    snapshot: segmentEntrySchema
      .extend({ indexId: z.string().min(1).max(256) })
      .strict()
      .nullable(),
  })
  .strict()

/** zod schema of the whole commit file; `signature` is present in version 2 (checked in {@link decodeCommit}). */
export const commitSchema = z
  .object({
    header: headerSchema,
    manifest: manifestSchema,
    mac: z.string().regex(/^[0-9a-f]{64}$/),
    signature: z
      .string()
      .regex(/^[0-9a-f]{128}$/)
      .optional(),
  })
  .strict()

export type VaultHeader = z.infer<typeof headerSchema>
export type VaultWriter = z.infer<typeof writerSchema>
export type SegmentEntry = z.infer<typeof segmentEntrySchema>
export type SnapshotEntry = NonNullable<z.infer<typeof manifestSchema>['snapshot']>
export type KeyringEntry = z.infer<typeof keyringEntrySchema>
export type VaultManifest = z.infer<typeof manifestSchema>
/** The parsed commit file. */
export type CommitDocument = z.infer<typeof commitSchema>

/** HKDF salt of every vault key: the 16 bytes of the vault id. */
function vaultSalt(vaultId: string): Uint8Array {
  return fromHex(vaultId, 'vaultId')
}

/**
 * The manifest MAC key: HKDF-SHA256(data key, salt = vault id bytes, info = `verity/vault/v1/manifest-mac`).
 *
 * @example
 * ```ts
 * const macKey = manifestMacKey(dataKey, header.vaultId)
 * ```
 */
export function manifestMacKey(dataKey: Uint8Array, vaultId: string): Uint8Array {
  return hkdf({ key: dataKey, salt: vaultSalt(vaultId), info: 'verity/vault/v1/manifest-mac' })
}

/**
 * The key of one segment: HKDF-SHA256(data key, salt = vault id bytes, info = `verity/vault/v1/segment/<segment id hex>`).
 *
 * @example
 * ```ts
 * const key = segmentKey(dataKey, vaultId, segmentId)
 * ```
 */
export function segmentKey(dataKey: Uint8Array, vaultId: string, segmentId: string): Uint8Array {
  return hkdf({ key: dataKey, salt: vaultSalt(vaultId), info: `verity/vault/v1/segment/${segmentId}` })
}

function keyringKey(dataKey: Uint8Array, vaultId: string): Uint8Array {
  return hkdf({ key: dataKey, salt: vaultSalt(vaultId), info: 'verity/vault/v1/keyring' })
}

function keyringAssociatedData(vaultId: string, keyId: string): Uint8Array {
  return utf8ToBytes(`verity/vault/v1/keyring/${vaultId}/${keyId}`)
}

/**
 * The HMAC-SHA256 of a commit document's header and manifest (hex).
 *
 * @example
 * ```ts
 * const mac = computeCommitMac({ header, manifest, dataKey })
 * ```
 */
export function computeCommitMac(parameters: { header: VaultHeader; manifest: VaultManifest; dataKey: Uint8Array }): string {
  const { header, manifest, dataKey } = parameters
  const key = manifestMacKey(dataKey, header.vaultId)
  const mac = createHmac('sha256', key).update(canonicalJson({ header, manifest })).digest('hex')
  key.fill(0)
  return mac
}

/**
 * Serialises a commit document (RFC 8785 canonical JSON, UTF-8), computing its MAC.
 *
 * @example
 * ```ts
 * writeFileAtomic({ path, data: encodeCommit({ header, manifest, dataKey }) })
 * ```
 */
export function encodeCommit(parameters: {
  header: VaultHeader
  manifest: VaultManifest
  dataKey: Uint8Array
  /** The writer seed; required for version 2 (the commit is signed). */
  writerSeed?: Uint8Array | undefined
}): string {
  const { header, manifest, writerSeed } = parameters
  const mac = computeCommitMac(parameters)
  if (header.formatVersion === 1) return canonicalJson({ header, manifest, mac })
  if (!writerSeed)
    throw new InvalidStateError('This vault was opened without the writer key', {
      details: `vault ${header.vaultId}: the guards it was opened with hold a reader stanza only`,
      hint: 'Open it with a guard that was granted write access (the creator, or grant({ write: true })), or read-only.',
      docsPath: 'access.md',
    })
  return canonicalJson({ header, manifest, mac, signature: signCommit({ header, manifest }, writerSeed) })
}

/**
 * Parses a commit file's bytes without checking its MAC (the key is not known yet).
 * Throws {@link UnsupportedFormatError} for a foreign or newer format and {@link IntegrityError}
 * for anything malformed.
 *
 * @example
 * ```ts
 * const document = decodeCommit(readFileSync(join(dir, 'vault.json')), dir)
 * ```
 */
export function decodeCommit(bytes: Uint8Array, where: string): CommitDocument {
  let raw: unknown
  try {
    raw = JSON.parse(bytesToUtf8(bytes))
  } catch (cause) {
    throw new IntegrityError('Vault commit file is not valid JSON', {
      details: `${where}: ${(cause as Error).message}`,
      hint: 'The file was corrupted or tampered with; restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
      cause,
    })
  }
  const header = (raw as { header?: { format?: unknown; formatVersion?: unknown } } | null)?.header
  if (typeof raw !== 'object' || raw === null || typeof header !== 'object' || header === null)
    throw new IntegrityError('Vault commit file has no header', { details: where, docsPath: 'vault-format.md' })
  if (header.format !== VAULT_FORMAT)
    throw new UnsupportedFormatError('Not a Verity vault', {
      details: `${where}: header.format is ${JSON.stringify(header.format)}, expected "${VAULT_FORMAT}"`,
      hint: 'Point at a folder made by `verity vault create` or `verity vault import`.',
      docsPath: 'vault-format.md',
    })
  if (typeof header.formatVersion !== 'number' || !READABLE_FORMAT_VERSIONS.includes(header.formatVersion))
    throw new UnsupportedFormatError(`Unsupported vault format version ${String(header.formatVersion)}`, {
      details: `${where}: this build reads version ${VAULT_FORMAT_VERSION}`,
      hint:
        typeof header.formatVersion === 'number' && header.formatVersion > VAULT_FORMAT_VERSION
          ? 'The vault was written by a newer Verity; upgrade Verity to open it.'
          : 'The version field is damaged; restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
      meta: { formatVersion: header.formatVersion },
    })
  const document = commitSchema.safeParse(raw)
  const version2 = document.success && document.data.header.formatVersion === 2
  const sectionsMatchVersion =
    document.success &&
    (version2
      ? document.data.header.writer !== undefined &&
        document.data.manifest.keyEpoch !== undefined &&
        document.data.signature !== undefined
      : document.data.header.writer === undefined &&
        document.data.manifest.keyEpoch === undefined &&
        document.data.signature === undefined)
  if (document.success && !sectionsMatchVersion)
    throw new IntegrityError('Vault commit file is malformed', {
      details: `${where}: format version ${document.data.header.formatVersion} ${version2 ? 'needs' : 'has no'} header.writer, manifest.keyEpoch and signature`,
      hint: 'The file was corrupted or tampered with; restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
    })
  if (!document.success)
    throw new IntegrityError('Vault commit file is malformed', {
      details: `${where}: ${document.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      hint: 'The file was corrupted or tampered with; restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
    })
  return document.data
}

/**
 * Checks a commit document's MAC in constant time; throws {@link IntegrityError} on mismatch.
 *
 * @example
 * ```ts
 * verifyCommitMac(document, dataKey, path)
 * ```
 */
export function verifyCommitMac(document: CommitDocument, dataKey: Uint8Array, where: string): void {
  const expected = fromHex(computeCommitMac({ header: document.header, manifest: document.manifest, dataKey }))
  if (!constantTimeEqual(expected, fromHex(document.mac)))
    throw new IntegrityError('Vault manifest failed authentication', {
      details: `${where}: the MAC over header and manifest does not match (sequence ${document.manifest.sequence})`,
      hint: 'The header or manifest was changed outside Verity; restore the vault from an export or backup.',
      docsPath: 'vault-format.md',
    })
}

/**
 * Seals superseded data keys under the current key.
 *
 * @example
 * ```ts
 * const keyring = sealKeyring({ keys, currentKey, vaultId })
 * ```
 */
export function sealKeyring(parameters: {
  keys: Map<string, Uint8Array>
  currentKey: Uint8Array
  vaultId: string
}): KeyringEntry[] {
  const key = keyringKey(parameters.currentKey, parameters.vaultId)
  const out: KeyringEntry[] = []
  for (const [keyId, oldKey] of parameters.keys) {
    const nonce = randomBytes(12)
    const sealed = aeadEncrypt({
      key,
      nonce,
      plaintext: oldKey,
      associatedData: keyringAssociatedData(parameters.vaultId, keyId),
    })
    out.push({ keyId, nonce: toBase64(nonce), sealed: toBase64(sealed) })
  }
  key.fill(0)
  return out
}

/**
 * Opens the keyring of a manifest: superseded key id -> key.
 *
 * @example
 * ```ts
 * const oldKeys = openKeyring({ keyring: manifest.keyring, currentKey, vaultId, where })
 * ```
 */
export function openKeyring(parameters: {
  keyring: readonly KeyringEntry[]
  currentKey: Uint8Array
  vaultId: string
  where: string
}): Map<string, Uint8Array> {
  const key = keyringKey(parameters.currentKey, parameters.vaultId)
  const out = new Map<string, Uint8Array>()
  try {
    for (const entry of parameters.keyring) {
      try {
        out.set(
          entry.keyId,
          aeadDecrypt({
            key,
            nonce: fromBase64(entry.nonce, 'keyring nonce'),
            ciphertext: fromBase64(entry.sealed, 'keyring entry'),
            associatedData: keyringAssociatedData(parameters.vaultId, entry.keyId),
            label: `keyring entry ${entry.keyId}`,
          }),
        )
      } catch (cause) {
        throw new IntegrityError('Vault keyring entry failed authentication', {
          details: `${parameters.where}: keyring entry for key ${entry.keyId}`,
          hint: 'The manifest was changed outside Verity; restore the vault from an export or backup.',
          docsPath: 'vault-format.md',
          cause,
        })
      }
    }
  } finally {
    key.fill(0)
  }
  return out
}

/** Hex of 16 random bytes. */
export function newId(): string {
  return toHex(randomBytes(16))
}
