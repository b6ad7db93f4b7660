/** The console calls the same API as curl; its credential is the session cookie, plus the CSRF token for changes. */
let csrfToken: string | null = null

export const setCsrfToken = (token: string | null) => {
  csrfToken = token
}

let sessionEnded = () => {}

/**
 * What to do when a call is answered 401: the session has ended (idle, expired, signed out elsewhere). Not
 * on /v1/session, where a 401 is a wrong key at sign-in, or a sign-out that found the session already gone.
 */
export const whenSessionEnds = (then: () => void) => {
  sessionEnded = then
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  const parsed = text ? JSON.parse(text) : null
  if (res.status === 401 && path !== '/v1/session') sessionEnded()
  if (!res.ok) throw new ApiError(res.status, parsed?.error?.message ?? `${res.status} ${res.statusText}`)
  return parsed as T
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
