import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encryptKeystoreJson, Wallet } from 'ethers'
import { z } from 'zod'
import { InvalidInputError, InvalidStateError, NotFoundError, StorageError, WrongKeyError } from '../errors.js'
import { writeFileAtomic } from '../storage/atomic-file.js'
import { parseInput } from '../validation.js'
import { type AgentSigner, createKeySigner } from './secp256k1-signer.js'

/**
 * An agent's identity: one secp256k1 key (an ethers Wallet) kept in an encrypted JSON keystore
 * (Web3 Secret Storage, scrypt + AES-128-CTR, as `ethers.Wallet.encrypt` writes it) at
 * `<home>/agent-key.json`, file mode 0600. Rotation keeps old keys as `agent-key.<address>.json`.
 */

/** The keystore file name inside the agent home. */
export const AGENT_KEYSTORE_FILE = 'agent-key.json'

/** An unlocked agent identity: its address and a signer; the key itself is not exposed. */
export type AgentIdentity = {
  /** EIP-55 address of the agent key. */
  address: string
  /** Signs trace digests with the agent key. */
  signer: AgentSigner
  /** Path of the keystore file. */
  keystorePath: string
}

const scryptSchema = z
  .object({
    N: z
      .number()
      .int()
      .min(2 ** 10)
      .max(2 ** 20)
      .refine((n) => (n & (n - 1)) === 0, 'a power of two'),
  })
  .optional()

const createSchema = z.object({
  home: z.string().min(1),
  passphrase: z.string().min(8, 'at least 8 characters'),
  privateKey: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/)
    .optional(),
  scrypt: scryptSchema,
  overwrite: z.boolean().optional(),
})

export type CreateAgentIdentityParameters = {
  /** The agent's home folder (created if missing). */
  home: string
  /** Passphrase that encrypts the keystore (at least 8 characters). */
  passphrase: string
  /** Import this key instead of generating one. */
  privateKey?: string | undefined
  /** scrypt cost (default ethers' N = 2^17). Lower only for tests. */
  scrypt?: { N: number } | undefined
  /** Replace an existing keystore (default false: refuse). */
  overwrite?: boolean | undefined
}
export type CreateAgentIdentityReturnType = AgentIdentity

/**
 * Creates an agent key and writes it, encrypted, to `<home>/agent-key.json` (mode 0600, durably).
 *
 * @example
 * ```ts
 * const identity = await createAgentIdentity({ home: '~/.verity/agents/scout', passphrase })
 * identity.address // '0x…'
 * ```
 */
export async function createAgentIdentity(parameters: CreateAgentIdentityParameters): Promise<CreateAgentIdentityReturnType> {
  const input = parseInput(createSchema, parameters, {
    what: 'createAgentIdentity parameters',
    hint: 'Pass { home, passphrase } with a passphrase of at least 8 characters.',
  })
  const keystorePath = join(input.home, AGENT_KEYSTORE_FILE)
  if (existsSync(keystorePath) && !input.overwrite)
    throw new InvalidStateError('Agent identity already exists', {
      details: keystorePath,
      hint: 'Load it with loadAgentIdentity, rotate it with rotateAgentIdentity, or pass overwrite: true.',
    })
  const wallet = input.privateKey ? new Wallet(input.privateKey) : Wallet.createRandom()
  await writeKeystore(keystorePath, input.home, wallet.privateKey, wallet.address, input.passphrase, input.scrypt?.N)
  const signer = createKeySigner({ privateKey: wallet.privateKey })
  return { address: signer.address, signer, keystorePath }
}

const loadSchema = z.object({ home: z.string().min(1), passphrase: z.string().min(1), file: z.string().min(1).optional() })

export type LoadAgentIdentityParameters = {
  home: string
  passphrase: string
  /** Keystore file name inside `home` (default `agent-key.json`). */
  file?: string | undefined
}
export type LoadAgentIdentityReturnType = AgentIdentity

/**
 * Decrypts the agent keystore in `home`.
 *
 * @example
 * ```ts
 * const { signer } = await loadAgentIdentity({ home, passphrase })
 * ```
 */
export async function loadAgentIdentity(parameters: LoadAgentIdentityParameters): Promise<LoadAgentIdentityReturnType> {
  const input = parseInput(loadSchema, parameters, { what: 'loadAgentIdentity parameters' })
  const keystorePath = join(input.home, input.file ?? AGENT_KEYSTORE_FILE)
  let json: string
  try {
    json = readFileSync(keystorePath, 'utf8')
  } catch (cause) {
    throw new NotFoundError('No agent identity in this home', {
      details: keystorePath,
      hint: 'Create one with createAgentIdentity({ home, passphrase }).',
      cause,
    })
  }
  let wallet: Wallet
  try {
    const decrypted = await Wallet.fromEncryptedJson(json, input.passphrase)
    wallet = decrypted instanceof Wallet ? decrypted : new Wallet(decrypted.privateKey)
  } catch (cause) {
    const message = (cause as Error).message ?? ''
    if (/incorrect password|invalid password/i.test(message))
      throw new WrongKeyError('Wrong passphrase for the agent keystore', {
        details: keystorePath,
        hint: 'Check the passphrase.',
        cause,
      })
    throw new InvalidInputError('Agent keystore is not a valid JSON keystore', { details: `${keystorePath}: ${message}`, cause })
  }
  const signer = createKeySigner({ privateKey: wallet.privateKey })
  return { address: signer.address, signer, keystorePath }
}

export type RotateAgentIdentityParameters = {
  home: string
  /** Passphrase of the current keystore. */
  passphrase: string
  /** Passphrase for the new keystore (default: the same). */
  newPassphrase?: string | undefined
  scrypt?: { N: number } | undefined
}
export type RotateAgentIdentityReturnType = {
  /** The old identity: still needed to sign the `key-rotation` trace entry. */
  previous: AgentIdentity
  /** The new identity, now in `agent-key.json`. */
  next: AgentIdentity
}

const rotateSchema = z.object({
  home: z.string().min(1),
  passphrase: z.string().min(1),
  newPassphrase: z.string().min(8, 'at least 8 characters').optional(),
  scrypt: scryptSchema,
})

/**
 * Replaces the agent key: the old keystore is kept as `agent-key.<oldAddress>.json`, a new key is
 * written to `agent-key.json`. Record the rotation in the trace with `trace.rotateKey(next.signer)`,
 * which appends a `key-rotation` entry signed by both keys.
 *
 * @example
 * ```ts
 * const { next } = await rotateAgentIdentity({ home, passphrase })
 * await trace.rotateKey({ signer: next.signer })
 * ```
 */
export async function rotateAgentIdentity(parameters: RotateAgentIdentityParameters): Promise<RotateAgentIdentityReturnType> {
  const input = parseInput(rotateSchema, parameters, { what: 'rotateAgentIdentity parameters' })
  const previous = await loadAgentIdentity({ home: input.home, passphrase: input.passphrase })
  const archived = join(input.home, `agent-key.${previous.address}.json`)
  writeFileAtomic({ path: archived, data: readFileSync(previous.keystorePath), mode: 0o600 })
  const wallet = Wallet.createRandom()
  const passphrase = input.newPassphrase ?? input.passphrase
  await writeKeystore(previous.keystorePath, input.home, wallet.privateKey, wallet.address, passphrase, input.scrypt?.N)
  const signer = createKeySigner({ privateKey: wallet.privateKey })
  return {
    previous: { ...previous, keystorePath: archived },
    next: { address: signer.address, signer, keystorePath: previous.keystorePath },
  }
}

async function writeKeystore(
  path: string,
  home: string,
  privateKey: string,
  address: string,
  passphrase: string,
  scryptN: number | undefined,
): Promise<void> {
  try {
    mkdirSync(home, { recursive: true, mode: 0o700 })
  } catch (cause) {
    throw new StorageError('Could not create the agent home', { details: home, cause })
  }
  const json = await encryptKeystoreJson(
    { address, privateKey },
    passphrase,
    scryptN === undefined ? {} : { scrypt: { N: scryptN, r: 8, p: 1 } },
  )
  writeFileAtomic({ path, data: json, mode: 0o600 })
}
