import { sqlStateOf } from './batch'

/**
 * Postgres could not be opened at start (not reached, the login refused, the schema's migrations refused): a
 * one-line reason naming the database's address, never the URL's user or password, for the start to refuse with.
 */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError'
}

/** `host:port/database` of a postgres:// URL, without its credentials. */
export function postgresAddress(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname.length > 1 ? u.pathname : ''}`
  } catch {
    return 'the configured address'
  }
}

/** The client's reason, with its SQLSTATE or error code, the password cut out should the client have quoted it. */
export function openFailureReason(error: unknown, url: string): string {
  const e = error as { message?: unknown; code?: unknown } | null
  const state = sqlStateOf(error)
  const code = /^[0-9A-Z]{5}$/.test(state) ? `SQLSTATE ${state}` : typeof e?.code === 'string' ? e.code : ''
  const reason = `${typeof e?.message === 'string' ? e.message : String(error)}${code ? ` (${code})` : ''}`
  let password = ''
  try {
    password = decodeURIComponent(new URL(url).password)
  } catch {}
  return password ? reason.replaceAll(password, '***') : reason
}
