import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openTokenStore } from '../../src/daemon/index.js'

const folders: string[] = []
const tokenFile = () => {
  const folder = mkdtempSync(join(tmpdir(), 'verity-tokens-'))
  folders.push(folder)
  return join(folder, 'tokens.json')
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

describe('daemon token store', () => {
  it('accepts its tokens and refuses a wrong secret, an unknown id and a malformed token', () => {
    const tokens = openTokenStore({ path: tokenFile() })
    const { id, token } = tokens.create({ owner: 'alice', scopes: ['read:vault'] })
    expect(tokens.authenticate(token)).toEqual({
      owner: 'alice',
      credentialId: `token:${id}`,
      kind: 'token',
      scopes: ['read:vault'],
    })
    const secret = token.slice(-64)
    const flipped = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`
    expect(() => tokens.authenticate(flipped)).toThrow(expect.objectContaining({ code: 'VERITY_UNAUTHENTICATED' }))
    expect(() => tokens.authenticate(`vty_${'0'.repeat(16)}_${secret}`)).toThrow(
      expect.objectContaining({ code: 'VERITY_UNAUTHENTICATED' }),
    )
    expect(() => tokens.authenticate(`vty_${id}_${secret.slice(1)}`)).toThrow(
      expect.objectContaining({ code: 'VERITY_UNAUTHENTICATED' }),
    )
  })

  it('stores only the hash of the secret', () => {
    const path = tokenFile()
    const { token } = openTokenStore({ path }).create({ owner: 'alice', scopes: ['read:vault'] })
    const file = readFileSync(path, 'utf8')
    expect(file).not.toContain(token.slice(-64))
    expect(file).toMatch(/"secretHash": "[0-9a-f]{64}"/)
  })

  it('a running daemon sees tokens created and revoked by another process (the CLI) without a restart', () => {
    const path = tokenFile()
    const daemon = openTokenStore({ path })
    const cli = () => openTokenStore({ path })
    const created = cli().create({ owner: 'bob', scopes: ['write:vault'] })
    expect(daemon.authenticate(created.token).owner).toBe('bob')
    expect(daemon.list().map((token) => token.id)).toEqual([created.id])
    expect(cli().revoke(created.id)).toBe(true)
    expect(() => daemon.authenticate(created.token)).toThrow(expect.objectContaining({ code: 'VERITY_UNAUTHENTICATED' }))
    // And the daemon's own writes keep the other process's changes.
    const second = daemon.create({ owner: 'carol', scopes: ['read:agent'] })
    const listed = cli().list()
    expect(listed.map((token) => [token.id, token.revoked ?? false])).toEqual([
      [created.id, true],
      [second.id, false],
    ])
  })

  it("a watching store (the daemon's) refuses a token it revoked itself at once, and one revoked by the CLI once the change notification arrives", async () => {
    const path = tokenFile()
    const daemon = openTokenStore({ path, watch: true })
    try {
      const own = daemon.create({ owner: 'dana', scopes: ['read:vault'] })
      expect(daemon.authenticate(own.token).owner).toBe('dana')
      expect(daemon.revoke(own.id)).toBe(true)
      expect(() => daemon.authenticate(own.token)).toThrow(expect.objectContaining({ code: 'VERITY_UNAUTHENTICATED' }))

      const cli = () => openTokenStore({ path })
      const created = cli().create({ owner: 'erin', scopes: ['write:vault'] })
      // A token the CLI created is accepted once the notification is in (the daemon's own create above was seen at once).
      await vi.waitFor(() => expect(daemon.authenticate(created.token).owner).toBe('erin'), { timeout: 900, interval: 5 })
      expect(cli().revoke(created.id)).toBe(true)
      // Well inside the 1 s re-check bound (with the watch working, the notification is what makes it effective).
      await vi.waitFor(
        () =>
          expect(() => daemon.authenticate(created.token)).toThrow(expect.objectContaining({ code: 'VERITY_UNAUTHENTICATED' })),
        { timeout: 900, interval: 5 },
      )
    } finally {
      daemon.close()
    }
  })

  it('a watching store that misses the change notification still sees a CLI revocation within its re-check interval', () => {
    const path = tokenFile()
    let clock = 1_000_000
    const daemon = openTokenStore({ path, watch: true, recheckMs: 1000, now: () => clock })
    try {
      const created = openTokenStore({ path }).create({ owner: 'frank', scopes: ['read:agent'] })
      clock += 1000
      expect(daemon.authenticate(created.token).owner).toBe('frank')
      expect(openTokenStore({ path }).revoke(created.id)).toBe(true)
      // No await, so no event-loop turn: the watch notification cannot have been delivered. The interval elapses
      // and the next call checks the file.
      clock += 1000
      expect(() => daemon.authenticate(created.token)).toThrow(expect.objectContaining({ code: 'VERITY_UNAUTHENTICATED' }))
    } finally {
      daemon.close()
    }
  })
})
