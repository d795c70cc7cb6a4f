/** The explorer's stylesheet: plain CSS, visible focus, works without JavaScript. */
export const EXPLORER_CSS = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --pending: #9a6700; font-family: system-ui, sans-serif; }
body { margin: 0; line-height: 1.45; }
header { padding: .6rem 1rem; border-bottom: 1px solid #8884; }
.brand { font-weight: 600; text-decoration: none; }
main { padding: 1rem; max-width: 72rem; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: Canvas; padding: .3rem; }
a:focus-visible, button:focus-visible, input:focus-visible, tr:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #8883; vertical-align: top; }
code { font-size: .85em; word-break: break-all; }
.status { font-weight: 600; } .status-verified, .status-ok { color: var(--ok); } .status-failed, .status-bad { color: var(--bad); }
.status-pending, .status-proven, .status-unchecked { color: var(--pending); }
#badge { border: 2px solid #8886; border-radius: .4rem; padding: .5rem 1rem; margin: 1rem 0; }
#badge[data-ok="true"] { border-color: var(--ok); } #badge[data-ok="false"] { border-color: var(--bad); }
#badge ul { list-style: none; padding: 0; display: flex; gap: 1.5rem; flex-wrap: wrap; }
.kind { font-family: ui-monospace, monospace; } .sealed { font-style: italic; opacity: .8; }
`

/** The explorer's script: live updates over SSE and owner-only reveal; no framework, no build step. */
export const EXPLORER_JS = `
(() => {
  const timeline = document.getElementById('timeline');
  if (!timeline) return;
  const runId = timeline.dataset.run;
  const live = document.getElementById('live');
  const say = (text) => { if (live) live.textContent = text; };
  async function refresh() {
    const response = await fetch('/v1/runs/' + encodeURIComponent(runId) + '/entries', { credentials: 'same-origin' });
    if (!response.ok) return;
    const { entries, verification } = await response.json();
    let newEntries = 0;
    for (const entry of entries) {
      const cell = document.querySelector('[data-receipt-for="' + entry.seq + '"]');
      if (cell && entry.receiptStatus && cell.dataset.status !== entry.receiptStatus) {
        cell.dataset.status = entry.receiptStatus;
        cell.textContent = entry.receiptStatus;
        cell.className = 'status status-' + entry.receiptStatus;
        say('Receipt of entry ' + entry.seq + ' is now ' + entry.receiptStatus);
      }
      if (!document.getElementById('entry-' + entry.seq)) newEntries += 1;
    }
    const more = document.getElementById('more');
    if (more && newEntries > 0) { more.hidden = false; more.querySelector('span').textContent = String(newEntries); }
    const badge = document.getElementById('badge');
    if (badge) {
      badge.dataset.ok = String(verification.ok);
      const complete = document.getElementById('complete');
      if (complete) complete.textContent = verification.complete ? 'complete' : 'not ended';
      const verdict = document.getElementById('verdict');
      if (verdict) verdict.textContent = verification.ok ? 'Verified' : 'Verification failed';
      for (const [name, ok] of Object.entries(verification.checks)) {
        const item = document.getElementById('check-' + name);
        const status = item && item.querySelector('.status');
        if (status) { item.dataset.ok = String(ok); status.textContent = ok ? 'ok' : 'failed';
          status.className = 'status status-' + (ok ? 'ok' : 'bad'); }
      }
    }
  }
  const events = new EventSource('/v1/runs/' + encodeURIComponent(runId) + '/events');
  events.addEventListener('entry', () => { refresh(); });
  events.addEventListener('status', (event) => {
    const data = JSON.parse(event.data); const status = document.getElementById('run-status');
    if (status) status.textContent = data.status; refresh(); events.close();
  });
  for (const button of document.querySelectorAll('button[data-reveal]')) {
    button.addEventListener('click', async () => {
      const seq = Number(button.dataset.reveal);
      const response = await fetch('/v1/runs/' + encodeURIComponent(runId) + '/reveal', {
        method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seq }) });
      const target = document.getElementById('body-' + seq);
      if (!response.ok) {
        const error = await response.json().catch(() => undefined);
        const reason = error && error.error ? error.error.shortMessage + (error.error.hint ? ' ' + error.error.hint : '') : '';
        target.textContent = 'not revealed (' + response.status + ') ' + reason; return;
      }
      const { body } = await response.json();
      const pre = document.createElement('pre'); pre.textContent = JSON.stringify(body, null, 2);
      target.replaceChildren(pre); target.classList.remove('sealed'); button.remove();
    });
  }
})();
`
