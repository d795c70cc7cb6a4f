import { z } from 'zod'
import { NotFoundError } from '../../errors.js'
import { type CreateAgentRequest, createAgentRequestSchema, runAgentRequestSchema } from '../agent-host.js'
import type { DaemonServices } from '../daemon-services.js'
import { type DaemonRoute, defineRoute } from '../route.js'

const agentSummary = z.object({ name: z.string(), kind: z.string(), createdAt: z.string() })

/**
 * Agent routes: create from a definition (or a script, admin only), list, run a task, cancel a run.
 * A run's steps stream from `GET /v1/runs/{run}/events`.
 *
 * @example
 * ```ts
 * agentRoutes.map((route) => route.path)
 * ```
 */
export const agentRoutes: DaemonRoute<DaemonServices>[] = [
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/agents',
    summary: "List the caller's agents",
    access: { level: 'read', resource: 'agent' },
    response: z.object({ agents: z.array(agentSummary) }),
    handler: ({ principal, services }) => ({ agents: services.agents.list(principal.owner) }),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/agents',
    summary: 'Create an agent from a definition (tools, proof policy, vault) or a script on the daemon host (admin)',
    access: { level: 'write', resource: 'agent' },
    body: createAgentRequestSchema,
    response: agentSummary,
    handler: ({ principal, services, body }) => services.agents.create(principal, body as CreateAgentRequest),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/agents/:agent/runs',
    summary: 'Run a task; answers with the run id at once (stream it from /v1/runs/{run}/events)',
    access: { level: 'write', resource: 'agent' },
    owned: 'agent',
    body: runAgentRequestSchema,
    response: z.object({ runId: z.string() }),
    handler: ({ principal, services, params, body }) =>
      services.agents.run(principal, params.agent!, (body as { task: string }).task),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/runs/:run/cancel',
    summary: 'Cancel a running agent run (its trace ends as cancelled)',
    access: { level: 'write', resource: 'agent' },
    owned: 'run',
    response: z.object({ cancelled: z.boolean() }),
    handler: ({ principal, services, params }) => {
      services.runs.owned(params.run!, principal.owner)
      const cancelled = services.agents.cancel(principal.owner, params.run!)
      if (!cancelled) throw new NotFoundError('The run is not running', { details: params.run })
      return { cancelled }
    },
  }),
]
