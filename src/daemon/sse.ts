import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'

export type SseSource = {
  /** Subscribe to events; returns the unsubscribe function. */
  subscribe(send: (event: string, data: unknown) => void): () => void
  /** Events to send first (the state so far), so a late subscriber misses nothing. */
  initial?: (() => { event: string; data: unknown }[]) | undefined
  /** Close the stream after an event for which this returns true. */
  isLast?: ((event: string, data: unknown) => boolean) | undefined
}

/** Open streams (the daemon waits for none of them on shutdown, but counts them). */
let openStreams = 0

/**
 * Answers with a Server-Sent Events stream fed by `source`, with keep-alive comments, ending when the client goes
 * away, the source says it is done, or the daemon aborts `signal`.
 *
 * @example
 * ```ts
 * return sseResponse(c, { subscribe: (send) => runs.subscribe(id, (event) => send(event.type, event)) })
 * ```
 */
export function sseResponse(c: Context, source: SseSource, signal?: AbortSignal | undefined): Response {
  return streamSSE(c, async (stream) => {
    openStreams += 1
    let finish: () => void = () => undefined
    const finished = new Promise<void>((resolve) => {
      finish = resolve
    })
    let id = 0
    const queue: { event: string; data: unknown }[] = []
    let writing = Promise.resolve()
    const send = (event: string, data: unknown) => {
      queue.push({ event, data })
      writing = writing.then(async () => {
        const next = queue.shift()
        if (!next || stream.aborted) return
        await stream.writeSSE({ event: next.event, data: JSON.stringify(next.data), id: String(id++) })
        if (source.isLast?.(next.event, next.data)) finish()
      })
    }
    const unsubscribe = source.subscribe(send)
    for (const item of source.initial?.() ?? []) send(item.event, item.data)
    const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => finish()), 15_000)
    stream.onAbort(() => finish())
    signal?.addEventListener('abort', () => finish(), { once: true })
    try {
      await finished
      await writing
    } finally {
      clearInterval(keepAlive)
      unsubscribe()
      openStreams -= 1
    }
  })
}

/**
 * How many SSE streams are open now (for the benchmark and the shutdown log).
 *
 * @example
 * ```ts
 * openSseStreams() // 0
 * ```
 */
export function openSseStreams(): number {
  return openStreams
}
