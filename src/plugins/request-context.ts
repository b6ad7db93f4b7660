import { Elysia } from 'elysia'
import type { Server } from 'bun'
import { createRequestState } from '../http/request-state'

/** The path without the query, cheaply: the router and every later plugin see the same string. */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  const query = url.indexOf('?', start)
  return query === -1 ? url.slice(start) : url.slice(start, query)
}

/**
 * With a trusted proxy the client is the right-most X-Forwarded-For entry: that one was added by our
 * proxy, while anything to its left is whatever the client chose to send.
 */
function clientIp(request: Request, server: Server<unknown> | null, trustProxy: boolean): string | null {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')
    if (forwarded) {
      const last = forwarded.slice(forwarded.lastIndexOf(',') + 1).trim()
      if (last) return last.slice(0, 64)
    }
  }
  return server?.requestIP(request)?.address ?? null
}

/** First plugin of all: gives the request its id, start time and client address. */
export const requestContext = (options: { trustProxy: boolean }) =>
  new Elysia({ name: 'request-context', seed: options })
    .onRequest(({ request, server, set }) => {
      const state = createRequestState(request, pathOf(request.url), clientIp(request, server, options.trustProxy))
      set.headers['x-request-id'] = state.id
    })
