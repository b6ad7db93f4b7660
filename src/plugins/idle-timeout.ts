import { Elysia } from 'elysia'
import { idleTimeoutBackWithResponse } from '../http/idle-timeout'

/**
 * Gives a request's connection the idle timeout back when its route switched it off (src/http/idle-timeout.ts).
 * A map-response hook, which runs for a route's answer and for its error response alike, before Bun
 * sends it: an after-response hook runs too late, Bun then ignores the change.
 */
export const idleTimeoutRestore = () =>
  new Elysia({ name: 'idle-timeout' }).mapResponse({ as: 'global' }, ({ request }) => {
    idleTimeoutBackWithResponse(request)
  })
