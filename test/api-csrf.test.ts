/**
 * README: "Every state-changing call made with a cookie needs this site's
 * Origin and the session's X-CSRF-Token"; a tab whose session another tab replaced has its first change "refused 403
 * csrf_failed (before the route runs) and ... sent once more with the new session's token". Amounts: prices are
 * per-million rates of a few millionths of a dollar. ui/src/api.ts is plain fetch: run here with fetch stubbed, so a
 * change that stops sending the token on PATCH/POST, or stops resending a refused change, fails a cheap test.
 */
import { afterEach, expect, test } from 'bun:test'
import { api, setShownSession, usd } from '../ui/src/api'

type Sent = { method: string; path: string; csrf: string | null; body: unknown }
let sent: Sent[] = []
const realFetch = globalThis.fetch
afterEach(() => {
  globalThis.fetch = realFetch
  setShownSession(null)
  sent = []
})

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
function stub(answer: (s: Sent) => Response) {
  globalThis.fetch = (async (path: string, init: RequestInit) => {
    const headers = (init.headers ?? {}) as Record<string, string>
    const s = { method: init.method ?? 'GET', path, csrf: headers['x-csrf-token'] ?? null, body: init.body ? JSON.parse(String(init.body)) : undefined }
    sent.push(s)
    return answer(s)
  }) as any
}
const session = (token: string) => ({ kind: 'admin' as const, csrf_token: token, expires_at: '2027-01-01T00:00:00Z', key_id: null })

test('every change (POST, PATCH, DELETE) carries the shown session\'s CSRF token', async () => {
  setShownSession(session('tok-1'))
  stub(() => json(200, { ok: true }))
  await api('POST', '/v1/users', { id: 'u' })
  await api('PATCH', '/v1/users/u', { max_budget: 5 })
  await api('DELETE', '/v1/users/u')
  expect(sent.map((s) => [s.method, s.csrf])).toEqual([['POST', 'tok-1'], ['PATCH', 'tok-1'], ['DELETE', 'tok-1']])
})

test('a change refused csrf_failed (another tab signed in again) is sent once more with the new session\'s token', async () => {
  setShownSession(session('stale'))
  stub((s) => {
    if (s.path === '/v1/session') return json(200, session('fresh'))
    return s.csrf === 'fresh' ? json(201, { id: 'u' }) : json(403, { error: { code: 'csrf_failed', message: 'csrf' } })
  })
  expect(await api('POST', '/v1/users', { id: 'u' })).toEqual({ id: 'u' })
  expect(sent.map((s) => [s.method, s.path, s.csrf])).toEqual([
    ['POST', '/v1/users', 'stale'],
    ['GET', '/v1/session', null],
    ['POST', '/v1/users', 'fresh'],
  ])
})

test('amounts are shown to the millionth of a dollar: a price of $0.000075 is not shown as $0.00', () => {
  expect(usd(0.000075)).toBe('$0.000075')
  expect(usd(2.5)).toBe('$2.50')
  expect(usd(null)).toBe('—')
})
