/**
 * A graceful stop lasts the shutdown grace, then cuts the provider calls still running and settles
 * each of them itself, "the stop ends about a second later" (README, TOLLGATE_SHUTDOWN_GRACE_MS; a container runtime
 * SIGKILLs 10 s after SIGTERM, and a hold left open is then charged in full by the sweeper as `expired`). The grace
 * is timed as `Date.now() < graceEnds` (src/server.ts): a clock stepped back during the stop (NTP correction) makes
 * the grace last as long as the step, so the stop waits for the stream's own end instead of cutting it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ chunks: 30, chunkDelayMs: 1_000 })
})
afterAll(async () => {
  await mock.stop()
})

test('a stop whose clock steps back during the grace still ends about a second after the grace', async () => {
  const realNow = Date.now
  const gw = await startTestGateway({ mock, config: { log_level: 'silent', shutdown_grace_ms: 1_000 } })
  let stopped = false
  try {
    const { secret } = await gw.userWithKey({ id: 'u', max_budget: 100 })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', stream: true, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4000 }),
    })
    expect(res.status).toBe(200)
    // Keep reading the ~30 s stream in the background.
    const reading = res.text().catch(() => '')
    await Bun.sleep(500)
    const began = performance.now()
    const stopping = gw.stop().then(() => (stopped = true))
    // NTP steps the clock back an hour just after SIGTERM.
    await Bun.sleep(50)
    Date.now = () => realNow() - 3_600_000
    await Promise.race([stopping, Bun.sleep(8_000)])
    const took = performance.now() - began
    Date.now = realNow
    // Grace 1 s, then about a second to cut and settle the stream: well under 4 s.
    expect({ stopped, within4s: took < 4_000 }).toEqual({ stopped: true, within4s: true })
    await reading
  } finally {
    Date.now = realNow
    if (!stopped) await gw.stop()
  }
}, 60_000)
