import { RateLimitedError } from '../errors.js'

export type RateLimiter = {
  /** Takes one request from the credential's bucket; throws `RateLimitedError` when it is empty. */
  take(credentialId: string): void
}
export type CreateRateLimiterParameters = {
  /** Sustained requests per second per credential. */
  perSecond: number
  /** Burst size (default: 2 × perSecond). */
  burst?: number | undefined
  now?: (() => number) | undefined
}
export type CreateRateLimiterReturnType = RateLimiter

/**
 * A token bucket per credential (token id or wallet session), kept in memory.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ perSecond: 50 })
 * limiter.take('token:0123456789abcdef')
 * ```
 */
export function createRateLimiter(parameters: CreateRateLimiterParameters): CreateRateLimiterReturnType {
  const { perSecond, burst = perSecond * 2, now = Date.now } = parameters
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    take(credentialId) {
      const time = now()
      const bucket = buckets.get(credentialId) ?? { tokens: burst, at: time }
      bucket.tokens = Math.min(burst, bucket.tokens + ((time - bucket.at) / 1000) * perSecond)
      bucket.at = time
      buckets.set(credentialId, bucket)
      if (bucket.tokens < 1)
        throw new RateLimitedError('Rate limit exceeded', {
          details: `${perSecond} requests per second per credential`,
          hint: 'Slow down and retry after the Retry-After delay.',
        })
      bucket.tokens -= 1
    },
  }
}
