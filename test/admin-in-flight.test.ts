/**
 * Admin changes made while a request is in flight. A scripted upstream streams one chunk and holds the
 * stream open until the test releases it, so the change lands between the hold and its settlement. Runs on
 * SQLite here and on Postgres through test/engines/stores.engine.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { openAIEvent, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

const chunk = (extra: Record<string, unknown>) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', ...extra })

/** Releases of the streams opened so far, in order: each finishes its stream with usage 100 in / 50 out. */
const gates: Array<() => void> = []
function heldStream() {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  gates.push(release)
  const enc = new TextEncoder()
  return new Response(
    new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(enc.encode(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' } }] })))
        await gate
        c.enqueue(enc.encode(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })))
        c.enqueue(enc.encode(chunk({ choices: [], usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 } })))
        c.enqueue(enc.encode(openAIEvent('[DONE]')))
        c.close()
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  )
}

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(() => heldStream())
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      // plain:m costs 0.2 USD per request here (100 × $1000/M + 50 × $2000/M); plain:free is served free (SPEC §5: an explicit 0/0 row).
      pricing: { 'plain:m': { input_per_million: 1000, output_per_million: 2000 }, 'plain:free': { input_per_million: 0, output_per_million: 0 } },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

/** Opens a stream and returns once the upstream has been called (the hold is taken); `finish` ends it. */
async function openStream(secret: string, model: string) {
  const before = gates.length
  const res = await fetch(gw.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 1000, stream: true, messages: [{ role: 'user', content: 'hello' }] }),
  })
  expect(res.status).toBe(200)
  const body = res.text()
  while (gates.length === before) await Bun.sleep(5)
  const release = gates[before]!
  return {
    finish: async () => {
      release()
      await body
      await gw.settled()
    },
  }
}

describe('a user deleted while its request streams', () => {
  test('a free model (a 0 µ$ hold): the id is not given to a new user while the old request is in flight, nor its usage row', async () => {
    const { secret } = await gw.userWithKey({ id: 'e-free-del', max_budget: 100 })
    const stream = await openStream(secret, 'plain:free')
    // The user has a request in flight: its hold is open, though of 0 µ$.
    expect(gw.query('SELECT count(*) AS n FROM reservations WHERE user_id = ?', 'e-free-del')[0].n).toBe(1)
    const deleted = await gw.admin('DELETE', '/v1/users/e-free-del')
    const recreated = await gw.admin('POST', '/v1/users', { id: 'e-free-del', alias: 'someone else', max_budget: 1 })
    await stream.finish()
    // However the fix goes (the delete refuses while a hold is open, or the new user is refused the id),
    // a new user never gets the deleted user's request as its own record.
    const usage = recreated.status === 201 ? (await gw.admin('GET', '/v1/users/e-free-del/usage')).body.totals.requests : 0
    expect({
      refused: deleted.status === 409 || recreated.status === 409,
      newUsersInheritedRows: usage,
    }).toEqual({ refused: true, newUsersInheritedRows: 0 })
  })
})

describe('budget_period changed while a hold is open', () => {
  test('to null (no period): the spend shown is the usage since the period_start shown (the start of time when none is)', async () => {
    const { secret } = await gw.userWithKey({ id: 'e-period-null', max_budget: 100, budget_period: 'daily' })
    const first = await openStream(secret, 'plain:m')
    await first.finish()
    const second = await openStream(secret, 'plain:m')
    expect((await gw.admin('PATCH', '/v1/users/e-period-null', { budget_period: null })).status).toBe(200)
    await second.finish()
    const user = (await gw.admin('GET', '/v1/users/e-period-null')).body
    const since = user.period_start ?? new Date(0).toISOString()
    const usage = (await gw.admin('GET', `/v1/users/e-period-null/usage?since=${since}`)).body.totals
    // Two requests of $0.20, one settled before the change and one after. Shown today: period_start null (no
    // start to count from, so all of time) and spend $0.20, though all of its usage costs $0.40.
    expect((await gw.admin('GET', '/v1/users/e-period-null/usage')).body.totals).toMatchObject({ requests: 2, cost: 0.4 })
    expect({ reserved: user.reserved, spend: user.spend }).toEqual({ reserved: 0, spend: usage.cost })
  })
})
