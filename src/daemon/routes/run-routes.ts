import { z } from 'zod'
import type { DaemonServices } from '../daemon-services.js'
import { type DaemonRoute, defineRoute } from '../route.js'
import { runRecordSchema } from '../run-store.js'
import { revealEntry, revealedEntrySchema, runTimeline, timelineEntrySchema, verificationSchema, verifyRun } from '../run-view.js'
import { sseResponse } from '../sse.js'

const read = { level: 'read', resource: 'agent' } as const

/**
 * Trace routes: list runs, a run's status and timeline, verification, live events (SSE), reveal for the owner.
 *
 * @example
 * ```ts
 * runRoutes.map((route) => route.path)
 * ```
 */
export const runRoutes: DaemonRoute<DaemonServices>[] = [
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/runs',
    summary: "List the caller's runs (agent runs and MCP sessions), newest first",
    access: read,
    response: z.object({ runs: z.array(runRecordSchema) }),
    handler: ({ principal, services }) => ({ runs: services.runs.list(principal.owner) }),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/runs/:run',
    summary: "A run's status",
    access: read,
    owned: 'run',
    response: runRecordSchema,
    handler: ({ principal, services, params }) => services.runs.owned(params.run!, principal.owner),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/runs/:run/entries',
    summary: "A run's trace timeline: kinds, links, receipt status (sealed bodies left out)",
    access: read,
    owned: 'run',
    response: z.object({ entries: z.array(timelineEntrySchema), verification: verificationSchema }),
    handler: ({ principal, services, params }) => {
      services.runs.owned(params.run!, principal.owner)
      return runTimeline(services, params.run!)
    },
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/runs/:run/verify',
    summary: "Verify a run's trace: chain, signatures, checkpoints and linked receipts",
    access: read,
    owned: 'run',
    response: verificationSchema,
    handler: async ({ principal, services, params }) => {
      services.runs.owned(params.run!, principal.owner)
      return (await verifyRun(services, params.run!)).verification
    },
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/runs/:run/reveal',
    summary:
      "Reveal the sealed body of an entry to the run's owner, with the key kept in their open vault (a read-only token is refused)",
    // Personal bodies are for the owner's working credential, not for read-only (dashboard, auditor) tokens.
    access: { level: 'write', resource: 'vault' },
    owned: 'run',
    body: z.object({ seq: z.number().int().nonnegative() }),
    response: revealedEntrySchema,
    handler: ({ principal, services, params, body }) =>
      revealEntry(services, { runId: params.run!, owner: principal.owner, seq: (body as { seq: number }).seq }),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/runs/:run/events',
    summary: 'Stream a run as Server-Sent Events: each trace entry as it lands, then its final status',
    access: read,
    owned: 'run',
    produces: 'text/event-stream',
    handler: ({ c, principal, services, params }) => {
      const run = services.runs.owned(params.run!, principal.owner)
      const finalStatus = (event: string, data: unknown) =>
        event === 'status' && (data as { status?: string }).status !== 'running'
      return sseResponse(c, {
        subscribe: (send) => services.runs.subscribe(run.id, (event) => send(event.type, event)),
        initial: () => {
          const now = services.runs.get(run.id)
          return now && now.status !== 'running' ? [{ event: 'status', data: { type: 'status', status: now.status } }] : []
        },
        isLast: finalStatus,
      })
    },
  }),
]
