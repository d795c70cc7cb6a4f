import { type HDNodeWallet, Wallet } from 'ethers'
import { SiweMessage } from 'siwe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestDaemon, type TestDaemon } from './daemon-harness.js'

let daemon: TestDaemon
let domain: string
const wallet = Wallet.createRandom()
const other = Wallet.createRandom()

async function nonce(): Promise<string> {
  const response = await daemon.call('/v1/auth/nonce')
  expect(response.status).toBe(200)
  const body = (await response.json()) as { nonce: string; domain: string }
  expect(body.domain).toBe(domain)
  return body.nonce
}

async function signedMessage(parameters: {
  signer?: HDNodeWallet
  nonce: string
  domain?: string
  expiresInMs?: number
  address?: string
}) {
  const signer = parameters.signer ?? wallet
  const message = new SiweMessage({
    domain: parameters.domain ?? domain,
    address: parameters.address ?? signer.address,
    statement: 'Sign in to the Verity daemon',
    uri: `http://${domain}`,
    version: '1',
    chainId: 1,
    nonce: parameters.nonce,
    issuedAt: new Date().toISOString(),
    expirationTime: new Date(Date.now() + (parameters.expiresInMs ?? 600_000)).toISOString(),
  }).prepareMessage()
  return { message, signature: await signer.signMessage(message) }
}

async function signIn(body: unknown) {
  return daemon.call('/v1/auth/siwe', { body })
}

beforeAll(async () => {
  daemon = await startTestDaemon()
  // The daemon listened on port 0: the domain is the host:port it really listens on.
  domain = new URL(daemon.url).host
}, 60_000)

afterAll(async () => {
  await daemon?.dispose()
})

describe('Sign-In with Ethereum', () => {
  it("gives a session bound to the signer's address that reaches only its own vaults", async () => {
    const response = await signIn(await signedMessage({ nonce: await nonce() }))
    expect(response.status).toBe(200)
    const { session, address } = (await response.json()) as { session: string; address: string }
    expect(address).toBe(wallet.address)
    const me = (await (await daemon.call('/v1/whoami', { token: session })).json()) as { owner: string; kind: string }
    expect(me).toMatchObject({ owner: wallet.address, kind: 'siwe' })
    const created = await daemon.call('/v1/vaults', {
      token: session,
      body: { name: 'wallet-notes', guard: { kind: 'passphrase', passphrase: 'wallet vault passphrase' } },
    })
    expect(created.status).toBe(200)
    // Another wallet's session does not see it.
    const otherSession = (await (await signIn(await signedMessage({ signer: other, nonce: await nonce() }))).json()) as {
      session: string
    }
    const listed = (await (await daemon.call('/v1/vaults', { token: otherSession.session })).json()) as { vaults: unknown[] }
    expect(listed.vaults).toEqual([])
    const search = await daemon.call('/v1/vaults/wallet-notes/search', { token: otherSession.session, body: { query: 'x' } })
    expect(search.status).toBe(404)
    // Wallet sessions hold no admin scope.
    expect((await daemon.call('/v1/tokens', { token: session })).status).toBe(403)
  })

  it('refuses a replayed message (the nonce is single use)', async () => {
    const signed = await signedMessage({ nonce: await nonce() })
    expect((await signIn(signed)).status).toBe(200)
    const replay = await signIn(signed)
    expect(replay.status).toBe(401)
    expect(((await replay.json()) as { error: { details: string } }).error.details).toContain('nonce')
  })

  it('refuses a nonce the daemon never issued', async () => {
    const response = await signIn(await signedMessage({ nonce: 'abcdefgh12345678' }))
    expect(response.status).toBe(401)
  })

  it('refuses an expired message', async () => {
    const response = await signIn(await signedMessage({ nonce: await nonce(), expiresInMs: -1000 }))
    expect(response.status).toBe(401)
    expect(((await response.json()) as { error: { details: string } }).error.details).toContain('expired')
  })

  it('refuses a message for another domain', async () => {
    const response = await signIn(await signedMessage({ nonce: await nonce(), domain: 'evil.example' }))
    expect(response.status).toBe(401)
    expect(((await response.json()) as { error: { details: string } }).error.details).toContain('domain')
  })

  it('refuses a message signed by someone other than the address it names', async () => {
    const response = await signIn(await signedMessage({ nonce: await nonce(), signer: other, address: wallet.address }))
    expect(response.status).toBe(401)
  })

  it('refuses a forged session token', async () => {
    expect((await daemon.call('/v1/whoami', { token: `vts_${'a'.repeat(16)}_${'b'.repeat(64)}` })).status).toBe(401)
  })
})

describe('rate limits and tokens', () => {
  it('answers 429 with Retry-After once a token exceeds its rate, other tokens unaffected', async () => {
    const limited = await startTestDaemon({ rateLimitPerSecond: 2 })
    try {
      const token = limited.token('carol', ['read:vault'])
      const statuses: number[] = []
      for (let index = 0; index < 8; index++) statuses.push((await limited.call('/v1/whoami', { token })).status)
      expect(statuses).toContain(429)
      const refused = await limited.call('/v1/whoami', { token })
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).toBe('1')
      expect((await limited.call('/v1/whoami', { token: limited.token('dave', ['read:vault']) })).status).toBe(200)
    } finally {
      await limited.dispose()
    }
  }, 60_000)

  it('stores only hashes and never logs a token; a revoked token is refused', async () => {
    const { readFileSync } = await import('node:fs')
    const { join } = await import('node:path')
    const lines: string[] = []
    const { startDaemon, resolveDaemonConfig } = await import('../../src/daemon/index.js')
    const logged = await startDaemon({
      config: resolveDaemonConfig({ overrides: { home: daemon.home, identityPassphrase: 'test-daemon-passphrase', port: 0 } }),
      log: (line) => lines.push(line),
    })
    try {
      const created = logged.services.tokens.create({ owner: 'erin', scopes: ['admin:agent'] })
      const secret = created.token.split('_')[2]!
      expect(readFileSync(join(daemon.home, 'tokens.json'), 'utf8')).not.toContain(secret)
      const response = await fetch(`${logged.url}/v1/whoami`, { headers: { authorization: `Bearer ${created.token}` } })
      expect(response.status).toBe(200)
      const revoke = await fetch(`${logged.url}/v1/tokens/${created.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${created.token}` },
      })
      expect(revoke.status).toBe(200)
      expect((await fetch(`${logged.url}/v1/whoami`, { headers: { authorization: `Bearer ${created.token}` } })).status).toBe(401)
      expect(lines.length).toBeGreaterThan(0)
      expect(lines.join('\n')).not.toContain(secret)
    } finally {
      await logged.stop()
    }
  }, 60_000)
})
