/**
 * An HTTP client on its own thread, for benchmarks that time a server's round trips the way another process sees them:
 * the client's own work (building the request, parsing the answer) runs on this thread's event loop, not on the
 * server's. Node's `node:http` client on one keep-alive socket per server, over loopback TCP.
 *
 * Started with {@link startHttpClientWorker}; each `request` is timed on this thread, from just before the request is
 * written until its JSON answer is parsed, and the time comes back with the parsed answer's result count.
 *
 * @example
 * ```ts
 * const client = await startHttpClientWorker({ headers: { authorization: `Bearer ${token}` } })
 * const { ms, results } = await client.request({ url: `${daemon.url}/v1/vaults/bench/search`, body: { query: 'tea', k: 10 } })
 * await client.close()
 * ```
 */
import { Agent, request as httpRequest } from 'node:http'
import { performance } from 'node:perf_hooks'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'

/** One POST the worker sends and times. */
export type HttpClientRequest = { url: string; body: unknown }
/** Its round trip in milliseconds (timed on the client's thread) and the length of the answer's `results` array. */
export type HttpClientAnswer = { ms: number; results: number }

export type StartHttpClientWorkerParameters = { headers: Record<string, string> }
export type StartHttpClientWorkerReturnType = {
  request(parameters: HttpClientRequest): Promise<HttpClientAnswer>
  close(): Promise<void>
}

type Message = { id: number } & HttpClientRequest
type Reply = { id: number } & ({ ok: true; answer: HttpClientAnswer } | { ok: false; error: string })

/**
 * Starts the client thread (this file, loaded through tsx's loader so it stays TypeScript).
 *
 * @example
 * ```ts
 * const client = await startHttpClientWorker({ headers: { authorization: `Bearer ${token}` } })
 * ```
 */
export async function startHttpClientWorker(
  parameters: StartHttpClientWorkerParameters,
): Promise<StartHttpClientWorkerReturnType> {
  // A worker's entry file does not go through the main thread's loader hooks on Node 20: register tsx there first.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}) })`
  const worker = new Worker(boot, { eval: true, workerData: { headers: parameters.headers } })
  const pending = new Map<number, { resolve: (answer: HttpClientAnswer) => void; reject: (error: Error) => void }>()
  let failed: Error | undefined
  worker.on('message', (reply: Reply | { ready: true }) => {
    if (!('id' in reply)) return
    const waiter = pending.get(reply.id)
    pending.delete(reply.id)
    if (reply.ok) waiter?.resolve(reply.answer)
    else waiter?.reject(new Error(reply.error))
  })
  const fail = (error: Error) => {
    failed = error
    for (const waiter of pending.values()) waiter.reject(error)
    pending.clear()
  }
  worker.on('error', fail)
  await new Promise<void>((ready, reject) => {
    worker.once('message', () => ready())
    worker.once('error', reject)
  })
  let next = 0
  return {
    request(request) {
      if (failed) return Promise.reject(failed)
      const id = next++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        worker.postMessage({ id, ...request } satisfies Message)
      })
    },
    async close() {
      await worker.terminate()
    },
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort
  const { headers } = workerData as { headers: Record<string, string> }
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const post = (url: string, body: unknown) =>
    new Promise<HttpClientAnswer>((resolve, reject) => {
      const started = performance.now()
      const data = JSON.stringify(body)
      const request = httpRequest(
        url,
        {
          method: 'POST',
          agent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => {
            if (response.statusCode !== 200) return reject(new Error(`POST ${new URL(url).pathname}: ${response.statusCode}`))
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { results: unknown[] }
            resolve({ ms: performance.now() - started, results: parsed.results.length })
          })
        },
      )
      request.on('error', reject)
      request.end(data)
    })
  port.on('message', (message: Message) => {
    post(message.url, message.body).then(
      (answer) => port.postMessage({ id: message.id, ok: true, answer } satisfies Reply),
      (error: Error) => port.postMessage({ id: message.id, ok: false, error: error.message } satisfies Reply),
    )
  })
  port.postMessage({ ready: true })
}
