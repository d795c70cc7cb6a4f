import { z } from 'zod'
import { fromBase64, toBase64 } from '../../crypto/bytes.js'
import { receiptSchema } from '../../proofs/index.js'
import type { DaemonServices } from '../daemon-services.js'
import { inferRequestSchema, verifyRequestSchema } from '../inference-service.js'
import { type DaemonRoute, defineRoute } from '../route.js'
import { sseResponse } from '../sse.js'

/**
 * Inference routes: models, infer (witness output at once, proof in the background), receipt status and events, verify.
 *
 * @example
 * ```ts
 * inferenceRoutes.map((route) => route.path)
 * ```
 */
export const inferenceRoutes: DaemonRoute<DaemonServices>[] = [
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/models',
    summary: 'List the model packages the daemon can run',
    access: { level: 'read', resource: 'agent' },
    response: z.object({ models: z.array(z.object({ name: z.string(), version: z.string(), digest: z.string() })) }),
    handler: ({ services }) => ({ models: services.inference.models() }),
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/infer',
    summary: "Run a model; answers with the proven output and a pending receipt, proven by the daemon's prover backend",
    access: { level: 'write', resource: 'agent' },
    body: inferRequestSchema,
    response: z.object({ output: z.array(z.array(z.number())), receipt: receiptSchema }),
    handler: ({ principal, services, body }) =>
      services.inference.infer({ owner: principal.owner, request: body as z.infer<typeof inferRequestSchema> }),
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/receipts/:receipt',
    summary: 'A receipt the caller asked for, with its proof (base64) once proven',
    access: { level: 'read', resource: 'agent' },
    owned: 'receipt',
    response: z.object({ receipt: receiptSchema, proof: z.string().optional() }),
    handler: ({ principal, services, params }) => {
      const { receipt, proof } = services.inference.receipt(principal.owner, params.receipt!)
      return { receipt, ...(proof ? { proof: toBase64(proof) } : {}) }
    },
  }),
  defineRoute<DaemonServices>({
    method: 'get',
    path: '/v1/receipts/:receipt/events',
    summary: "Stream a receipt's status changes (pending → verified or failed) as Server-Sent Events",
    access: { level: 'read', resource: 'agent' },
    owned: 'receipt',
    produces: 'text/event-stream',
    handler: ({ c, principal, services, params }) => {
      const { receipt } = services.inference.receipt(principal.owner, params.receipt!)
      const settledStatus = (status: string) => status === 'verified' || status === 'failed'
      return sseResponse(c, {
        subscribe: (send) =>
          services.inference.subscribe((owner, changed) => {
            if (owner === principal.owner && changed.id === receipt.id)
              send('receipt', { id: changed.id, status: changed.status })
          }),
        initial: () => {
          const now = services.inference.receipt(principal.owner, receipt.id).receipt
          return [{ event: 'receipt', data: { id: now.id, status: now.status } }]
        },
        isLast: (_event, data) => settledStatus((data as { status: string }).status),
      })
    },
  }),
  defineRoute<DaemonServices>({
    method: 'post',
    path: '/v1/verify',
    summary: 'Verify a receipt and its proof against the model package (offline, nothing else trusted)',
    access: { level: 'read', resource: 'agent' },
    body: verifyRequestSchema,
    response: z.object({ valid: z.boolean(), checks: z.array(z.object({ name: z.string(), ok: z.boolean() }).passthrough()) }),
    handler: async ({ services, body }) => {
      const input = body as z.infer<typeof verifyRequestSchema>
      const result = await services.inference.verify({ receipt: input.receipt, proof: fromBase64(input.proof) })
      return { valid: result.valid, checks: result.checks }
    },
  }),
]
