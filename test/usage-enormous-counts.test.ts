import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * A provider reporting an enormous token count (5e18 prompt tokens) is read as at most a billion tokens:
 * the usage rows keep exact JavaScript integers and the usage totals still answer (SQLite's sum() of two
 * such rows overflowed its 64-bit integer, and /v1/usage/summary answered 500).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, stop } = await scriptedGateway('usage-enormous'))
})
afterAll(() => stop())

describe('enormous token counts keep the records readable', () => {
  test('two answers each reporting 5e18 prompt tokens: the usage totals still answer (no SQLite integer overflow)', async () => {
    const { secret } = await gw.userWithKey({ id: 'usage-enormous-5e18' })
    const since = new Date(Date.now() - 1_000).toISOString()
    upstream.answer(() =>
      new Response(
        `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
          `"usage":{"prompt_tokens":5000000000000000000,"completion_tokens":1,"total_tokens":5000000000000000001}}`,
        { headers: { 'content-type': 'application/json' } },
      ),
    )
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
    }
    await gw.settled()
    const q = `since=${encodeURIComponent(since)}`
    const summary = await gw.admin('GET', `/v1/usage/summary?${q}`)
    expect(summary.body?.error?.message ?? '').not.toContain('overflow')
    expect(summary.status).toBe(200)
    expect((await gw.admin('GET', `/v1/users/usage-enormous-5e18/usage?${q}`)).status).toBe(200)
    expect((await gw.admin('GET', `/v1/usage?user_id=usage-enormous-5e18&${q}`)).status).toBe(200)
    // Every token count the ledger keeps stays an exact JavaScript integer.
    const rows = gw.query<{ p: number }>(`SELECT prompt_tokens AS p FROM usage WHERE user_id = 'usage-enormous-5e18'`)
    expect(rows).toHaveLength(2)
    for (const r of rows) expect(r.p).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER)
  })
})
