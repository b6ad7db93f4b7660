/**
 * Enormous token counts an OpenAI-compatible provider reports, on Postgres: every count column is a bigint
 * (at most 2^63 - 1), and the daily rollups the usage trigger keeps sum them. A count is read as at most a
 * billion tokens, so a settlement lands (hold released, cost added to spend, usage row written) whatever the
 * provider reported: 1e19, or two 5e18s whose rollup sum passes bigint, were refused by Postgres and dropped,
 * their holds left reserved until the sweeper charged them as `expired`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
})
afterAll(async () => {
  await upstream?.stop()
  await pg?.destroy()
})

const answerWithPromptTokens = (n: string) => () =>
  new Response(
    `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
      `"usage":{"prompt_tokens":${n},"completion_tokens":1,"total_tokens":${n}}}`,
    { headers: { 'content-type': 'application/json' } },
  )

async function chat(gw: TestGateway, secret: string): Promise<number> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  })
  await res.text()
  return res.status
}

async function settledFor(gw: TestGateway, user: string, requests: number) {
  // Settlements are written in the background: wait (bounded) until the hold is gone or the time is up.
  for (let i = 0; i < 40; i++) {
    await gw.settled()
    if (Number(gw.query(`SELECT count(*) AS n FROM reservations WHERE user_id = ?`, user)[0].n) === 0) break
    await Bun.sleep(100)
  }
  const u = (await gw.admin('GET', `/v1/users/${user}`)).body
  expect(Number(gw.query(`SELECT count(*) AS n FROM reservations WHERE user_id = ?`, user)[0].n)).toBe(0)
  expect(u.reserved).toBe(0)
  expect(Number(gw.query(`SELECT count(*) AS n FROM usage WHERE user_id = ?`, user)[0].n)).toBe(requests)
  const cost = Number(gw.query(`SELECT coalesce(sum(cost), 0) AS c FROM usage WHERE user_id = ?`, user)[0].c)
  expect(Math.round(u.spend * 1e6)).toBe(cost)
  expect(cost).toBeGreaterThan(0)
}

describe('Postgres: a provider reporting an enormous prompt count', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startTestGateway({
      config: {
        providers: scriptedProviders(upstream),
        pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
        database_url: await pg.database('enormous_usage'),
      },
    })
  })
  afterAll(async () => {
    await gw?.stop()
  })

  test('1e19 prompt tokens (past bigint): the request is still settled, not dropped with its hold left reserved', async () => {
    const { secret } = await gw.userWithKey({ id: 'pg-enormous-1e19', max_budget: 10 })
    upstream.answer(answerWithPromptTokens('10000000000000000000'))
    expect(await chat(gw, secret)).toBe(200)
    await settledFor(gw, 'pg-enormous-1e19', 1)
  }, 60_000)

  test('5e18 prompt tokens twice (each within bigint, their rollup sum past it): both are settled', async () => {
    const { secret } = await gw.userWithKey({ id: 'pg-enormous-5e18' })
    upstream.answer(answerWithPromptTokens('5000000000000000000'))
    expect(await chat(gw, secret)).toBe(200)
    expect(await chat(gw, secret)).toBe(200)
    await settledFor(gw, 'pg-enormous-5e18', 2)
  }, 60_000)
})
