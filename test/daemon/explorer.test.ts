import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RISK_TASK, startTestDaemon, type TestDaemon } from './daemon-harness.js'

/** Screenshots go to the test output (gitignored). */
const SHOTS = resolve(import.meta.dirname, '..', '..', 'test-results', 'daemon-explorer')
const CHROMIUM = process.env.VERITY_CHROMIUM ?? '/usr/bin/chromium'

let daemon: TestDaemon
let browser: Browser
let token: string

type Entries = { entries: { seq: number; kind: string; refs: { type: string }[]; receiptStatus?: string; sealed: boolean }[] }

async function entriesOf(runId: string): Promise<Entries['entries']> {
  const response = await daemon.call(`/v1/runs/${runId}/entries`, { token })
  expect(response.status).toBe(200)
  return ((await response.json()) as Entries).entries
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 250))
  }
}

async function signedInPage(credential = token) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  await page.goto(`${daemon.url}/explorer`)
  // Not signed in: the explorer sends the browser to its sign-in page.
  expect(new URL(page.url()).pathname).toBe('/explorer/login')
  await page.getByLabel('API token or wallet session').fill(credential)
  await page.keyboard.press('Enter')
  await page.waitForURL(`${daemon.url}/explorer`)
  return page
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true })
  // a slow prover: the page loads while the receipt is pending, and the flip to verified is seen live
  daemon = await startTestDaemon({ slowProver: true })
  token = daemon.token('alice', ['write:agent', 'write:vault'])
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await daemon?.dispose()
})

describe('web trace explorer in Chromium', () => {
  it('shows a demo run and flips its receipt from pending to verified live', async () => {
    // The owner's open vault keeps the run's body key: the task is sealed under it, and Reveal opens it.
    const vault = await daemon.call('/v1/vaults', {
      token,
      body: { name: 'notes', guard: { kind: 'passphrase', passphrase: 'explorer vault passphrase' } },
    })
    expect(vault.status).toBe(200)
    const created = await daemon.call('/v1/agents', {
      token,
      body: { kind: 'definition', name: 'risk-desk', definition: { tools: ['transaction-risk'], proofs: 'allow-pending' } },
    })
    expect(created.status).toBe(200)
    const { runId } = (await (await daemon.call('/v1/agents/risk-desk/runs', { token, body: { task: RISK_TASK } })).json()) as {
      runId: string
    }
    // The tool result with its pending receipt is in the trace long before the proof lands.
    const proven = await until(
      'the proven tool result',
      async () => (await entriesOf(runId)).find((entry) => entry.refs.some((ref) => ref.type === 'receipt')),
      120_000,
    )

    const page = await signedInPage()
    const runLink = page.getByRole('link', { name: runId })
    await runLink.focus()
    await page.screenshot({ path: join(SHOTS, '1-runs.png'), fullPage: true })
    await page.keyboard.press('Enter')
    await page.waitForURL(`${daemon.url}/explorer/runs/${runId}`)

    const status = page.locator(`[data-receipt-for="${proven.seq}"]`)
    const before = await status.textContent()
    await page.screenshot({ path: join(SHOTS, '2-run-pending.png'), fullPage: true })
    expect(['pending', 'proven', 'verified']).toContain(before)
    // Kinds and links: the timeline names each kind and links the receipt's proof back to its tool result.
    for (const kind of ['run-start', 'tool-call', 'tool-result'])
      await expect(page.locator('td.kind', { hasText: kind }).first().isVisible()).resolves.toBe(true)

    // Marks this page load: a reload would drop the mark, so the flip below is proven to be live.
    await page.evaluate(() => {
      ;(globalThis as unknown as { verityMark: boolean }).verityMark = true
    })
    await status.filter({ hasText: 'verified' }).waitFor({ timeout: 300_000 })
    await expect(page.evaluate(() => (globalThis as unknown as { verityMark?: boolean }).verityMark)).resolves.toBe(true)
    await page.locator('#run-status', { hasText: 'completed' }).waitFor({ timeout: 120_000 })
    await expect(
      page
        .locator('a[href="#entry-' + proven.seq + '"]')
        .first()
        .isVisible(),
    ).resolves.toBe(true)
    await expect(page.locator('#badge').getAttribute('data-ok')).resolves.toBe('true')
    await expect(page.locator('#live').textContent()).resolves.toMatch(/is now verified/)
    await page.screenshot({ path: join(SHOTS, '3-run-verified.png'), fullPage: true })
    // The flip happened in the open page: it was pending when the page loaded (the proof takes seconds).
    expect(before).toBe('pending')

    // Sealed bodies: the task note is sealed until its owner reveals it.
    const sealed = page.locator('button[data-reveal]').first()
    await sealed.focus()
    await page.keyboard.press('Enter')
    await page.locator('pre', { hasText: 'transaction risk' }).first().waitFor()
    await page.close()
  }, 600_000)

  it('Reveal opens a sealed body for the owner only: a read-only session, or the owner with the vault closed, is refused', async () => {
    await daemon.call('/v1/vaults', {
      token,
      body: { name: 'diary', guard: { kind: 'passphrase', passphrase: 'diary vault passphrase' } },
    })
    await daemon.call('/v1/agents', { token, body: { kind: 'definition', name: 'diarist', definition: { vault: 'diary' } } })
    const secret = 'Remember that the spare key is under the blue pot.'
    const { runId } = (await (await daemon.call('/v1/agents/diarist/runs', { token, body: { task: secret } })).json()) as {
      runId: string
    }
    await daemon.services.agents.done(runId)
    const reveal = async (credential: string) => {
      const page = await signedInPage(credential)
      await page.goto(`${daemon.url}/explorer/runs/${runId}`)
      const button = page.locator('button[data-reveal]').first()
      const seq = await button.getAttribute('data-reveal')
      await button.focus()
      await page.keyboard.press('Enter')
      return { page, target: page.locator(`#body-${seq}`) }
    }
    const reader = await reveal(daemon.token('alice', ['read:agent', 'read:vault']))
    await reader.target.filter({ hasText: 'not revealed (403)' }).waitFor()
    expect(await reader.page.content()).not.toContain('blue pot')
    await reader.page.screenshot({ path: join(SHOTS, '5-reveal-refused-read-only.png'), fullPage: true })
    await reader.page.close()

    expect((await daemon.call('/v1/vaults/diary/close', { token, body: {} })).status).toBe(200)
    const closed = await reveal(token)
    await closed.target.filter({ hasText: 'not revealed (409)' }).waitFor()
    expect(await closed.target.textContent()).toContain('Open the vault')
    await closed.page.close()

    await daemon.call('/v1/vaults/diary/open', {
      token,
      body: { guard: { kind: 'passphrase', passphrase: 'diary vault passphrase' } },
    })
    const owner = await reveal(token)
    await owner.page.locator('pre', { hasText: 'blue pot' }).first().waitFor()
    await owner.page.screenshot({ path: join(SHOTS, '6-revealed-owner.png'), fullPage: true })
    await owner.page.close()
  }, 120_000)

  it('names the failing entry when a trace was tampered with', async () => {
    await daemon.call('/v1/agents', { token, body: { kind: 'definition', name: 'notes', definition: {} } })
    const { runId } = (await (
      await daemon.call('/v1/agents/notes/runs', { token, body: { task: 'Remember that Bob likes tea.' } })
    ).json()) as {
      runId: string
    }
    await daemon.services.agents.done(runId)
    const path = daemon.services.runs.tracePath(runId)
    const lines = readFileSync(path, 'utf8').split('\n')
    const index = lines.findIndex((line) => line.includes('"seq":2,'))
    const entry = JSON.parse(lines[index]!) as { time: string }
    lines[index] = JSON.stringify({ ...entry, time: '2020-01-01T00:00:00.000Z' })
    writeFileSync(path, lines.join('\n'))

    const page = await signedInPage()
    await page.goto(`${daemon.url}/explorer/runs/${runId}`)
    await expect(page.locator('#badge').getAttribute('data-ok')).resolves.toBe('false')
    await expect(page.locator('#verdict').textContent()).resolves.toBe('Verification failed')
    await expect(page.locator('#failing-entry').textContent()).resolves.toContain('entry #2')
    await page.screenshot({ path: join(SHOTS, '4-run-tampered.png'), fullPage: true })
    await page.close()
  }, 120_000)
})
