/**
 * The CLI's only way in: the gateway's admin API over HTTP, with the master key — exactly what curl
 * would do, so that every change goes through the same checks and reaches every replica.
 */
import { withoutCredentials } from '../config/client-urls'

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
  /** The API's answer, a JSON object; a refusal, or an answer that is not the admin API's, is an AdminApiError. */
  call(method: string, path: string, body?: unknown): Promise<any>
  /** The first page as the API answers it, or, with `all`, that answer with every page's rows (following `next_cursor`, null after the last). */
  page(path: string, query: Record<string, string>, all: boolean): Promise<ListPage>
  /** The rows of `page`. */
  list(path: string, query: Record<string, string>, all: boolean): Promise<any[]>
}

/**
 * How long one admin call may take, answer read whole: a server that takes the connection and never answers (a
 * hung gateway, a proxy holding it, a firewall that drops instead of refusing) would otherwise hang a script or a
 * CI job for good. Admin answers take milliseconds; TOLLGATE_CLI_TIMEOUT_MS sets another bound.
 */
const DEFAULT_CLI_TIMEOUT_MS = 30_000
/** The longest a timer can wait (MAX_TIMER_MS of the gateway's settings): the runtime fires a longer one at once. */
const LONGEST_TIMEOUT_MS = 2_147_483_647

function timeoutOf(env: Record<string, string | undefined>): number {
  const given = env.TOLLGATE_CLI_TIMEOUT_MS
  if (given === undefined) return DEFAULT_CLI_TIMEOUT_MS
  const ms = /^[0-9]+$/.test(given) ? Number(given) : NaN
  if (!(ms >= 1 && ms <= LONGEST_TIMEOUT_MS))
    throw new AdminApiError(0, `TOLLGATE_CLI_TIMEOUT_MS must be a whole number of milliseconds from 1 to ${LONGEST_TIMEOUT_MS}, or unset (${DEFAULT_CLI_TIMEOUT_MS})`)
  return ms
}

export function adminApi(env: Record<string, string | undefined>): AdminApi {
  const key = env.TOLLGATE_MASTER_KEY
  if (!key) throw new AdminApiError(0, 'TOLLGATE_MASTER_KEY is not set: the admin commands need the master key.')
  const base = (env.TOLLGATE_URL ?? `http://127.0.0.1:${env.TOLLGATE_PORT ?? 8080}`).replace(/\/+$/, '')
  const timeoutMs = timeoutOf(env)
  // A gateway behind a proxy with basic auth is reached as https://user:password@… or https://<token>@…: no message
  // prints the password or the token.
  const fail = (status: number, message: string) => new AdminApiError(status, withoutCredentials(message, base))
  const notTheApi = (path: string, status: number, answer: string) =>
    fail(status, `${base}${path} answered ${answer}: that is not the admin API; is TOLLGATE_URL the gateway's address?`)
  const noAnswer = (method: string) =>
    fail(0, `no answer from the gateway at ${base} within ${timeoutMs} ms (TOLLGATE_CLI_TIMEOUT_MS)${method === 'GET' ? '' : '; the change may have been made: look before trying again'}`)
  const movedAway = (path: string, res: Response) =>
    fail(res.status, `${base}${path} answered ${res.status}, a redirect to ${res.headers.get('location')?.slice(0, 300) ?? '(no location)'}, which the CLI does not follow; set TOLLGATE_URL to the address the gateway answers at`)
  const timedOut = (error: unknown) => error instanceof Error && error.name === 'TimeoutError'

  const call = async (method: string, path: string, body?: unknown) => {
    const signal = AbortSignal.timeout(timeoutMs)
    let res: Response
    try {
      res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        // Followed, a 301 or 302 turns a POST into a GET of the new place: a write would print what it read there as
        // done. A redirect is an address to fix, as for the webhooks (src/alerts/delivery.ts).
        redirect: 'manual',
      })
    } catch (error) {
      if (timedOut(error)) throw noAnswer(method)
      throw fail(0, `cannot reach the gateway at ${base} (${(error as Error).message}); set TOLLGATE_URL`)
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => {})
      throw movedAway(path, res)
    }
    let text: string
    try {
      text = await res.text()
    } catch (error) {
      if (timedOut(error)) throw noAnswer(method)
      throw fail(0, `the gateway's answer at ${base}${path} was cut (${(error as Error).message})`)
    }
    const parsed = parsedJson(text)
    if (!res.ok) throw fail(res.status, `${res.status}: ${parsed?.error?.message ?? text.slice(0, 300)}`)
    // Every admin answer is a JSON object: anything else (a proxy's or the console's page, an empty body) is not
    // the gateway's, and must not pass for a write done.
    if (!isObject(parsed)) {
      const shape = !text ? 'no body' : parsed === undefined ? `a body that is not JSON (${res.headers.get('content-type') ?? 'no content-type'})` : 'JSON that is not an object'
      throw notTheApi(path, res.status, `${res.status} with ${shape}`)
    }
    return parsed
  }

  const pageAt = async (path: string): Promise<ListPage> => {
    const answer = await call('GET', path)
    const { data, next_cursor: cursor } = answer
    if (!Array.isArray(data) || !data.every(isObject) || !(cursor == null || typeof cursor === 'string'))
      throw notTheApi(path, 0, 'without a list of rows (data)')
    return answer as ListPage
  }

  const page = async (path: string, query: Record<string, string>, all: boolean): Promise<ListPage> => {
    const first = await pageAt(withQuery(path, query))
    const rows = [...first.data]
    let cursor = first.next_cursor
    for (; all && cursor; ) {
      const next = await pageAt(withQuery(path, { ...query, cursor }))
      rows.push(...next.data)
      cursor = next.next_cursor
    }
    // The first page's totals are the walk's: a list's later rows were all there when it was read (a newer row sorts
    // before its first page), and a summary's later pages read the usage as of it (src/records/usage-queries.ts).
    return { ...first, data: rows, next_cursor: cursor ?? null }
  }

  return { call, page, list: async (path, query, all) => (await page(path, query, all)).data }
}

const withQuery = (path: string, query: Record<string, string>) => {
  const search = new URLSearchParams(query).toString()
  return search ? `${path}?${search}` : path
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The JSON `text` holds, or undefined when it holds none (an empty body, a web page). */
function parsedJson(text: string): any {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
