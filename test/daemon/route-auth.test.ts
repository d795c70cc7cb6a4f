import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { daemonRoutes } from '../../src/daemon/index.js'
import { startTestDaemon, type TestDaemon } from './daemon-harness.js'

/**
 * Every route of the table × (no credential, wrong scope, another owner's resource) is refused. The cases are
 * generated from `daemonRoutes`, so a new route is covered by adding it to the table.
 */
let daemon: TestDaemon
const ids: Record<string, string> = {}
let alice: string
let bob: string
const readOnly: Record<string, string> = {}
const otherResource: Record<string, string> = {}

const guard = { kind: 'passphrase', passphrase: 'alice vault passphrase' }

function pathOf(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, (_match, name: string) => encodeURIComponent(ids[name] ?? `missing-${name}`))
}

/** A body that passes each route's schema, so refusals come from auth, not validation. */
const validBodies: Record<string, unknown> = {
  'POST /v1/vaults': { name: 'fresh', guard },
  'POST /v1/vaults/:vault/open': { guard },
  'POST /v1/vaults/:vault/memories': { memories: [{ text: 'x' }] },
  'POST /v1/vaults/:vault/search': { query: 'x' },
  'POST /v1/agents': { kind: 'definition', name: 'other', definition: {} },
  'POST /v1/agents/:agent/runs': { task: 'hello' },
  'POST /v1/runs/:run/reveal': { seq: 1 },
  'POST /v1/infer': { model: 'transaction-risk', input: [[0, 0, 0, 0, 0, 0]], prove: false },
  'POST /v1/verify': { receipt: {}, proof: 'AA==' },
  'POST /v1/tokens': { scopes: ['read:vault'] },
  'POST /v1/hub/releases': { path: '/nonexistent' },
  'POST /mcp': { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
}

beforeAll(async () => {
  daemon = await startTestDaemon()
  alice = daemon.token('alice', ['admin:vault', 'admin:agent'])
  bob = daemon.token('bob', ['admin:vault', 'admin:agent'])
  for (const resource of ['vault', 'agent']) {
    readOnly[resource] = daemon.token('alice', [`read:${resource}`])
    otherResource[resource] = daemon.token('alice', [`admin:${resource === 'vault' ? 'agent' : 'vault'}`])
  }
  const created = await daemon.call('/v1/vaults', { token: alice, body: { name: 'notes', guard } })
  expect(created.status).toBe(200)
  ids.vault = 'notes'
  const added = (await (
    await daemon.call('/v1/vaults/notes/memories', { token: alice, body: { memories: [{ text: 'Alice pays in Lisbon' }] } })
  ).json()) as {
    records: { id: string }[]
  }
  ids.id = added.records[0]!.id
  expect(
    (
      await daemon.call('/v1/agents', {
        token: alice,
        body: { kind: 'definition', name: 'desk', definition: { vault: 'notes' } },
      })
    ).status,
  ).toBe(200)
  ids.agent = 'desk'
  const run = (await (
    await daemon.call('/v1/agents/desk/runs', { token: alice, body: { task: 'Remember that Alice prefers email.' } })
  ).json()) as { runId: string }
  ids.run = run.runId
  await daemon.services.agents.done(run.runId)
  const inferred = await daemon.call('/v1/infer', {
    token: alice,
    body: { model: 'transaction-risk', input: [[0.1, 0.2, 0.3, 0, 0, 1]], prove: false },
  })
  expect(inferred.status).toBe(200)
  ids.receipt = ((await inferred.json()) as { receipt: { id: string } }).receipt.id
  ids.token = daemon.services.tokens.list('alice')[0]!.id
}, 120_000)

afterAll(async () => {
  await daemon?.dispose()
})

const protectedRoutes = daemonRoutes.filter((route) => route.access !== 'public')

describe('every route refuses a request without a credential', () => {
  it.each(protectedRoutes.map((route) => [route.method.toUpperCase(), route.path, route] as const))(
    '%s %s',
    async (method, path, route) => {
      const response = await daemon.call(pathOf(path), { method, body: validBodies[`${method} ${path}`] })
      const page = method === 'GET' && path.startsWith('/explorer')
      if (page) {
        // A browser without a credential is sent to the sign-in page, with nothing of the page.
        expect(response.status).toBe(303)
        expect(response.headers.get('location')).toBe('/explorer/login')
        expect(await response.text()).toBe('')
      } else {
        expect(response.status).toBe(401)
        const body = (await response.json()) as { error: { code: string } }
        expect(body.error.code).toBe('VERITY_UNAUTHENTICATED')
      }
      // A forged token of the right shape is refused the same way.
      const forged = await daemon.call(pathOf(route.path), {
        method,
        token: `vty_${'0'.repeat(16)}_${'1'.repeat(64)}`,
        body: validBodies[`${method} ${path}`],
      })
      expect(forged.status).toBe(page ? 303 : 401)
    },
  )
})

const scoped = protectedRoutes.filter((route) => route.access !== 'authenticated')
describe('every scoped route refuses a credential without its scope', () => {
  it.each(scoped.map((route) => [route.method.toUpperCase(), route.path, route] as const))(
    '%s %s',
    async (method, path, route) => {
      const access = route.access as { level: string; resource: string }
      // Admin on the other resource never reaches this one.
      const other = await daemon.call(pathOf(path), {
        method,
        token: otherResource[access.resource],
        body: validBodies[`${method} ${path}`],
      })
      expect(other.status).toBe(403)
      expect(((await other.json()) as { error: { code: string } }).error.code).toBe('VERITY_ACCESS_DENIED')
      if (access.level !== 'read') {
        const weaker = await daemon.call(pathOf(path), {
          method,
          token: readOnly[access.resource],
          body: validBodies[`${method} ${path}`],
        })
        expect(weaker.status).toBe(403)
      }
    },
  )
})

const owned = protectedRoutes.filter((route) => route.owned !== undefined)
describe("every route on an owned resource refuses another owner's credential", () => {
  it('covers vaults, agents, runs, receipts and tokens', () => {
    expect(new Set(owned.map((route) => route.owned))).toEqual(new Set(['vault', 'agent', 'run', 'receipt', 'token']))
  })
  it.each(owned.map((route) => [route.method.toUpperCase(), route.path, route] as const))('%s %s', async (method, path) => {
    const response = await daemon.call(pathOf(path), { method, token: bob, body: validBodies[`${method} ${path}`] })
    expect([403, 404]).toContain(response.status)
    const text = await response.text()
    // Nothing of alice's leaks into the refusal.
    expect(text).not.toContain('Lisbon')
  })
  it.each(owned.filter((route) => route.method === 'get').map((route) => [route.path] as const))(
    'the owner gets GET %s (positive control)',
    async (path) => {
      const response = await daemon.call(pathOf(path), { token: alice })
      expect(response.status).toBe(200)
      await response.body?.cancel()
    },
  )
})

describe('bodies', () => {
  it('malformed JSON is a typed 400', async () => {
    const response = await daemon.call('/v1/vaults/notes/search', { token: alice, raw: '{"query":' })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('VERITY_INVALID_INPUT')
  })
  it('a body of the wrong shape is a typed 400 naming the field', async () => {
    const response = await daemon.call('/v1/vaults/notes/search', { token: alice, body: { query: 42 } })
    expect(response.status).toBe(400)
    const { error } = (await response.json()) as { error: { details: string } }
    expect(error.details).toContain('query')
  })
  it('an oversized body is a typed 413, and the daemon keeps serving', async () => {
    const response = await daemon.call('/v1/vaults/notes/memories', {
      token: alice,
      raw: JSON.stringify({ memories: [{ text: 'x'.repeat(2 * 1024 * 1024) }] }),
    })
    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('VERITY_PAYLOAD_TOO_LARGE')
    expect((await daemon.call('/v1/whoami', { token: alice })).status).toBe(200)
  })
  it('an oversized body sent chunked (no Content-Length) is a typed 413 too', async () => {
    // node:http, since fetch gives up on the answer when the daemon stops reading the upload.
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(`${daemon.url}/v1/vaults/notes/memories`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      })
      request.on('response', (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (part: string) => {
          text += part
        })
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }))
      })
      request.on('error', (error) => (request.writableEnded ? undefined : reject(error)))
      // 8 × 256 KiB > the 1 MiB default limit; the JSON never ends, so only the bound can stop the read.
      request.write(`{"memories":[{"text":"`)
      for (let index = 0; index < 8; index++) request.write('x'.repeat(256 * 1024))
      request.end()
    })
    expect(status).toBe(413)
    expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('VERITY_PAYLOAD_TOO_LARGE')
  })
  it('JSON answers, errors and pages carry the security headers', async () => {
    const answers = [
      await daemon.call('/v1/vaults/notes/search', { token: alice, body: { query: 'tea', k: 1 } }),
      await daemon.call('/v1/vaults/notes/search', { token: alice, body: { query: 42 } }),
      await daemon.call('/v1/whoami'),
      await daemon.call('/explorer/login'),
    ]
    expect(answers.map((response) => response.status)).toEqual([200, 400, 401, 200])
    for (const response of answers) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(response.headers.get('referrer-policy')).toBe('no-referrer')
      expect(response.headers.get('cache-control')).toBe('no-store')
      await response.body?.cancel()
    }
  })
  it('an unknown route is a typed 404', async () => {
    const response = await daemon.call('/v1/nothing', { token: alice })
    expect(response.status).toBe(404)
  })
})
