import { EventEmitter } from 'node:events'
import type { ProverBackend, ProverBackendEvents } from './prover-backend.js'

export type BackendEventsReturnType = {
  /** Emits a typed backend event to the listeners added with the backend's `on`. */
  emit<E extends keyof ProverBackendEvents>(event: E, ...args: ProverBackendEvents[E]): void
  /**
   * The backend's `on` and `off`: they add and remove listeners and return the backend (for chaining).
   * `backend` is read when they are called, so the methods can be spread into the object they return.
   */
  methods(backend: () => ProverBackend): Pick<ProverBackend, 'on' | 'off'>
}

/**
 * The event plumbing every prover backend shares: typed `emit` for the implementation, `on`/`off`
 * for its callers, over one `EventEmitter`. A custom backend uses it the same way.
 *
 * @example
 * ```ts
 * const events = backendEvents()
 * const backend: ProverBackend = {
 *   ...events.methods(() => backend),
 *   async prove(parameters) {
 *     events.emit('proof-started', { jobId: parameters.receiptId ?? 'local' })
 *     // ...
 *   },
 *   // verify, capacity, models, close...
 * }
 * ```
 */
export function backendEvents(): BackendEventsReturnType {
  const emitter = new EventEmitter()
  return {
    emit(event, ...args) {
      emitter.emit(event, ...args)
    },
    methods(backend) {
      return {
        on(event, listener) {
          emitter.on(event, listener as (...args: unknown[]) => void)
          return backend()
        },
        off(event, listener) {
          emitter.off(event, listener as (...args: unknown[]) => void)
          return backend()
        },
      }
    },
  }
}
