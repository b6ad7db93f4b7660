/**
 * The CLI's only way in: the gateway's admin API over HTTP, with the master key — exactly what curl
 * would do, so that every change goes through the same checks and reaches every replica.
 */
import { withoutPassword } from '../config/client-urls'

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** A list as the API answers it: its rows, the cursor of the page after (null at the end), and whatever else it says. */
export interface ListPage {
  data: any[]
  next_cursor: string | null
  [field: string]: unknown
}

export interface AdminApi {
  call(method: string, path: string, body?: unknown): Promise<any>
  /** The first page as the API answers it, or, with `all`, that answer with every page's rows (following `next_cursor`, null after the last). */
  page(path: string, query: Record<string, string>, all: boolean): Promise<ListPage>
  /** The rows of `page`. */
  list(path: string, query: Record<string, string>, all: boolean): Promise<any[]>
}

export function adminApi(env: Record<string, string | undefined>): AdminApi {
  const key = env.TOLLGATE_MASTER_KEY
  if (!key) throw new AdminApiError(0, 'TOLLGATE_MASTER_KEY is not set: the admin commands need the master key.')
  const base = (env.TOLLGATE_URL ?? `http://127.0.0.1:${env.TOLLGATE_PORT ?? 8080}`).replace(/\/+$/, '')
  // A gateway behind a proxy with basic auth is reached as https://user:password@…: no message prints the password.
  const fail = (status: number, message: string) => new AdminApiError(status, withoutPassword(message, base))

  const call = async (method: string, path: string, body?: unknown) => {
    let res: Response
    try {
      res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (error) {
      throw fail(0, `cannot reach the gateway at ${base} (${(error as Error).message}); set TOLLGATE_URL`)
    }
    const text = await res.text()
    const parsed = text ? safeJson(text) : null
    if (!res.ok) throw fail(res.status, `${res.status}: ${parsed?.error?.message ?? text.slice(0, 300)}`)
    return parsed
  }

  const page = async (path: string, query: Record<string, string>, all: boolean): Promise<ListPage> => {
    const first: ListPage = await call('GET', `${path}?${new URLSearchParams(query)}`)
    const rows = [...first.data]
    let cursor = first.next_cursor
    for (; all && cursor; ) {
      const next: ListPage = await call('GET', `${path}?${new URLSearchParams({ ...query, cursor })}`)
      rows.push(...next.data)
      cursor = next.next_cursor
    }
    return { ...first, data: rows, next_cursor: cursor ?? null }
  }

  return { call, page, list: async (path, query, all) => (await page(path, query, all)).data }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
