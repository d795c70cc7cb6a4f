import { z } from 'zod'
import type { Guard, Stanza } from '../access/guard.js'
import { randomBytes } from '../crypto/random.js'
import { InvalidInputError, NotFoundError } from '../errors.js'
import { parseInput } from '../validation.js'
import { newId, sealKeyring, type VaultHeader, type VaultWriter } from './vault-format.js'
import { grantOptionsSchema, guardSchema, revokeSchema, rotateSchema } from './vault-input.js'
import { recipientKey } from './vault-load.js'
import type { KeyHost } from './vault-session-state.js'
import type { Grant, GrantOptions } from './vault-types.js'
import { newWriterKey, writerPublicKey } from './vault-writer-key.js'

/**
 * Key management of an open vault: grants (readers get the data key, writers also the writer
 * key), revocation (a new data key; a new writer key when a writer is revoked), rotation, and the
 * upgrade of a format-1 vault. `docs/access.md` says what each promises.
 */

export function listGrants(session: KeyHost): Grant[] {
  session.assertOpen()
  const writers = new Set((session.state.header.writer?.recipients ?? []).map(recipientKey))
  return session.state.header.stanzas.map((stanza) => ({
    kind: stanza.kind,
    recipient: stanza.recipient,
    keyId: stanza.keyId,
    version: stanza.version,
    write: writers.has(recipientKey(stanza)),
  }))
}

/** The stanza payload for a recipient: the data key (reader) or data key || writer seed (writer). */
export function stanzaPayload(dataKey: Uint8Array, writerSeed: Uint8Array | undefined): Uint8Array {
  if (!writerSeed) return dataKey
  const out = new Uint8Array(64)
  out.set(dataKey, 0)
  out.set(writerSeed, 32)
  return out
}

export async function grantAccess(session: KeyHost, guard: Guard, options: GrantOptions = {}): Promise<Grant> {
  session.assertWritable()
  const parsed = parseInput(guardSchema, guard, { what: 'vault.grant guard' })
  const { write = false } = parseInput(grantOptionsSchema, options, { what: 'vault.grant options' })
  return session.exclusive(async () => {
    session.assertWritable()
    const { state } = session
    const writer = state.header.writer
    const stanza = await parsed.wrap(stanzaPayload(session.currentKey, write ? state.writerSeed : undefined), {
      vaultId: state.header.vaultId,
      keyId: state.manifest.keyId,
    })
    if (state.header.stanzas.some((existing) => existing.kind === stanza.kind && existing.recipient === stanza.recipient))
      throw new InvalidInputError('This recipient already has access', {
        details: `${stanza.kind}:${stanza.recipient}`,
        hint: 'Revoke it first to replace its stanza.',
      })
    const header: VaultHeader = {
      ...state.header,
      stanzas: [...state.header.stanzas, stanza],
      ...(writer && write
        ? { writer: { ...writer, recipients: [...writer.recipients, { kind: stanza.kind, recipient: stanza.recipient }] } }
        : {}),
    }
    await session.commit({ ...state.manifest, sequence: state.manifest.sequence + 1, updatedAt: Date.now() }, header)
    return { kind: stanza.kind, recipient: stanza.recipient, keyId: stanza.keyId, version: stanza.version, write }
  })
}

/**
 * Wraps a new data key for `guards`: writers (their kind and recipient are in `writerRecipients`)
 * get data key || writer seed, everyone else the data key. Returns the stanzas and the writer section.
 */
async function wrapForAll(
  session: KeyHost,
  guards: readonly Guard[],
  dataKey: Uint8Array,
  keyId: string,
  writerSeed: Uint8Array,
  writerRecipients: ReadonlySet<string>,
): Promise<{ stanzas: Stanza[]; writer: VaultWriter }> {
  const context = { vaultId: session.state.header.vaultId, keyId }
  const stanzas: Stanza[] = []
  const writers: VaultWriter['recipients'] = []
  for (const guard of guards) {
    let stanza = await guard.wrap(dataKey, context)
    if (stanzas.some((existing) => recipientKey(existing) === recipientKey(stanza))) continue
    if (writerRecipients.has(recipientKey(stanza))) {
      stanza = await guard.wrap(stanzaPayload(dataKey, writerSeed), context)
      writers.push({ kind: stanza.kind, recipient: stanza.recipient })
    }
    stanzas.push(stanza)
  }
  if (writers.length === 0)
    throw new InvalidInputError('None of the remaining guards can write', {
      details: `writers: ${[...writerRecipients].map((key) => key.replace('\u0000', ':')).join(', ') || 'none'}`,
      hint: 'Include the guard of at least one writer (e.g. your own) among the guards that keep access.',
      docsPath: 'access.md',
    })
  return { stanzas, writer: { publicKey: writerPublicKey(writerSeed), recipients: writers } }
}

function currentWriterRecipients(session: KeyHost): Set<string> {
  return new Set((session.state.header.writer?.recipients ?? []).map(recipientKey))
}

export async function revokeAccess(
  session: KeyHost,
  recipient: string,
  parameters: { guards: Guard[] },
): Promise<{ keyId: string }> {
  session.assertWritable()
  const who = parseInput(z.string().min(1).max(512), recipient, { what: 'vault.revoke recipient' })
  const { guards } = parseInput(revokeSchema, parameters, {
    what: 'vault.revoke parameters',
    hint: 'Pass the guards of everyone who keeps access: { guards: [...] }.',
  })
  return session.exclusive(async () => {
    session.assertWritable()
    const { state } = session
    if (!state.header.stanzas.some((stanza) => stanza.recipient === who))
      throw new NotFoundError('No grant for this recipient', {
        details: `'${who}'; grants: ${state.header.stanzas.map((stanza) => stanza.recipient).join(', ')}`,
        hint: 'List grants with vault.grants().',
      })
    const keyId = newId()
    const dataKey = randomBytes(32)
    const writers = currentWriterRecipients(session)
    // A revoked writer knows the writer seed: the writer key changes too (machines that pinned it are told).
    const revokedWriter = [...writers].some((key) => key.endsWith(`\u0000${who}`))
    for (const key of [...writers]) if (key.endsWith(`\u0000${who}`)) writers.delete(key)
    const writerSeed = revokedWriter ? newWriterKey().seed : (state.writerSeed as Uint8Array)
    const { stanzas, writer } = await wrapForAll(session, guards, dataKey, keyId, writerSeed, writers)
    if (stanzas.some((stanza) => stanza.recipient === who))
      throw new InvalidInputError('A remaining guard is the revoked recipient', {
        details: `'${who}'`,
        hint: 'Pass only the guards that keep access.',
      })
    const oldKeys = new Map([...state.keys].filter(([id]) => id !== keyId))
    const keyring = sealKeyring({ keys: oldKeys, currentKey: dataKey, vaultId: state.header.vaultId })
    await session.commit(
      {
        ...state.manifest,
        sequence: state.manifest.sequence + 1,
        keyEpoch: (state.manifest.keyEpoch ?? 0) + 1,
        updatedAt: Date.now(),
        keyId,
        keyring,
      },
      { ...state.header, stanzas, writer },
      dataKey,
      writerSeed,
    )
    state.keys.set(keyId, dataKey)
    state.guards = [...guards]
    return { keyId }
  })
}

export async function rotateKey(
  session: KeyHost,
  parameters: { guards?: Guard[] | undefined } = {},
): Promise<{ keyId: string; segments: number }> {
  session.assertWritable()
  const parsed = parseInput(rotateSchema, parameters, { what: 'vault.rotate parameters' })
  return session.exclusive(async () => {
    session.assertWritable()
    const { state } = session
    const guards = parsed.guards ?? state.guards
    const keyId = newId()
    const dataKey = randomBytes(32)
    const { stanzas, writer } = await wrapForAll(
      session,
      guards,
      dataKey,
      keyId,
      state.writerSeed as Uint8Array,
      currentWriterRecipients(session),
    )
    const previous = state.manifest
    // Write under the new key; the commit makes it current.
    state.keys.set(keyId, dataKey)
    state.manifest = { ...previous, keyId, keyEpoch: (previous.keyEpoch ?? 0) + 1 }
    let segments: number
    try {
      segments = await session.rewriteAll({ ...state.header, stanzas, writer }, [])
    } catch (error) {
      state.manifest = previous
      state.keys.delete(keyId)
      throw error
    }
    for (const [id, key] of [...state.keys])
      if (id !== keyId) {
        key.fill(0)
        state.keys.delete(id)
      }
    state.guards = [...guards]
    return { keyId, segments }
  })
}

/**
 * Upgrades a format-1 vault on its first writable open: a new writer key, the stanza that opened
 * it rewrapped as a writer's (data key || writer seed), other stanzas left as readers', and a
 * signed format-2 commit. Called by {@link openVault}.
 */
export async function upgradeFromVersion1(session: KeyHost): Promise<void> {
  return session.exclusive(async () => {
    const { state } = session
    const guard = state.unlockedBy
    if (state.header.formatVersion !== 1 || !guard) return
    const writerKey = newWriterKey()
    const keyId = state.manifest.keyId
    const stanza = await guard.wrap(stanzaPayload(session.currentKey, writerKey.seed), { vaultId: state.header.vaultId, keyId })
    const stanzas = state.header.stanzas.map((existing) =>
      existing.keyId === keyId && recipientKey(existing) === recipientKey(stanza) ? stanza : existing,
    )
    if (!stanzas.includes(stanza)) stanzas.push(stanza)
    await session.commit(
      { ...state.manifest, sequence: state.manifest.sequence + 1, keyEpoch: 0, updatedAt: Date.now() },
      {
        ...state.header,
        formatVersion: 2,
        stanzas,
        writer: { publicKey: writerKey.publicKey, recipients: [{ kind: stanza.kind, recipient: stanza.recipient }] },
      },
      session.currentKey,
      writerKey.seed,
    )
  })
}
