import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import { bytesToUtf8, constantTimeEqual, utf8ToBytes } from '../crypto/bytes.js'
import { digest, sha256 } from '../crypto/digest.js'
import { randomId } from '../crypto/random.js'
import {
  IntegrityError,
  InvalidInputError,
  NotFoundError,
  StorageError,
  TruncatedDataError,
  UnsupportedFormatError,
} from '../errors.js'
import { fsyncDirectory, writeFileAtomic } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { makeFolder, readCommit, readSegmentBytes, segmentPath } from './vault-files.js'
import { COMMIT_FILE, type CommitDocument, decodeCommit, SEGMENTS_FOLDER } from './vault-format.js'

/**
 * A vault's archive: one `.vault` file holding the commit file and every segment it
 * references. Everything inside is already encrypted and authenticated, so the archive
 * itself adds only framing and a SHA-256 trailer that catches a damaged copy early.
 * Layout in `docs/vault-format.md`.
 */

/** ASCII `VERITYVX`. */
export const ARCHIVE_MAGIC = new Uint8Array([0x56, 0x45, 0x52, 0x49, 0x54, 0x59, 0x56, 0x58])
export const ARCHIVE_VERSION = 1

const exportSchema = z.object({ path: z.string().min(1), out: z.string().min(1) }).strict()
const importSchema = z.object({ file: z.string().min(1), to: z.string().min(1) }).strict()

export type ExportVaultParameters = {
  /** Vault folder. */
  path: string
  /** Archive file to write (replaced atomically). */
  out: string
}
export type ExportVaultReturnType = { out: string; bytes: number; files: number; vaultId: string; sequence: number }

function referencedFiles(document: CommitDocument): { digest: string; id: string; bytes: number }[] {
  const out = document.manifest.segments.map((entry) => ({ digest: entry.digest, id: entry.id, bytes: entry.bytes }))
  if (document.manifest.snapshot) {
    const { digest, id, bytes } = document.manifest.snapshot
    out.push({ digest, id, bytes })
  }
  return out
}

/**
 * Writes the committed state of a vault to one `.vault` file. Needs no key (the content stays
 * encrypted); checks every segment against its manifest digest on the way.
 *
 * @example
 * ```ts
 * await exportVault({ path: './memory', out: './memory.vault' })
 * ```
 */
export async function exportVault(parameters: ExportVaultParameters): Promise<ExportVaultReturnType> {
  const parsed = parseInput(exportSchema, parameters, { what: 'exportVault parameters', hint: 'Pass { path, out }.' })
  const folder = resolve(parsed.path)
  for (let attempt = 0; ; attempt++) {
    const commitBytes = readCommitBytes(folder)
    const document = decodeCommit(commitBytes, join(folder, COMMIT_FILE))
    try {
      const entries: [string, Uint8Array][] = [[COMMIT_FILE, commitBytes]]
      for (const file of referencedFiles(document)) {
        const bytes = readSegmentBytes(folder, file)
        if (digest(bytes) !== file.digest)
          throw new IntegrityError('Segment file does not match its manifest digest', {
            details: `${segmentPath(folder, file.digest)} (segment ${file.id})`,
            hint: 'The vault is damaged; restore it from a backup before exporting.',
            docsPath: 'vault-format.md',
          })
        entries.push([`${SEGMENTS_FOLDER}/${file.digest.slice(7)}`, bytes])
      }
      const archive = encodeArchive(entries)
      const out = resolve(parsed.out)
      writeFileAtomic({ path: out, data: archive })
      return {
        out,
        bytes: archive.length,
        files: entries.length,
        vaultId: document.header.vaultId,
        sequence: document.manifest.sequence,
      }
    } catch (error) {
      // A writer may have compacted between reading the commit and the segments: read again.
      if (attempt < 3 && error instanceof IntegrityError && error.meta?.missing !== undefined) continue
      throw error
    }
  }
}

function readCommitBytes(folder: string): Uint8Array {
  readCommit(folder) // named NotFoundError when absent
  return readFileSync(join(folder, COMMIT_FILE))
}

function encodeArchive(entries: [string, Uint8Array][]): Uint8Array {
  const names = entries.map(([name]) => utf8ToBytes(name))
  let size = 16 + 32
  entries.forEach(([, bytes], index) => {
    size += 12 + (names[index] as Uint8Array).length + bytes.length
  })
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  out.set(ARCHIVE_MAGIC, 0)
  view.setUint16(8, ARCHIVE_VERSION, false)
  view.setUint16(10, 0, false)
  view.setUint32(12, entries.length, false)
  let offset = 16
  entries.forEach(([, bytes], index) => {
    const name = names[index] as Uint8Array
    view.setUint32(offset, name.length, false)
    out.set(name, offset + 4)
    offset += 4 + name.length
    view.setBigUint64(offset, BigInt(bytes.length), false)
    out.set(bytes, offset + 8)
    offset += 8 + bytes.length
  })
  out.set(sha256(out.subarray(0, offset)), offset)
  return out
}

/**
 * Parses a `.vault` archive into its files, checking framing and the trailer digest.
 *
 * @example
 * ```ts
 * const files = decodeArchive(readFileSync('memory.vault'), 'memory.vault')
 * ```
 */
export function decodeArchive(bytes: Uint8Array, where: string): Map<string, Uint8Array> {
  if (bytes.length < 16 + 32)
    throw new TruncatedDataError('Vault archive is truncated', {
      details: `${where}: ${bytes.length} bytes`,
      docsPath: 'vault-format.md',
    })
  for (let index = 0; index < ARCHIVE_MAGIC.length; index++)
    if (bytes[index] !== ARCHIVE_MAGIC[index])
      throw new UnsupportedFormatError('Not a Verity vault archive', {
        details: `${where}: wrong magic number`,
        hint: 'Pass a file written by `verity vault export`.',
        docsPath: 'vault-format.md',
      })
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint16(8, false)
  if (version !== ARCHIVE_VERSION)
    throw new UnsupportedFormatError(`Unsupported vault archive version ${version}`, {
      details: where,
      hint: version > ARCHIVE_VERSION ? 'The archive was written by a newer Verity; upgrade Verity.' : 'The archive is damaged.',
      docsPath: 'vault-format.md',
    })
  const body = bytes.subarray(0, bytes.length - 32)
  if (!constantTimeEqual(sha256(body), bytes.subarray(bytes.length - 32)))
    throw new IntegrityError('Vault archive failed its checksum', {
      details: `${where}: the SHA-256 trailer does not match (the file was cut short or modified)`,
      hint: 'Copy the archive again from its source.',
      docsPath: 'vault-format.md',
    })
  const count = view.getUint32(12, false)
  const files = new Map<string, Uint8Array>()
  let offset = 16
  const fail = (details: string) =>
    new IntegrityError('Vault archive is malformed', { details: `${where}: ${details}`, docsPath: 'vault-format.md' })
  for (let index = 0; index < count; index++) {
    if (offset + 4 > body.length) throw fail(`entry ${index} header past the end`)
    const nameLength = view.getUint32(offset, false)
    if (offset + 4 + nameLength + 8 > body.length) throw fail(`entry ${index} name past the end`)
    const name = bytesToUtf8(body.subarray(offset + 4, offset + 4 + nameLength))
    offset += 4 + nameLength
    const size = Number(view.getBigUint64(offset, false))
    if (offset + 8 + size > body.length) throw fail(`entry ${name} content past the end`)
    if (name !== COMMIT_FILE && !/^segments\/[0-9a-f]{64}$/.test(name))
      throw fail(`unexpected entry name ${JSON.stringify(name)}`)
    if (files.has(name)) throw fail(`duplicate entry ${name}`)
    files.set(name, body.subarray(offset + 8, offset + 8 + size))
    offset += 8 + size
  }
  if (offset !== body.length) throw fail(`${body.length - offset} trailing bytes`)
  return files
}

export type ImportVaultParameters = {
  /** The `.vault` archive. */
  file: string
  /** Folder to create (must not exist or be empty). */
  to: string
}
export type ImportVaultReturnType = { path: string; vaultId: string; sequence: number; files: number }

/**
 * Unpacks a `.vault` archive into a new vault folder, checking that every segment the manifest
 * lists is present and matches its digest. The folder appears complete or not at all (it is
 * assembled beside the target and renamed into place). Open it with `openVault` and a guard.
 *
 * @example
 * ```ts
 * await importVault({ file: './memory.vault', to: './restored' })
 * const vault = await openVault({ path: './restored', guards: [passphraseGuard({ passphrase })] })
 * ```
 */
export async function importVault(parameters: ImportVaultParameters): Promise<ImportVaultReturnType> {
  const parsed = parseInput(importSchema, parameters, { what: 'importVault parameters', hint: 'Pass { file, to }.' })
  const file = resolve(parsed.file)
  const target = resolve(parsed.to)
  let bytes: Uint8Array
  try {
    bytes = readFileSync(file)
  } catch (cause) {
    throw new NotFoundError('Cannot read the vault archive', { details: `${file}: ${(cause as Error).message}`, cause })
  }
  const files = decodeArchive(bytes, file)
  const commit = files.get(COMMIT_FILE)
  if (!commit) throw new IntegrityError('Vault archive has no commit file', { details: file, docsPath: 'vault-format.md' })
  const document = decodeCommit(commit, `${file}:${COMMIT_FILE}`)
  for (const entry of referencedFiles(document)) {
    const content = files.get(`${SEGMENTS_FOLDER}/${entry.digest.slice(7)}`)
    if (!content)
      throw new IntegrityError('Vault archive lacks a segment its manifest lists', {
        details: `${file}: segment ${entry.id} (${entry.digest})`,
        docsPath: 'vault-format.md',
      })
    if (digest(content) !== entry.digest)
      throw new IntegrityError('Segment in the archive does not match its digest', { details: `${file}: segment ${entry.id}` })
  }
  if (existsSync(target) && !statSync(target).isDirectory())
    throw new InvalidInputError('The import target is a file, not a folder', {
      details: target,
      hint: 'Pass --to a new folder (it is created); nothing was overwritten.',
    })
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new InvalidInputError('The import folder is not empty', { details: target, hint: 'Import into a new folder.' })
  const staging = join(dirname(target), `.${basename(target)}.import-${randomId()}`)
  try {
    makeFolder(join(staging, SEGMENTS_FOLDER))
    for (const [name, content] of files) writeFileAtomic({ path: join(staging, name), data: content })
    if (existsSync(target)) rmSync(target, { recursive: true })
    renameSync(staging, target)
    fsyncDirectory(dirname(target))
  } catch (cause) {
    rmSync(staging, { recursive: true, force: true })
    if (cause instanceof StorageError) throw cause
    throw new StorageError('Could not write the imported vault', { details: `${target}: ${(cause as Error).message}`, cause })
  }
  return { path: target, vaultId: document.header.vaultId, sequence: document.manifest.sequence, files: files.size }
}
