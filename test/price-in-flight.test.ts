/**
 * A request in flight settles at the price it was admitted with: its hold and its cost come from the price row
 * found before the provider was called. A price posted or deleted while it runs applies from the next request on.
 * On both stores (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({ config: { providers: scriptedProviders(upstream) } })
  secret = (await gw.userWithKey({ id: 'price-in-flight', max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

/** 1,000 input and 500 output tokens: 20,000 micro-USD at $10/M in and $20/M out. */
const ANSWER = {
  id: 'c1', object: 'chat.completion', created: 1, model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 },
}

const chat = (model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 500 }),
  })

/** A request the provider holds until `answer` is called, once the provider has it (so the gateway admitted it). */
async function inFlight(model: string) {
  let answer!: () => void
  const answered = new Promise<void>((resolve) => (answer = resolve))
  upstream.answer(async () => {
    await answered
    return Response.json(ANSWER)
  })
  const calls = upstream.calls.length
  const res = chat(model)
  while (upstream.calls.length === calls) await Bun.sleep(5)
  return { res, answer }
}

const setPrice = async (model: string, input: number, output: number) => {
  const res = await gw.admin('POST', '/v1/pricing', { model, input_per_million: input, output_per_million: output })
  expect(res.status).toBe(201)
  return res.body.id as number
}

const lastUsage = async (model: string) => {
  await gw.settled()
  const [row] = gw.query(`SELECT price_id, cost FROM usage WHERE model = '${model}' ORDER BY id DESC LIMIT 1`)
  return { priceId: Number(row.price_id), cost: Number(row.cost) }
}

test('a price changed while a request is in flight: the request is charged at the old price, the next one at the new', async () => {
  const admitted = await setPrice('plain:changed', 10, 20)
  const request = await inFlight('plain:changed')
  const changed = await setPrice('plain:changed', 100, 200)
  request.answer()
  expect((await request.res).status).toBe(200)
  expect(await lastUsage('plain:changed')).toEqual({ priceId: admitted, cost: 20_000 })

  upstream.answer(() => Response.json(ANSWER))
  expect((await chat('plain:changed')).status).toBe(200)
  expect(await lastUsage('plain:changed')).toEqual({ priceId: changed, cost: 200_000 })
})

test('a price deleted while a request is in flight: the request is charged at that price, the next one refused 402', async () => {
  const admitted = await setPrice('plain:deleted', 10, 20)
  const request = await inFlight('plain:deleted')
  expect((await gw.admin('DELETE', '/v1/pricing/plain:deleted')).status).toBe(200)
  request.answer()
  expect((await request.res).status).toBe(200)
  expect(await lastUsage('plain:deleted')).toEqual({ priceId: admitted, cost: 20_000 })

  upstream.answer(() => Response.json(ANSWER))
  expect((await chat('plain:deleted')).status).toBe(402)
})
