import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Stanza } from '../access/guard.js'
import { randomBytes } from '../crypto/random.js'
import { AccessDeniedError, IntegrityError, InvalidInputError } from '../errors.js'
import { writeFileAtomicAsync } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { lanceDbIndexFactory } from './default-index.js'
import { makeFolder, readCommit } from './vault-files.js'
import {
  COMMIT_FILE,
  encodeCommit,
  newId,
  SEGMENTS_FOLDER,
  VAULT_FORMAT,
  VAULT_FORMAT_VERSION,
  type VaultHeader,
  type VaultManifest,
} from './vault-format.js'
import { createSchema, openSchema } from './vault-input.js'
import { isEmptyFolder, type LoadedState, loadVault, observedState, removeUnreferencedFilesOf } from './vault-load.js'
import { acquireVaultLock } from './vault-lock.js'
import { VaultSession } from './vault-session.js'
import { defaultVaultStateFolder, recordVaultState } from './vault-state.js'
import type { CreateVaultParameters, CreateVaultReturnType, OpenVaultParameters, OpenVaultReturnType } from './vault-types.js'
import { newWriterKey } from './vault-writer-key.js'

export type { VaultProgress } from './vault-input.js'
export type * from './vault-types.js'

/**
 * Creating and opening vaults. The open vault is in `vault-session.ts`, loading in `vault-load.ts`,
 * key management in `vault-keys.ts`, input schemas in `vault-input.ts`, public types in `vault-types.ts`.
 */

// ---------------------------------------------------------------------------------------
// Create and open
// ---------------------------------------------------------------------------------------

/**
 * Creates an empty vault: a random 32-byte data key wrapped by every guard, the embedder's id
 * and dimension in the header, and a first commit. The folder must not exist or be empty.
 *
 * @example
 * ```ts
 * const vault = await createVault({
 *   path: './memory',
 *   guards: [passphraseGuard({ passphrase: process.env.VERITY_PASSPHRASE! })],
 *   embedder,
 * })
 * await vault.add({ text: 'The user prefers tea', metadata: { topic: 'preferences' } })
 * await vault.close()
 * ```
 */
export async function createVault(parameters: CreateVaultParameters): CreateVaultReturnType {
  const parsed = parseInput(createSchema, parameters, {
    what: 'createVault parameters',
    hint: 'Pass { path, guards: [passphraseGuard({ passphrase })], embedder }.',
    docsPath: 'vault-format.md',
  })
  const folder = resolve(parsed.path)
  if (!isEmptyFolder(folder))
    throw new InvalidInputError('The vault folder is not empty', {
      details: folder,
      hint: 'Choose a new folder; to open an existing vault use openVault.',
    })
  makeFolder(join(folder, SEGMENTS_FOLDER))
  const lock = acquireVaultLock(folder)
  try {
    const vaultId = newId()
    const keyId = newId()
    const dataKey = randomBytes(32)
    const writerKey = newWriterKey()
    // The creator's guards are writers: each stanza wraps data key || writer seed.
    const payload = new Uint8Array(64)
    payload.set(dataKey, 0)
    payload.set(writerKey.seed, 32)
    const stanzas: Stanza[] = []
    for (const guard of parsed.guards) stanzas.push(await guard.wrap(payload, { vaultId, keyId }))
    payload.fill(0)
    const header: VaultHeader = {
      format: VAULT_FORMAT,
      formatVersion: VAULT_FORMAT_VERSION,
      vaultId,
      createdAt: Date.now(),
      embedder: {
        id: parsed.embedder.id,
        dimension: parsed.embedder.dimension,
        ...(parsed.embedder.spec ? { spec: parsed.embedder.spec } : {}),
      },
      stanzas,
      writer: {
        publicKey: writerKey.publicKey,
        recipients: stanzas.map((stanza) => ({ kind: stanza.kind, recipient: stanza.recipient })),
      },
    }
    const manifest: VaultManifest = {
      sequence: 0,
      keyEpoch: 0,
      keyId,
      updatedAt: Date.now(),
      keyring: [],
      segments: [],
      snapshot: null,
    }
    const stateFolder = parsed.stateFolder ?? defaultVaultStateFolder()
    await writeFileAtomicAsync({
      path: join(folder, COMMIT_FILE),
      data: encodeCommit({ header, manifest, dataKey, writerSeed: writerKey.seed }),
    })
    recordVaultState({ folder: stateFolder, observed: observedState(header, manifest) })
    const indexFactory = parsed.index ?? lanceDbIndexFactory
    const index = await indexFactory.open({ dimension: header.embedder.dimension })
    return new VaultSession({
      folder,
      header,
      manifest,
      keys: new Map([[keyId, dataKey]]),
      writerSeed: writerKey.seed,
      stateFolder,
      records: new Map(),
      index,
      indexFactory,
      indexSource: 'new',
      operationsSinceSnapshot: 0,
      staleIds: new Set(),
      snapshotThreshold: parsed.snapshotThreshold ?? 1000,
      guards: [...parsed.guards],
      embedder: parsed.embedder,
      lock,
    })
  } catch (error) {
    lock.release()
    rmSync(join(folder, COMMIT_FILE), { force: true })
    throw error
  }
}

/**
 * Opens a vault: unwraps the data key with the first guard that can, checks the manifest MAC,
 * decrypts and checks every segment, and restores the search index from its encrypted
 * snapshot (replaying newer segments) or rebuilds it. Takes the writer lock unless `readOnly`.
 *
 * @example
 * ```ts
 * const vault = await openVault({ path: './memory', guards: [passphraseGuard({ passphrase })], embedder })
 * const hits = await vault.search({ query: 'what does the user drink?', k: 5 })
 * await vault.close()
 * ```
 */
export async function openVault(parameters: OpenVaultParameters): OpenVaultReturnType {
  const parsed = parseInput(openSchema, parameters, {
    what: 'openVault parameters',
    hint: 'Pass { path, guards: [passphraseGuard({ passphrase })], embedder? }.',
    docsPath: 'vault-format.md',
  })
  const folder = resolve(parsed.path)
  const indexFactory = parsed.index ?? lanceDbIndexFactory
  const stateFolder = parsed.stateFolder ?? defaultVaultStateFolder()
  readCommit(folder) // a named NotFoundError before anything is created in a folder that is no vault
  const lock = parsed.readOnly ? undefined : acquireVaultLock(folder)
  try {
    let loaded: LoadedState | undefined
    // A read-only open may race a writer's compaction that deletes superseded segments: retry.
    for (let attempt = 0; !loaded; attempt++) {
      try {
        loaded = await loadVault(
          folder,
          parsed.guards,
          indexFactory,
          parsed.onProgress,
          parsed.embedder ?? parsed.embedderResolver,
          stateFolder,
        )
      } catch (error) {
        const missing = error instanceof IntegrityError && error.meta?.missing !== undefined
        if (!lock && missing && attempt < 3) continue
        throw error
      }
    }
    recordVaultState({ folder: stateFolder, observed: observedState(loaded.header, loaded.manifest) })
    if (lock && !loaded.writerSeed && loaded.header.formatVersion >= 2) {
      await loaded.index.close()
      throw new AccessDeniedError('These guards can read this vault but not write it', {
        details: `${folder}: the stanza they open is a reader's (no writer key)`,
        hint: 'Open it with `readOnly: true` (CLI: commands that only read), or ask a writer to grant({ write: true }).',
        docsPath: 'access.md',
        meta: { reason: 'reader' },
      })
    }
    if (lock) removeUnreferencedFilesOf(loaded)
    const session = new VaultSession({
      ...loaded,
      indexFactory,
      staleIds: new Set(),
      snapshotThreshold: parsed.snapshotThreshold ?? 1000,
      guards: [...parsed.guards],
      embedder: loaded.embedder,
      lock,
    })
    if (lock && loaded.header.formatVersion === 1)
      try {
        await session.upgradeFromVersion1()
      } catch (error) {
        await session.close().catch(() => undefined)
        throw error
      }
    return session
  } catch (error) {
    lock?.release()
    throw error
  }
}
