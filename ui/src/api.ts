/** The console calls the same API as curl; its credential is the session cookie, plus the CSRF token for changes. */

/** The browser's console session as GET/POST /v1/session give it. */
export interface Session {
  kind: 'admin' | 'key'
  csrf_token: string
  expires_at: string
  key_id: string | null
}

/** The session this tab shows, and whose CSRF token it sends. */
let shown: Session | null = null

export const setShownSession = (session: Session | null) => {
  shown = session
}

let sessionEnded = () => {}
let sessionReplaced = (_session: Session) => {}

/**
 * What to do when a call is answered 401: the session has ended (idle, expired, signed out elsewhere). Not
 * on /v1/session, where a 401 is a wrong key at sign-in, or a sign-out that found the session already gone.
 */
export const whenSessionEnds = (then: () => void) => {
  sessionEnded = then
}

/** What to do when another tab's sign-in gave the browser a session of the other kind (an admin's, a key's). */
export const whenSessionReplaced = (then: (session: Session) => void) => {
  sessionReplaced = then
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

interface Answer {
  status: number
  statusText: string
  ok: boolean
  body: any
}

async function send(method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && shown) headers['x-csrf-token'] = shown.csrf_token
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, statusText: res.statusText, ok: res.ok, body: text ? JSON.parse(text) : null }
}

/**
 * A sign-in in another tab replaces the browser's session (one cookie per browser): this tab's CSRF token is then
 * stale, and its reads go on with the new session. A change refused `csrf_failed`, or an admin page's call refused
 * `admin_only`, asks which session the browser holds now: none ends this tab's as a 401 does; one of the other kind
 * shows that kind instead (nothing is sent again as it); one of the same kind gives its token, and a refused change
 * is sent once more with it (the refusal came before the route ran, so nothing was done).
 */
async function caughtUp(method: string, answer: Answer): Promise<boolean> {
  const code = answer.body?.error?.code
  const stale = (method !== 'GET' && code === 'csrf_failed') || (shown?.kind === 'admin' && code === 'admin_only')
  if (answer.status !== 403 || !stale) return false
  const current = await send('GET', '/v1/session')
  if (!current.ok) return false
  if (current.body.kind === null) {
    sessionEnded()
    return false
  }
  const replaced = current.body.kind !== shown?.kind
  shown = current.body as Session
  if (replaced) sessionReplaced(shown)
  return !replaced && method !== 'GET'
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  let answer = await send(method, path, body)
  if (path !== '/v1/session' && (await caughtUp(method, answer))) answer = await send(method, path, body)
  if (answer.status === 401 && path !== '/v1/session') sessionEnded()
  if (!answer.ok) throw new ApiError(answer.status, answer.body?.error?.message ?? `${answer.status} ${answer.statusText}`)
  return answer.body as T
}

/** A query string from the filled-in fields only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

export const usd = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`
export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—')
/** A key's allowed_models: null is every priced model (`all` says so); [] is no model at all, never an empty cell. */
export const modelsText = (models: string[] | null, all: string) => (models === null ? all : models.length === 0 ? 'none' : models.join(', '))
