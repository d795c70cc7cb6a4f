import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { describe, expect, it } from 'vitest'
import { InvalidInputError, InvalidStateError, NotFoundError, WrongKeyError } from '../../src/errors.js'
import { createAgentIdentity, loadAgentIdentity, rotateAgentIdentity } from '../../src/identity/agent-identity.js'
import { recoverDigestSigner } from '../../src/identity/secp256k1-signer.js'

const fast = { N: 1024 }
const passphrase = 'correct horse battery'

describe('agent identity keystore', () => {
  it('creates an encrypted 0600 keystore that ethers can open, and loads it back', async () => {
    const home = join(mkdtempSync(join(tmpdir(), 'verity-id-')), 'agent')
    const created = await createAgentIdentity({ home, passphrase, scrypt: fast })
    expect(statSync(created.keystorePath).mode & 0o777).toBe(0o600)
    const json = readFileSync(created.keystorePath, 'utf8')
    const wallet = await Wallet.fromEncryptedJson(json, passphrase)
    expect(wallet.address).toBe(created.address)
    expect(json).not.toContain(wallet.privateKey.slice(2))
    const loaded = await loadAgentIdentity({ home, passphrase })
    expect(loaded.address).toBe(created.address)
    const digest = new Uint8Array(32).fill(7)
    expect(recoverDigestSigner({ digest, signature: loaded.signer.signDigest(digest) })).toBe(created.address)
  })

  it('imports a given key', async () => {
    const home = mkdtempSync(join(tmpdir(), 'verity-id-'))
    const wallet = Wallet.createRandom()
    const created = await createAgentIdentity({ home, passphrase, privateKey: wallet.privateKey, scrypt: fast })
    expect(created.address).toBe(wallet.address)
  })

  it('refuses a wrong passphrase, a missing keystore, an existing keystore and bad input with typed errors', async () => {
    const home = mkdtempSync(join(tmpdir(), 'verity-id-'))
    await createAgentIdentity({ home, passphrase, scrypt: fast })
    await expect(loadAgentIdentity({ home, passphrase: 'wrong passphrase' })).rejects.toBeInstanceOf(WrongKeyError)
    await expect(loadAgentIdentity({ home: join(home, 'nope'), passphrase })).rejects.toBeInstanceOf(NotFoundError)
    await expect(createAgentIdentity({ home, passphrase, scrypt: fast })).rejects.toBeInstanceOf(InvalidStateError)
    await expect(createAgentIdentity({ home, passphrase: 'short' })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(createAgentIdentity({ home, passphrase, scrypt: { N: 1000 } })).rejects.toBeInstanceOf(InvalidInputError)
  })

  it('rotates: new key in agent-key.json, old key archived and still loadable', async () => {
    const home = mkdtempSync(join(tmpdir(), 'verity-id-'))
    const first = await createAgentIdentity({ home, passphrase, scrypt: fast })
    const { previous, next } = await rotateAgentIdentity({ home, passphrase, scrypt: fast })
    expect(previous.address).toBe(first.address)
    expect(next.address).not.toBe(first.address)
    expect((await loadAgentIdentity({ home, passphrase })).address).toBe(next.address)
    const archived = await loadAgentIdentity({ home, passphrase, file: `agent-key.${first.address}.json` })
    expect(archived.address).toBe(first.address)
    expect(statSync(previous.keystorePath).mode & 0o777).toBe(0o600)
  })
})
