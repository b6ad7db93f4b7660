/**
 * The batched item lookup on Postgres (Store.findResponses) passes a request's item ids as one JSON text. An
 * id holding a lone UTF-16 surrogate (a JSON body may carry "\ud800") would reach Postgres as the escape
 * `\ud800`, which its JSON parser refuses: such an id, which no row can have, is answered as any unknown item
 * is (404), never a 500.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let gw: TestGateway
beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      database_url: await pg.database('item_ids_ill_formed'),
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      cap_output_tokens: true,
      default_max_output_tokens: 64,
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
  await pg?.destroy()
})

describe('Postgres: input item ids looked up in one query', () => {
  test('an item id with a lone surrogate is a 404 like any unknown item, not a 500', async () => {
    const { secret } = await gw.userWithKey({ id: 'rz-surrogate', max_budget: 10 })
    // Any recorded item: on an empty table Postgres never evaluates the id list.
    upstream.answer(() => jsonResponse({
      id: 'resp_rz_1', object: 'response', status: 'completed', model: 'm',
      usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 10, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 30 },
      output: [{ type: 'message', id: 'msg_rz_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'hi', annotations: [] }] }],
    }))
    const first = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', input: 'hi' }),
    })
    expect(first.status).toBe(200)
    await gw.settled()
    const calls = upstream.calls.length
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: '{"model":"plain:m","input":[{"type":"item_reference","id":"rs_\\ud800"}]}',
    })
    const text = await res.text()
    expect({ status: res.status, text: text.slice(0, 300) }).toMatchObject({ status: 404 })
    expect(upstream.calls.length).toBe(calls)
  })
})
