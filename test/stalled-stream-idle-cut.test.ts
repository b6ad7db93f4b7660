import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { openStream, scriptedProviders, startScriptedUpstream, anthropicEvent, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a stream whose provider goes silent is cut at the idle timeout (`upstream_idle_timeout_ms`),
 * not at the whole call's (`upstream_timeout_ms`, 10 minutes by default): until then its hold and its provider-call
 * slot are kept, and the client waits for nothing. Cut there, it pays as one its client cut (the input it stated),
 * row `error`. Here the whole call's timeout is 20 s and the idle one 300 ms.
 */
const USER = 'team-kw-stalled'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 }, 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      upstream_timeout_ms: 20_000,
      upstream_idle_timeout_ms: 300,
    },
  })
  ;({ secret } = await gw.userWithKey({ id: USER, max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('messages → Anthropic: message_start, then silence: cut at the idle timeout, an error event, the stated input paid', async () => {
  upstream.answer(openStream([anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], usage: { input_tokens: 40, output_tokens: 1 } } })]))
  let took = 0
  let text = ''
  const row = await settledRow(gw, USER, async () => {
    const started = performance.now()
    const res = await fetch(gw.url + '/v1/messages', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say something' }] }),
    })
    text = await res.text()
    took = performance.now() - started
  })
  expect(took).toBeLessThan(5_000)
  expect(text).toContain('event: error')
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'error', cost: 40 })
}, 30_000)
