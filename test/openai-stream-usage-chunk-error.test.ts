import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * The gateway asks every chat stream for its usage (`stream_options.include_usage`) and drops the usage chunk
 * (`choices: []`) when the client did not ask for it (SPEC §6). A provider may put its error in that same chunk
 * (a failure reported with the usage of what was made): the chunk was dropped whole, and the client took the cut
 * answer for a finished one. The error is passed on, its credentials cut out, without the usage it did not ask for.
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
const USER = 'chat-usage-chunk-error'
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const KEY = 'sk-scripted-secret-0123456789'
const head = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' }
const failedWithUsage = () =>
  sseResponse([
    openAIEvent({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 20, completion_tokens: 2, total_tokens: 22 }, error: { message: `generation failed (key ${KEY})`, code: 502 } }),
    openAIEvent('[DONE]'),
  ])

const post = (body: Record<string, unknown>) =>
  fetch(gw.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }], ...body }),
  })

test('a client that did not ask for usage gets the error of the usage chunk, without the usage', async () => {
  upstream.answer(failedWithUsage)
  let text = ''
  const row = await settledRow(gw, USER, async () => {
    const res = await post({})
    expect(res.status).toBe(200)
    text = await res.text()
  })
  expect(text).toContain('generation failed')
  expect(text).not.toContain(KEY)
  expect(text).not.toContain('prompt_tokens')
  // The usage is still the provider's bill: 20 + 2 × 2.
  expect(row.cost).toBe(24)
})

test("the OpenAI SDK raises the provider's error instead of ending with the partial answer", async () => {
  upstream.answer(failedWithUsage)
  const client = new OpenAI({ baseURL: gw.url + '/v1', apiKey: secret, maxRetries: 0 })
  const stream = await client.chat.completions.create({ model: 'plain:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] })
  const read = async () => {
    for await (const _ of stream);
  }
  await expect(read()).rejects.toThrow('generation failed')
  await gw.settled()
})

test('a client that asked for usage gets the chunk whole, usage and error', async () => {
  upstream.answer(failedWithUsage)
  const res = await post({ stream_options: { include_usage: true } })
  const text = await res.text()
  expect(text).toContain('generation failed')
  expect(text).toContain('"prompt_tokens":20')
  expect(text).not.toContain(KEY)
  await gw.settled()
})
