import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
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
})
