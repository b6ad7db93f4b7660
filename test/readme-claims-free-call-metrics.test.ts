/**
 * README (Capacity under load): past the clients' share of free-call slots (all but 4 of 32) a free call gets
 * 503 `upstream_busy` with Retry-After: 1, reaching no provider, and `tollgate_free_calls_busy_total` counts it;
 * `tollgate_free_calls_in_flight` shows the slots taken and `tollgate_free_calls_limit` the limit (32).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: { metrics_enabled: true, providers: scriptedProviders(upstream), pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } },
  })
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

/** A sample's value; a counter not yet incremented may print no sample (0). */
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)

test('the 29th open free call is 503 upstream_busy, counted in tollgate_free_calls_busy_total', async () => {
  upstream.answer(() => new Promise<Response>(() => {}))
  const keys = await Promise.all([0, 1, 2, 3].map(async (i) => (await gw.userWithKey({ id: `u${i}`, max_budget: 10 })).secret))
  const open = new AbortController()
  const count = (key: string, signal: AbortSignal) =>
    fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      signal,
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:m', messages: [{ role: 'user', content: 'hi' }] }),
    })
  try {
    // 8 + 8 + 8 + 4 = 28, the clients' share of 32.
    for (const [i, n] of [8, 8, 8, 4].entries()) for (let j = 0; j < n; j++) void count(keys[i]!, open.signal).catch(() => {})
    for (let i = 0; i < 200 && upstream.calls.length < 28; i++) await Bun.sleep(20)
    expect(upstream.calls.length).toBe(28)
    const before = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
    expect({ inFlight: metric(before, 'tollgate_free_calls_in_flight'), limit: metric(before, 'tollgate_free_calls_limit'), busy: metric(before, 'tollgate_free_calls_busy_total') })
      .toEqual({ inFlight: 28, limit: 32, busy: 0 })

    const past = await count(keys[3]!, AbortSignal.any([open.signal, AbortSignal.timeout(2_000)]))
    // count_tokens answers in Anthropic's error shape (no `code`); the message says what was busy.
    const body = (await past.json()) as any
    expect({ status: past.status, retryAfter: past.headers.get('retry-after'), type: body.type, busy: /free calls in flight/.test(body.error?.message) })
      .toEqual({ status: 503, retryAfter: '1', type: 'error', busy: true })
    expect(upstream.calls.length).toBe(28)
    const after = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
    expect(metric(after, 'tollgate_free_calls_busy_total')).toBe(1)
  } finally {
    open.abort()
  }
})
