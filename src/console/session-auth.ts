import { forbidden, unauthorized } from '../http/errors'
import { isHttps } from '../plugins/security-headers'
import type { ConsoleSession, SessionStore } from './sessions'

export const SESSION_COOKIE = 'tollgate_session'
export const CSRF_HEADER = 'x-csrf-token'
export const SESSION_PATH = '/v1/session'

/** Where a console session cookie is a credential: the admin API and the self-service routes, never inference. */
const SELF_SERVICE_PATH = /^\/v1\/(key|session)(\/|$)/
/** What a key's read-only session may do besides reading its own key: see and end its session. */
const KEY_SESSION_PATH = /^\/v1\/key(\/|$)/

export const acceptsSession = (path: string, isAdminPath: (path: string) => boolean) => isAdminPath(path) || SELF_SERVICE_PATH.test(path)

export function cookieValue(headers: Headers, name: string): string | null {
  const cookie = headers.get('cookie')
  if (!cookie) return null
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null
  }
  return null
}

/**
 * A browser's cross-site request carries an Origin naming the other site; only our own is accepted. The
 * host compared is the one the browser addressed (the forwarded one, behind a trusted proxy).
 */
export function isSameOrigin(request: Request, trustProxy: boolean): boolean {
  const origin = request.headers.get('origin')
  if (!origin) return false
  const host = (trustProxy && request.headers.get('x-forwarded-host')?.split(',', 1)[0]?.trim()) || request.headers.get('host')
  if (!host) return false
  const scheme = isHttps(request, trustProxy) ? 'https' : 'http'
  return origin === `${scheme}://${host}`
}

/**
 * The session a request's cookie carries, checked for what the request does: a state change needs our
 * own Origin and the session's CSRF token; a key's session only reads its own key (and may sign out).
 */
export async function sessionOf(request: Request, path: string, sessions: SessionStore, trustProxy: boolean): Promise<ConsoleSession> {
  const token = cookieValue(request.headers, SESSION_COOKIE)
  const session = token ? await sessions.resolve(token) : null
  if (!session) throw unauthorized('Missing API key or console session: send "Authorization: Bearer <key>", or sign in at /ui.')
  const reads = request.method === 'GET' || request.method === 'HEAD'
  if (!reads && !(isSameOrigin(request, trustProxy) && sessions.checkCsrf(session.token, request.headers.get(CSRF_HEADER))))
    throw forbidden('csrf_failed', `A change made with a console session needs this site's Origin and the session's ${CSRF_HEADER} header.`)
  if (session.kind === 'key') {
    const signOut = path === SESSION_PATH
    if (!(KEY_SESSION_PATH.test(path) && reads) && !signOut)
      throw forbidden('read_only_session', 'A key session can only read its own key, its budget and its usage.')
  }
  return session
}
