/**
 * The host's clock stepped forward (an NTP correction, a VM resumed) while a stream runs must not
 * make the sweeper charge that live stream's hold in full as `expired`. SPEC §6: the sweeper settles reservations
 * "past their TTL (a crash, a lost task)"; a stream still running inside the upstream timeout is neither, and must
 * be settled once, by its own settlement, at its real usage. The README keeps the Postgres case off the hosts'
 * clocks ("one whose clock runs ahead does not sweep the others' live holds"); on SQLite a hold's expiry and the
 * sweep both read the process's wall clock, so a forward step past the TTL charges every live hold in full, and
 * the stream's real settlement then finds nothing.
 *
 * An 8 s TTL (so the sweeper runs every 8 s) past a 7 s upstream timeout, as the defaults (900 s, 600 s) stand; the
 * ~5 s stream starts so that the sweep 8 s after startup lands in its middle, while its hold is ~2.5 s old.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'

const TTL_MS = 8_000
const STREAM_MS = 5_000

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ chunks: 12, chunkDelayMs: STREAM_MS / 15 })
})
afterAll(async () => {
  await mock.stop()
})

test('a clock step forward while a stream runs does not charge its live hold in full as expired', async () => {
  const realNow = Date.now
  const startedAt = performance.now()
  const gw = await startTestGateway({
    mock,
    config: {
      log_level: 'silent', reservation_ttl_sec: TTL_MS / 1000, upstream_timeout_ms: TTL_MS - 1_000,
      pricing: { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } },
    },
  })
  try {
    const { secret } = await gw.userWithKey({ id: 'stepped', max_budget: 100 })
    // The sweeper's first timed run comes one TTL after startup: the stream is to be live, half done, when it does.
    await Bun.sleep(Math.max(0, startedAt + TTL_MS - STREAM_MS / 2 - performance.now()))
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'mock:gpt-mock', stream: true, stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'hello' }], max_tokens: 4000,
      }),
    })
    expect(res.status).toBe(200)
    expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(1)
    // NTP steps the host's clock 16 minutes forward (far past the TTL) while the stream runs.
    Date.now = () => realNow() + 16 * 60_000
    const text = await res.text()
    expect(text).toContain('[DONE]')
    // It outlived the sweep 8 s after startup, and ended before the next.
    expect(performance.now() - startedAt).toBeGreaterThan(TTL_MS)
    expect(performance.now() - startedAt).toBeLessThan(2 * TTL_MS)
    await gw.settled()
    const rows = gw.query<{ status: string; cost: number; reserved: number; completion_tokens: number }>(
      'SELECT status, cost, reserved, completion_tokens FROM usage',
    )
    // Settled once, by the stream itself, at its usage — not at the 4000-token worst case it held.
    expect(rows.map((r) => r.status)).toEqual(['ok'])
    expect(rows[0]!.cost).toBeLessThan(rows[0]!.reserved)
    const user = (await gw.admin('GET', '/v1/users/stepped')).body
    expect(user.spend).toBeCloseTo(rows[0]!.cost / 1e6, 9)
  } finally {
    Date.now = realNow
    await gw.stop()
  }
}, 30_000)
