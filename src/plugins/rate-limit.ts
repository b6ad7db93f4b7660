import { Elysia } from 'elysia'
import { clientSource } from '../http/client-source'
import { GcraLimiter, type RateDecision, type RateLimiter } from '../http/gcra'
import { rateLimited } from '../http/errors'
import { requestState } from '../http/request-state'

type HeaderBag = Record<string, string | number>

/** When both limits apply, the headers describe the tighter one. */
const tighter = new WeakMap<Request, RateDecision>()

function report(request: Request, headers: HeaderBag, decision: RateDecision): void {
  const previous = tighter.get(request)
  if (previous && previous.remaining <= decision.remaining && decision.allowed) return
  tighter.set(request, decision)
  headers['x-ratelimit-limit'] = String(decision.limit)
  headers['x-ratelimit-remaining'] = String(decision.remaining)
  headers['x-ratelimit-reset'] = String(decision.reset)
  if (!decision.allowed) throw rateLimited(decision.retryAfter)
}

/**
 * Per client IP (an IPv6 client by its /64: src/http/client-source.ts), counted before authentication so
 * that a flood of bad keys is limited too. In memory, each process counts on its own; with Redis
 * (src/redis/rate-limiter.ts) every replica shares the count, under the same client key.
 * The in-memory limiter answers synchronously, and its hook stays synchronous: Elysia awaits an async one.
 */
export const ipRateLimit = (perMinute: number | undefined, limiter: RateLimiter = new GcraLimiter()) =>
  new Elysia({ name: 'rate-limit-ip', seed: perMinute }).onRequest(
    limiter instanceof GcraLimiter
      ? ({ request, set }) => {
        if (!perMinute) return
        report(request, set.headers as HeaderBag, limiter.hit(clientOf(request), perMinute))
      }
      : async ({ request, set }) => {
        if (!perMinute) return
        let decision: RateDecision
        try {
          decision = await limiter.hit(clientOf(request), perMinute)
        } catch (error) {
          // A shared limiter that cannot count (Redis down, failure mode closed) refuses requests, but not the
          // probes that must be able to tell an operator so.
          if (MONITORING.has(requestState(request).path)) return
          throw error
        }
        report(request, set.headers as HeaderBag, decision)
      },
  )

const MONITORING = new Set(['/health', '/metrics'])

const clientOf = (request: Request) => clientSource(requestState(request).clientIp) ?? 'unknown'

/** A key's own `rpm_limit`, after authentication (which is what tells us the key). */
export const keyRateLimit = (limiter: RateLimiter = new GcraLimiter()) =>
  new Elysia({ name: 'rate-limit-key' }).onRequest(
    limiter instanceof GcraLimiter
      ? ({ request, set }) => {
        const caller = requestState(request).caller
        if (caller?.kind !== 'key' || !caller.rpmLimit) return
        report(request, set.headers as HeaderBag, limiter.hit(caller.keyId, caller.rpmLimit))
      }
      : async ({ request, set }) => {
        const caller = requestState(request).caller
        if (caller?.kind !== 'key' || !caller.rpmLimit) return
        report(request, set.headers as HeaderBag, await limiter.hit(caller.keyId, caller.rpmLimit))
      },
  )
