/**
 * The Postgres store decides holds with the same rule as SQLite (decideHold; test/budget-held-in-flight-key-spent.test.ts):
 * a user's budget held by another key's request in flight, and this key's own ceiling below the hold, is the plain
 * 402 that says `x-should-retry: false`, not the retryable one of a budget only held in flight.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  const url = await pg.database('held_in_flight_key_spent')
  gw = await startTestGateway({
    config: { database_url: url, log_level: 'silent', providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } } },
  })
}, 60_000)
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
  await pg?.destroy()
})

const chat = (secret: string, content: string, maxTokens: number) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content }], max_tokens: maxTokens }),
  })

test("a key's spent ceiling is refused for good while another key's request holds the user's budget; a hold it covers is told to retry", async () => {
  const { secret: wide } = await gw.userWithKey({ id: 'pg-held-key-spent', max_budget: 0.002 }, { name: 'wide' })
  const tiny = (await gw.admin('POST', '/v1/keys', { user_id: 'pg-held-key-spent', name: 'tiny', max_budget: 0.0006 })).body.key
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  upstream.answer(async () => {
    await gate
    return jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
    })
  })
  const inFlight = chat(wide, 'hi', 1800)
  while (upstream.calls.length === 0) await Bun.sleep(10)
  const retryOf = async (res: Response) => {
    await res.arrayBuffer()
    return [res.status, res.headers.get('x-should-retry'), res.headers.get('retry-after')]
  }
  // Some 800 µ$ of worst case: past the tiny key's 600 µ$ whatever settles. Some 300 µ$: within it, past the user's ~170 µ$ left.
  const keySpent = await retryOf(await chat(tiny, 'x'.repeat(800), 16))
  const heldOnly = await retryOf(await chat(tiny, 'x'.repeat(300), 16))
  release()
  expect((await inFlight).status).toBe(200)
  expect({ keySpent, heldOnly }).toEqual({ keySpent: [402, 'false', null], heldOnly: [402, 'true', '1'] })
}, 30_000)
