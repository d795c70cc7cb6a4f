/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

/**
 * A complete explorer page: shared head, skip link, header and main landmark.
 *
 * @example
 * ```ts
 * explorerPage({ title: 'Runs', body: '<p>none</p>' })
 * ```
 */
export function explorerPage(parameters: { title: string; body: string; script?: boolean | undefined }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(parameters.title)} · Verity explorer</title>
<link rel="stylesheet" href="/explorer/assets/explorer.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><a href="/explorer" class="brand">Verity trace explorer</a></header>
<main id="main" tabindex="-1">
${parameters.body}
</main>
${parameters.script ? '<script src="/explorer/assets/explorer.js" defer></script>' : ''}
</body>
</html>`
}
