import { Elysia } from 'elysia'
import type { Server } from 'bun'
import { withoutPort } from '../http/client-source'
import { badRequest, wireFormatOf } from '../http/errors'
import { createRequestState, peekRequestState } from '../http/request-state'
import { whenAnswered } from '../http/streamed-answer'

/**
 * Bun hands the app an absolute URL (`http://host/path?query`) when the request has a valid Host, and the
 * target as sent (`/path?query`, origin-form) when it has none (HTTP/1.0) or one that is no host (`a/b`).
 */
const isOriginForm = (url: string) => url.charCodeAt(0) === 47 /* / */

/**
 * The path without the query, cheaply, from either form: the router and every later plugin see the same
 * string. In origin-form the path starts at the first character (`//y/health` is a path, not an authority).
 */
export function pathOf(url: string): string {
  const start = isOriginForm(url) ? 0 : url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  const query = url.indexOf('?', start)
  return query === -1 ? url.slice(start) : url.slice(start, query)
}

/**
 * With a trusted proxy the client is the right-most X-Forwarded-For entry (without a port written with it):
 * that one was added by our proxy, while anything to its left is whatever the client chose to send.
 */
function clientIp(request: Request, server: Server<unknown> | null, trustProxy: boolean): string | null {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')
    if (forwarded) {
      const last = forwarded.slice(forwarded.lastIndexOf(',') + 1).trim()
      if (last) return withoutPort(last).slice(0, 64)
    }
  }
  return server?.requestIP(request)?.address ?? null
}

/**
 * How many requests are being handled now, from their first hook until their answer is handed over, refusals
 * included: a stop's grace waits for them (a request still reading its body, or looking up its key or price, has
 * no hold yet).
 */
export interface RequestsInHandling {
  count: number
}

/**
 * First plugin of all: gives the request its id, start time and client address (and the server's idle timeout),
 * and counts it in `handling` until its answer is handed over (the after-response hook, which runs once for every
 * request, refusals and client aborts included; the flag keeps a second run from counting it out twice). A body's
 * claim on the budget for bodies in flight is given back there too, once the answer is over: the one hook that every
 * request runs anyway.
 * The id goes out as `X-Request-Id`, and on Anthropic's paths also as `request-id`, the header Anthropic's SDKs
 * read it from (`_request_id`, `APIError.requestID`).
 */
export const requestContext = (options: { trustProxy: boolean; idleTimeoutSec: number; handling: RequestsInHandling }) =>
  new Elysia({ name: 'request-context', seed: options })
    .onRequest(({ request, server, set }) => {
      const state = createRequestState(request, pathOf(request.url), clientIp(request, server, options.trustProxy), options.idleTimeoutSec)
      state.inHandling = true
      options.handling.count++
      set.headers['x-request-id'] = state.id
      if (wireFormatOf(state.path) === 'anthropic') set.headers['request-id'] = state.id
    })
    .onAfterResponse({ as: 'global' }, ({ request }) => {
      const state = peekRequestState(request)
      if (!state?.inHandling) return
      state.inHandling = false
      options.handling.count--
      const claim = state.bodyClaim
      if (claim) whenAnswered(state, () => claim.release())
    })

/**
 * A request whose target cannot be served is refused, in one hook (it runs for every request):
 * - without a usable Host (RFC 9112 §3.2 asks it of HTTP/1.1): with a relative URL the framework's router
 *   reads a different path than the gateway does, so nothing may route it;
 * - with a NUL (`%00`) anywhere in the path or the query (400 invalid_request, before authentication): no id,
 *   filter or cursor holds one, as Postgres text cannot, so both stores answer alike instead of SQLite finding
 *   nothing and Postgres failing the query (22021). A raw NUL never gets this far: Bun refuses it.
 * Used after the plugins that set the headers every answer carries and count every request.
 */
export const requireUsableTarget = () =>
  new Elysia({ name: 'require-usable-target' }).onRequest(({ request }) => {
    const url = request.url
    if (isOriginForm(url)) throw badRequest('The request needs a valid Host header.', 'invalid_host')
    if (url.includes('%00')) throw badRequest('Invalid request: the path or query holds a NUL character (%00).', 'invalid_request')
  })
