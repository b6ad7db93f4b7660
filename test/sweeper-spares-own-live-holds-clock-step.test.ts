/**
 * The host's clock stepped forward (an NTP correction, a VM resumed) while a stream runs must not
 * make the sweeper charge that live stream's hold in full as `expired`. SPEC §6: the sweeper settles reservations
 * "past their TTL (a crash, a lost task)"; a stream still running inside the upstream timeout is neither, and must
 * be settled once, by its own settlement, at its real usage. The README keeps the Postgres case off the hosts'
 * clocks ("one whose clock runs ahead does not sweep the others' live holds"); on SQLite a hold's expiry and the
 * sweep both read the process's wall clock, so a forward step past the TTL charges every live hold in full, and
 * the stream's real settlement then finds nothing.
 *
 * Default TTL (900 s) and upstream timeout (600 s); the stream lasts ~66 s of real time, so the sweeper (every
 * minute) runs while it is live.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ chunks: 12, chunkDelayMs: 5_500 })
})
afterAll(async () => {
  await mock.stop()
})

test('a clock step forward while a stream runs does not charge its live hold in full as expired', async () => {
  const realNow = Date.now
  const gw = await startTestGateway({
    mock,
    config: { log_level: 'silent', pricing: { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } } },
  })
  try {
    const { secret } = await gw.userWithKey({ id: 'stepped', max_budget: 100 })
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
    // NTP steps the host's clock 16 minutes forward (past the 15-minute TTL) while the stream runs.
    Date.now = () => realNow() + 16 * 60_000
    const text = await res.text()
    expect(text).toContain('[DONE]')
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
}, 120_000)
