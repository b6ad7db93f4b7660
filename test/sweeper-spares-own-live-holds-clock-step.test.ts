/**
 * The host's clock stepped forward (an NTP correction, a VM resumed) while a stream runs must not
 * make the sweeper charge that live stream's hold in full as `expired`. SPEC §6: the sweeper settles reservations
 * "past their TTL (a crash, a lost task)"; a stream still running inside the upstream timeout is neither, and must
 * be settled once, by its own settlement, at its real usage. The README keeps the Postgres case off the hosts'
 * clocks ("one whose clock runs ahead does not sweep the others' live holds"); on SQLite a hold's expiry and the
 * sweep both read the process's wall clock, so a forward step past the TTL charges every live hold in full, and
 * the stream's real settlement then finds nothing.
 *
 * An 8 s TTL (so the sweeper runs every 8 s) past a 7 s upstream timeout, as the defaults (900 s, 600 s) stand. The
 * provider holds the stream open until a sweep is seen to have run while it is: a lost task's hold (another user's,
 * expired) is put in the table after the stream's hold and the clock's step, and the stream is let finish only once
 * that hold is gone. The stream is begun half a TTL after the gateway is up, so that its hold is ~4 s old, well inside
 * the TTL, at the first timed sweep; whenever that sweep comes, none can pass unseen.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway } from './support/gateway'
import { openAIEvent, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { waitFor } from './support/wait-for'

const TTL_MS = 8_000
const LOST_HOLD_ID = 4_242_424_242

let upstream: ScriptedUpstream
let release: () => void = () => {}
beforeAll(() => {
  upstream = startScriptedUpstream()
  // A chat stream that sends its first words, then waits for the test's word before its last event and usage.
  upstream.answer(() => {
    const released = new Promise<void>((resolve) => (release = resolve))
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
    const enc = new TextEncoder()
    return new Response(
      new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(enc.encode(chunk({ role: 'assistant', content: 'Hello' })))
          await released
          c.enqueue(enc.encode(chunk({ content: ' there.' })))
          c.enqueue(enc.encode(chunk({}, 'stop')))
          c.enqueue(enc.encode(openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } })))
          c.enqueue(enc.encode(openAIEvent('[DONE]')))
          c.close()
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
})
afterAll(async () => {
  release()
  await upstream.stop()
})

test('a clock step forward while a stream runs does not charge its live hold in full as expired', async () => {
  const realNow = Date.now
  const gw = await startTestGateway({
    config: {
      log_level: 'silent', reservation_ttl_sec: TTL_MS / 1000, upstream_timeout_ms: TTL_MS - 1_000,
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1000, output_per_million: 2000 } },
    },
  })
  // The sweeper's timer is set before the gateway is up: its first timed run comes at most one TTL from here.
  const upAt = performance.now()
  try {
    const { secret } = await gw.userWithKey({ id: 'stepped', max_budget: 100 })
    await gw.userWithKey({ id: 'lost', max_budget: 100 })
    await Bun.sleep(Math.max(0, upAt + TTL_MS / 2 - performance.now()))
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'plain:m', stream: true, stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'hello' }], max_tokens: 4000,
      }),
    })
    expect(res.status).toBe(200)
    expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(1)
    // NTP steps the host's clock 16 minutes forward (far past the TTL) while the stream runs.
    Date.now = () => realNow() + 16 * 60_000
    // A lost task's hold, expired: the next sweep takes it, and so shows it ran while the stream's hold was there.
    gw.exec(
      `INSERT INTO reservations (id, request_id, user_id, key_id, amount, model, provider, endpoint, stream, created_at, expires_at, key_debited)
       VALUES (?, 'lost-task', 'lost', NULL, 1000, 'plain:m', 'plain', '/v1/chat/completions', false, ?, ?, false)`,
      LOST_HOLD_ID, realNow() - 60_000, realNow() - 1_000,
    )
    gw.exec("UPDATE users SET reserved = reserved + 1000 WHERE id = 'lost'")
    const swept = await waitFor(2 * TTL_MS, () => gw.query('SELECT count(*) AS n FROM reservations WHERE id = ?', LOST_HOLD_ID)[0].n === 0)
    expect(swept).toBe(true)
    release()
    const text = await res.text()
    expect(text).toContain('[DONE]')
    await gw.settled()
    const rows = gw.query<{ user_id: string; status: string; cost: number; reserved: number; completion_tokens: number }>(
      'SELECT user_id, status, cost, reserved, completion_tokens FROM usage ORDER BY user_id',
    )
    // The lost task's hold was charged by a sweep; the stream's, settled once, by the stream itself, at its usage —
    // not at the 4000-token worst case it held.
    expect(rows.map((r) => `${r.user_id} ${r.status}`)).toEqual(['lost expired', 'stepped ok'])
    const own = rows[1]!
    expect(own.cost).toBeLessThan(own.reserved)
    const user = (await gw.admin('GET', '/v1/users/stepped')).body
    expect(user.spend).toBeCloseTo(own.cost / 1e6, 9)
  } finally {
    Date.now = realNow
    release()
    await gw.stop()
  }
}, 30_000)
