import type { Context } from 'hono'
import { InvalidInputError, isVerityError, PayloadTooLargeError, type VerityError } from '../errors.js'

/** HTTP status for each Verity error code the daemon answers with; anything else is 500. */
const STATUS_BY_CODE: Record<string, number> = {
  VERITY_INVALID_INPUT: 400,
  VERITY_UNAUTHENTICATED: 401,
  VERITY_ACCESS_DENIED: 403,
  VERITY_WRONG_KEY: 403,
  VERITY_NOT_FOUND: 404,
  VERITY_INVALID_STATE: 409,
  VERITY_VAULT_LOCKED: 409,
  VERITY_TRACE_LOCKED: 409,
  VERITY_PAYLOAD_TOO_LARGE: 413,
  VERITY_UNSUPPORTED_FORMAT: 415,
  VERITY_EMBEDDER_MISMATCH: 422,
  VERITY_INTEGRITY: 422,
  VERITY_PROOF: 422,
  VERITY_MODEL_PACKAGE: 422,
  VERITY_POLICY: 422,
  VERITY_RATE_LIMITED: 429,
  VERITY_PROVER_BUSY: 503,
  VERITY_ABORTED: 499,
}

/**
 * The HTTP status for an error thrown by a route (a typed `VerityError` keeps its meaning; a bug is 500).
 *
 * @example
 * ```ts
 * httpStatusOf(new NotFoundError('No such vault')) // 404
 * ```
 */
export function httpStatusOf(error: unknown): number {
  if (isVerityError(error)) return STATUS_BY_CODE[(error as VerityError).code] ?? 422
  return 500
}

/** The JSON body of an error answer: the typed error without stack or cause (so no secret leaks). */
export type ErrorBody = { error: Record<string, unknown> }

/**
 * Answers a request with a typed error: `{ error: { name, code, shortMessage, details, hint } }` and its status.
 * A non-Verity error is reported as an internal error without its message (it may hold anything).
 *
 * @example
 * ```ts
 * app.onError((error, c) => errorResponse(c, error))
 * ```
 */
export function errorResponse(c: Context, error: unknown): Response {
  const status = httpStatusOf(error)
  const body: ErrorBody = isVerityError(error)
    ? { error: (error as VerityError).toJSON() }
    : { error: { name: 'InternalError', code: 'VERITY_INTERNAL', shortMessage: 'Internal error', hint: 'See the daemon log.' } }
  if (status === 429) c.header('Retry-After', '1')
  return c.json(body, status as 500)
}

/**
 * Reads a JSON request body with a size bound, throwing typed errors for oversized or malformed bodies.
 *
 * @example
 * ```ts
 * const body = await readJsonBody(c.req.raw, 1_048_576)
 * ```
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const length = request.headers.get('content-length')
  const declared = length !== null && /^[0-9]{1,15}$/.test(length) ? Number(length) : undefined
  const tooLarge = () =>
    new PayloadTooLargeError('Request body too large', {
      details: `limit ${maxBytes} bytes`,
      hint: 'Send a smaller body, or raise maxBodyBytes in the daemon config.',
    })
  if (declared !== undefined && declared > maxBytes) throw tooLarge()
  // With a Content-Length the HTTP parser delivers exactly that many bytes, so the body is bounded already: read it
  // whole (hono's node adapter then reads the socket directly, without building a web stream). Without one
  // (chunked), count while streaming.
  if (declared !== undefined) return parseJsonText(await request.text())
  if (!request.body) return undefined
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge()
    }
    chunks.push(value)
  }
  return parseJsonText(Buffer.concat(chunks).toString('utf8'))
}

function parseJsonText(text: string): unknown {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    throw new InvalidInputError('Request body is not valid JSON', {
      details: (cause as Error).message,
      hint: 'Send a JSON body with Content-Type: application/json.',
    })
  }
}
