import { afterAll, beforeAll, expect, test } from 'bun:test'
import { settledRow } from './support/settled-row'
import { scriptedGateway, scriptedProviders, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * Mutation guard: a JSON answer that quotes the provider's credentials is refused (502), but whatever answered
 * received the call and generated it: when it states a usage it is paid by that usage (relay.ts `settleRefusedEcho`),
 * its row `error`, never released at $0. Rates: 1 µ$ an input token, 2 an output token.
 */
const USER = 'team-kw-echo-usage'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
let KEY: string

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
  KEY = scriptedProviders(upstream).plain.api_key
})
afterAll(() => stop())

test('chat, a completion with a usage whose text quotes the provider key: 502, paid by its usage', async () => {
  upstream.answer(() =>
    Response.json({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: `Your key is ${KEY}` }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 },
    }),
  )
  let status = 0
  let text = ''
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(gw.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
    })
    status = res.status
    text = await res.text()
  })
  expect({ status, leaked: text.includes(KEY) }).toEqual({ status: 502, leaked: false })
  expect({ status: row.status, cost: row.cost, prompt: row.prompt_tokens, completion: row.completion_tokens }).toEqual({ status: 'error', cost: 30 * 1 + 12 * 2, prompt: 30, completion: 12 })
})
