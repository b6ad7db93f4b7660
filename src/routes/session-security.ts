import type { AnyElysia } from 'elysia'
import { onlyReads } from '../console/session-auth'

/** A key in a header, as the document's own `security` says. */
const KEY_HEADERS = [{ bearer: [] }, { apiKey: [] }]

/**
 * Documents, on every route of `routes`, the console session it takes beside a key (the admin API, /v1/key): the
 * session cookie alone reads, and a change made with it also needs the CSRF header (src/console/session-auth.ts).
 * Set on the routes once they are added, as a plugin's own `detail` is one for every method.
 */
export function takesConsoleSession<T extends AnyElysia>(routes: T): T {
  for (const route of routes.routes) {
    const session = onlyReads(route.method) ? { session: [] } : { session: [], csrf: [] }
    route.hooks.detail = { ...route.hooks.detail, security: [...KEY_HEADERS, session] }
  }
  return routes
}
