import { setCookie } from 'hono/cookie'
import { PayloadTooLargeError, UnauthenticatedError } from '../../errors.js'
import { EXPLORER_COOKIE, principalOf } from '../authenticate.js'
import type { DaemonServices } from '../daemon-services.js'
import { type DaemonRoute, defineRoute } from '../route.js'
import { runTimeline, type TimelineEntry, type Verification } from '../run-view.js'
import { EXPLORER_CSS, EXPLORER_JS } from './explorer-assets.js'
import { escapeHtml, explorerPage } from './html.js'

const read = { level: 'read', resource: 'agent' } as const

function short(digest: string): string {
  return digest.length > 24 ? `${digest.slice(0, 15)}…${digest.slice(-6)}` : digest
}

/** Links of an entry: to the call it answers, the entry whose receipt it proves, its receipts and proofs. */
function links(entry: TimelineEntry): string {
  const parts: string[] = []
  const forSeq = entry.forSeq ?? (entry.body as { forSeq?: unknown } | undefined)?.forSeq
  if (typeof forSeq === 'number')
    parts.push(`<a href="#entry-${forSeq}">${entry.kind === 'receipt-proven' ? 'proves receipt of' : 'answers'} #${forSeq}</a>`)
  for (const ref of entry.refs)
    parts.push(
      `<span class="ref" data-ref-type="${escapeHtml(ref.type)}">${escapeHtml(ref.type)} <code title="${escapeHtml(ref.digest)}">${escapeHtml(short(ref.digest))}</code></span>`,
    )
  return parts.join('<br>')
}

function bodyCell(entry: TimelineEntry): string {
  if (entry.sealed)
    return `<span id="body-${entry.seq}" class="sealed">sealed</span> <button type="button" data-reveal="${entry.seq}">Reveal (owner)</button>`
  const text = JSON.stringify(entry.body)
  return `<code>${escapeHtml(text.length > 160 ? `${text.slice(0, 160)}…` : text)}</code>`
}

function anchorItem(anchor: Verification['anchors'][number]): string {
  const label = anchor.status === 'verified' ? 'verified on chain' : anchor.status === 'failed' ? 'FAILED' : 'not checked'
  return `<li class="anchor" data-status="${anchor.status}">chain ${escapeHtml(anchor.chainId)}, contract <code title="${escapeHtml(anchor.contract)}">${escapeHtml(short(anchor.contract))}</code>, tx <code title="${escapeHtml(anchor.transaction)}">${escapeHtml(short(anchor.transaction))}</code> (block ${anchor.blockNumber}): checkpoint of ${anchor.size} entries, root <code title="${escapeHtml(anchor.root)}">${escapeHtml(short(anchor.root))}</code>: <span class="status status-${anchor.status === 'verified' ? 'ok' : 'bad'}">${label}</span> <small>${escapeHtml(anchor.reason)}</small></li>`
}

function badge(verification: Verification): string {
  const check = (name: string, ok: boolean, label: string) =>
    `<li id="check-${name}" data-ok="${ok}">${label}: <span class="status status-${ok ? 'ok' : 'bad'}">${ok ? 'ok' : 'failed'}</span></li>`
  const failure = verification.firstFailure
  return `<section id="badge" data-ok="${verification.ok}" aria-labelledby="verdict">
<h2 id="verdict">${verification.ok ? 'Verified' : 'Verification failed'}</h2>
<ul>
${check('chain', verification.checks.chain, 'Hash chain')}
${check('signatures', verification.checks.signatures, 'Signatures')}
${check('checkpoints', verification.checks.checkpoints, `Merkle checkpoints (${verification.checkpoints})`)}
${check('receipts', verification.checks.receipts, 'Receipts')}
${
  verification.anchors.length === 0
    ? '<li id="check-anchors" data-ok="true">Anchors: none</li>'
    : `${check('anchors', verification.checks.anchors, `Anchors (${verification.anchors.length})`)}
<li><ul id="anchors">${verification.anchors.map(anchorItem).join('')}</ul></li>`
}
</ul>
${failure ? `<p id="failing-entry" role="alert">Fails at ${failure.seq !== undefined ? `<a href="#entry-${failure.seq}">entry #${failure.seq}</a>` : `line ${failure.line}`} (${escapeHtml(failure.what)}, ${escapeHtml(failure.field)}): ${escapeHtml(failure.reason)}</p>` : ''}
<p>Signed by <code>${escapeHtml(verification.agents.join(', '))}</code>; root <code>${escapeHtml(short(verification.root))}</code>; <span id="complete">${verification.complete ? 'complete' : 'not ended'}</span>.</p>
</section>`
}

/**
 * The web trace explorer: a sign-in page (the credential goes into an HttpOnly SameSite=Strict cookie), the runs
 * list and a run's timeline with its verification badge, updated live over SSE by a little vanilla script.
 *
 * @example
 * ```ts
 * explorerRoutes.map((route) => route.path)
 * ```
 */
export const explorerRoutes: DaemonRoute<DaemonServices>[] = [
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/explorer/login',
    summary: 'Explorer sign-in page',
    access: 'public',
    produces: 'text/html',
    handler: ({ c }) =>
      c.html(
        explorerPage({
          title: 'Sign in',
          body: `<h1>Sign in</h1>
<form method="post" action="/explorer/login">
<label for="credential">API token or wallet session</label><br>
<input id="credential" name="credential" type="password" autocomplete="off" required size="60">
<button type="submit">Open the explorer</button>
</form>`,
        }),
      ),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/explorer/login',
    summary: 'Explorer sign-in: checks the credential and keeps it in an HttpOnly cookie',
    access: 'public',
    produces: 'text/html',
    handler: async ({ c, services }) => {
      if (Number(c.req.header('content-length') ?? '0') > 8192) throw new PayloadTooLargeError('Sign-in form too large')
      const form = await c.req.parseBody()
      const credential = typeof form.credential === 'string' ? form.credential.trim() : ''
      if (!credential) throw new UnauthenticatedError('No credential')
      const principal = principalOf(services, credential)
      services.limiter.take(principal.credentialId)
      setCookie(c, EXPLORER_COOKIE, credential, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: 8 * 3600 })
      return c.redirect('/explorer', 303)
    },
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/explorer/assets/explorer.css',
    summary: 'Explorer stylesheet',
    access: 'authenticated',
    produces: 'text/css',
    handler: ({ c }) => c.body(EXPLORER_CSS, 200, { 'content-type': 'text/css; charset=utf-8' }),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/explorer/assets/explorer.js',
    summary: 'Explorer script',
    access: 'authenticated',
    produces: 'text/javascript',
    handler: ({ c }) => c.body(EXPLORER_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/explorer',
    summary: 'Explorer: your runs',
    access: read,
    produces: 'text/html',
    handler: ({ c, principal, services }) => {
      const runs = services.runs.list(principal.owner)
      const rows = runs
        .map(
          (run) =>
            `<tr><td><a href="/explorer/runs/${escapeHtml(run.id)}">${escapeHtml(run.id)}</a></td><td>${escapeHtml(run.kind)}</td><td>${escapeHtml(run.agent ?? '')}</td><td class="status status-${run.status === 'completed' ? 'ok' : run.status === 'running' ? 'pending' : 'bad'}">${escapeHtml(run.status)}</td><td>${escapeHtml(run.startedAt)}</td></tr>`,
        )
        .join('\n')
      return c.html(
        explorerPage({
          title: 'Runs',
          body: `<h1>Runs</h1>
<table><caption>Runs of ${escapeHtml(principal.owner)}, newest first</caption>
<thead><tr><th scope="col">Run</th><th scope="col">Kind</th><th scope="col">Agent</th><th scope="col">Status</th><th scope="col">Started</th></tr></thead>
<tbody>${rows || '<tr><td colspan="5">No runs yet.</td></tr>'}</tbody></table>`,
        }),
      )
    },
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/explorer/runs/:run',
    summary: "Explorer: a run's timeline and verification badge",
    access: read,
    owned: 'run',
    produces: 'text/html',
    handler: async ({ c, principal, services, params }) => {
      const run = services.runs.owned(params.run!, principal.owner)
      const { entries, verification } = await runTimeline(services, run.id)
      const rows = entries
        .map((entry) => {
          const receipt = entry.refs.some((ref) => ref.type === 'receipt')
          const status = entry.receiptStatus ?? (receipt ? 'pending' : '')
          return `<tr id="entry-${entry.seq}" tabindex="-1"><td>${entry.seq}</td><td>${escapeHtml(entry.time)}</td><td class="kind">${escapeHtml(entry.kind)}</td><td>${links(entry)}</td><td>${bodyCell(entry)}</td><td>${receipt ? `<span class="status status-${escapeHtml(status)}" data-receipt-for="${entry.seq}" data-status="${escapeHtml(status)}">${escapeHtml(status)}</span>` : ''}</td></tr>`
        })
        .join('\n')
      return c.html(
        explorerPage({
          title: `Run ${run.id}`,
          script: true,
          body: `<p><a href="/explorer">← All runs</a></p>
<h1>Run <code>${escapeHtml(run.id)}</code></h1>
<p>${escapeHtml(run.kind)}${run.agent ? ` · agent ${escapeHtml(run.agent)}` : ''} · status <strong id="run-status">${escapeHtml(run.status)}</strong></p>
${badge(verification)}
<p id="live" role="status" aria-live="polite"></p>
<p id="more" hidden><span>0</span> new entries since this page loaded: <a href="">reload</a></p>
<table id="timeline" data-run="${escapeHtml(run.id)}"><caption>Timeline: every signed decision, in order</caption>
<thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Links</th><th scope="col">Body</th><th scope="col">Receipt</th></tr></thead>
<tbody>${rows}</tbody></table>`,
        }),
      )
    },
  }),
]
