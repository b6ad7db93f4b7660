import { Elysia } from 'elysia'
import { GcraLimiter, type RateDecision } from '../http/gcra'
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
 * Per client IP, counted before authentication so that a flood of bad keys is limited too. In memory:
 * each process counts on its own (several replicas need a shared backend).
 */
export const ipRateLimit = (perMinute: number | undefined, limiter = new GcraLimiter()) =>
  new Elysia({ name: 'rate-limit-ip', seed: perMinute }).onRequest(({ request, set }) => {
    if (!perMinute) return
    const ip = requestState(request).clientIp ?? 'unknown'
    report(request, set.headers as HeaderBag, limiter.hit(ip, perMinute))
  })

/** A key's own `rpm_limit`, after authentication (which is what tells us the key). */
export const keyRateLimit = (limiter = new GcraLimiter()) =>
  new Elysia({ name: 'rate-limit-key' }).onRequest(({ request, set }) => {
    const caller = requestState(request).caller
    if (caller?.kind !== 'key' || !caller.rpmLimit) return
    report(request, set.headers as HeaderBag, limiter.hit(caller.keyId, caller.rpmLimit))
  })
