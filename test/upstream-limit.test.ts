import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'
import { effectiveUpstreamLimit } from '../src/providers/upstream-slots'

/**
 * TOLLGATE_MAX_UPSTREAM_CONCURRENCY: a request past the limit is refused before its hold (503 and
 * Retry-After, counted in /metrics), reaches no provider, and the slot comes back when a call ends.
 */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(() => mock.stop())

const stream = (url: string, key: string, signal?: AbortSignal) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', stream: true, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
    signal,
  })

test('over the upstream concurrency limit: 503 with Retry-After, no hold, no provider call; the slot returns when a call ends', async () => {
  mock.reset()
  mock.behavior = 'hang'
  const gw = await startTestGateway({ mock, config: { max_upstream_concurrency: 2, metrics_enabled: true } })
  const cut = new AbortController()
  try {
    const { secret } = await gw.userWithKey({ id: 'busy', max_budget: 10 })
    const open = [stream(gw.url, secret, cut.signal).catch(() => null), stream(gw.url, secret, cut.signal).catch(() => null)]
    for (let i = 0; i < 500 && mock.calls.length < 2; i++) await Bun.sleep(10)
    expect(mock.calls.length).toBe(2)

    const refused = await stream(gw.url, secret)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('upstream_busy')
    expect(mock.calls.length).toBe(2)
    expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(2)
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
    expect(metrics).toContain('tollgate_upstream_busy_total 1')
    expect(metrics).toContain('tollgate_upstream_in_flight 2')

    cut.abort()
    await Promise.all(open)
    mock.behavior = 'ok'
    let status = 0
    for (let i = 0; i < 500 && status !== 200; i++) {
      const res = await stream(gw.url, secret)
      status = res.status
      await res.text()
      if (status !== 200) await Bun.sleep(10)
    }
    expect(status).toBe(200)
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/busy')).body
    expect(user.reserved).toBe(0)
  } finally {
    cut.abort()
    await gw.stop()
  }
})

test("under Bun's fetch cap the limit is lowered to what the cap allows, with a warning naming the variable", () => {
  expect(effectiveUpstreamLimit(2048, { BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' })).toEqual({ limit: 2048, freeCalls: 32 })
  const lowered = effectiveUpstreamLimit(2048, {})
  expect(lowered.limit).toBe(256 - 32)
  expect(lowered.warning).toContain('BUN_CONFIG_MAX_HTTP_REQUESTS=2080')
})
