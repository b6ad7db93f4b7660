/**
 * The CLI's only way in: the gateway's admin API over HTTP, with the master key — exactly what curl
 * would do, so that every change goes through the same checks and reaches every replica.
 */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export interface AdminApi {
  call(method: string, path: string, body?: unknown): Promise<any>
  /** Every page of a list (following `next_cursor`), or only the first one. */
  list(path: string, query: Record<string, string>, all: boolean): Promise<any[]>
}

export function adminApi(env: Record<string, string | undefined>): AdminApi {
  const key = env.TOLLGATE_MASTER_KEY
  if (!key) throw new AdminApiError(0, 'TOLLGATE_MASTER_KEY is not set: the admin commands need the master key.')
  const base = (env.TOLLGATE_URL ?? `http://127.0.0.1:${env.TOLLGATE_PORT ?? 8080}`).replace(/\/+$/, '')

  const call = async (method: string, path: string, body?: unknown) => {
    let res: Response
    try {
      res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (error) {
      throw new AdminApiError(0, `cannot reach the gateway at ${base} (${(error as Error).message}); set TOLLGATE_URL`)
    }
    const text = await res.text()
    const parsed = text ? safeJson(text) : null
    if (!res.ok) throw new AdminApiError(res.status, `${res.status}: ${parsed?.error?.message ?? text.slice(0, 300)}`)
    return parsed
  }

  return {
    call,
    async list(path, query, all) {
      const rows: any[] = []
      let cursor: string | undefined
      do {
        const params = new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) })
        const page = await call('GET', `${path}?${params}`)
        rows.push(...page.data)
        cursor = page.next_cursor ?? undefined
      } while (all && cursor)
      return rows
    },
  }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
