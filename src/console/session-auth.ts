import { forbidden, unauthorized } from '../http/errors'
import { isHttps } from '../plugins/security-headers'
import { type ConsoleSession, isSessionToken, type SessionStore } from './sessions'

export const SESSION_COOKIE = 'tollgate_session'
/**
 * The cookie's name over HTTPS. A browser takes a `__Host-` cookie only from this host over HTTPS, with
 * Path=/ and no Domain: a sibling subdomain, a network attacker on plain HTTP or a page on another port
 * over HTTP cannot plant one.
 */
export const HOST_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`
export const CSRF_HEADER = 'x-csrf-token'
export const SESSION_PATH = '/v1/session'

/** Where a console session cookie is a credential: the admin API and the self-service routes, never inference. */
const SELF_SERVICE_PATH = /^\/v1\/(key|session)(\/|$)/
/** What a key's read-only session may do besides reading its own key: see and end its session. */
const KEY_SESSION_PATH = /^\/v1\/key(\/|$)/

export const acceptsSession = (path: string, isAdminPath: (path: string) => boolean) => isAdminPath(path) || SELF_SERVICE_PATH.test(path)

/** A request that only reads: a console session needs no CSRF token for it. */
export const onlyReads = (method: string) => method === 'GET' || method === 'HEAD'

/**
 * The session tokens a request's cookies carry, the `__Host-` ones first. A page the browser also visits (another
 * port of this host, a sibling subdomain's Domain cookie, anyone on plain HTTP) can set cookies of the same name
 * with longer Paths, which the browser then sends first: every one of a token's shape counts, however many come
 * before it, and the rest are dropped unread. The header's size bounds them; they are looked up together.
 */
export function sessionTokens(headers: Headers): string[] {
  const cookie = headers.get('cookie')
  if (!cookie) return []
  const host: string[] = []
  const plain: string[] = []
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    const name = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (!isSessionToken(value)) continue
    if (name === HOST_SESSION_COOKIE) host.push(value)
    else if (name === SESSION_COOKIE) plain.push(value)
  }
  return [...new Set([...host, ...plain])]
}

/**
 * The live session among those the request's cookies carry: an admin session over a key session (only the
 * master key makes one, so a planted cookie is never it), otherwise the first that resolves.
 */
export async function cookieSession(headers: Headers, sessions: SessionStore): Promise<ConsoleSession | null> {
  const live = await sessions.resolve(sessionTokens(headers))
  return live.find((session) => session.kind === 'admin') ?? live[0] ?? null
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
 * The session a request's cookies carry, checked for what the request does: a state change needs our
 * own Origin and the session's CSRF token; a key's session only reads its own key (and may sign out), and is
 * refused the admin API as `admin_only`, as the same key in a header is.
 */
export async function sessionOf(
  request: Request, path: string, sessions: SessionStore, trustProxy: boolean, isAdminPath: (path: string) => boolean,
): Promise<ConsoleSession> {
  const session = await cookieSession(request.headers, sessions)
  if (!session) throw unauthorized('Missing API key or console session: send "Authorization: Bearer <key>", or sign in at /ui.')
  const reads = onlyReads(request.method)
  if (!reads && !(isSameOrigin(request, trustProxy) && sessions.checkCsrf(session.token, request.headers.get(CSRF_HEADER))))
    throw forbidden('csrf_failed', `A change made with a console session needs this site's Origin and the session's ${CSRF_HEADER} header.`)
  if (session.kind === 'key') {
    if (isAdminPath(path)) throw forbidden('admin_only', 'This route needs the master key.')
    const signOut = path === SESSION_PATH
    if (!(KEY_SESSION_PATH.test(path) && reads) && !signOut)
      throw forbidden('read_only_session', 'A key session can only read its own key, its budget and its usage.')
  }
  return session
}
