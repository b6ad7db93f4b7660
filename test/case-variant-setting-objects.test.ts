/**
 * README (Routes): the case check reaches into the top-level objects whose fields the estimate, the billing rules or
 * the gateway's own additions read: `thinking`, `reasoning`, `text`, `stream_options`, `output_config`,
 * `response_format`, `web_search_options`, `search_options`, `prediction`, `audio`, `provider`, `context_management`. Go's
 * encoding/json matches keys ignoring case, the last spelling winning, so a Go-backed server read
 * `{"thinking":{"type":"enabled","budget_tokens":1024,"Budget_tokens":60000}}` as a budget of 60,000 thinking tokens,
 * and `{"provider":{"max_price":{"prompt":1,"Prompt":100}}}` (the gateway bounds `max_price.prompt` at the row's rate,
 * in place) as a host at up to $100 a million; the gateway held and bounded the spelling it reads.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let gw: TestGateway
let upstream: ScriptedUpstream
let secret: string

withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (started) => {
  ;({ gw, upstream } = started)
})

const completion = { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 } }

/** A body written by hand: both spellings in one object, the case variant last (as Go reads it). */
async function post(path: string, body: string) {
  if (!secret) ({ secret } = await gw.userWithKey({ id: 'setting-objects', max_budget: 100 }))
  upstream.answer(() => jsonResponse(completion))
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body,
  })
  const answer = (await res.json()) as { error?: { code?: string; type?: string; message?: string } }
  return { status: res.status, code: answer.error?.code ?? answer.error?.type, where: answer.error?.message?.split(': keys here')[0] }
}

const refused = (where: string, code = 'case_variant_key') => ({ status: 400, code, where: `Invalid body: ${where}` })

test('chat: a case variant in reasoning, stream_options, response_format or provider.max_price is refused, not sent on', async () => {
  const chat = (settings: string) => post('/v1/chat/completions', `{"model":"plain:m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],${settings}}`)
  expect(await chat(`"reasoning":{"effort":"low","Effort":"xhigh"}`)).toEqual(refused('reasoning.Effort'))
  expect(await chat(`"reasoning":{"max_tokens":16,"Max_tokens":60000}`)).toEqual(refused('reasoning.Max_tokens'))
  expect(await chat(`"stream":true,"stream_options":{"include_usage":true,"Include_usage":false}`)).toEqual(refused('stream_options.Include_usage'))
  expect(await chat(`"response_format":{"type":"text","Type":"json_schema"}`)).toEqual(refused('response_format.Type'))
  expect(await chat(`"provider":{"max_price":{"prompt":1,"Prompt":100}}`)).toEqual(refused('provider.max_price.Prompt'))
  expect(upstream.calls.length).toBe(0)
})

test('Messages: a case variant in thinking or output_config is refused, not sent on', async () => {
  const messages = (settings: string) => post('/v1/messages', `{"model":"plain:m","max_tokens":2048,"messages":[{"role":"user","content":"hi"}],${settings}}`)
  expect(await messages(`"thinking":{"type":"enabled","budget_tokens":1024,"Budget_tokens":60000}`)).toEqual(refused('thinking.Budget_tokens', 'invalid_request_error'))
  expect(await messages(`"output_config":{"effort":"low","EFFORT":"max"}`)).toEqual(refused('output_config.EFFORT', 'invalid_request_error'))
  expect(upstream.calls.length).toBe(0)
})

test('Responses: a case variant in reasoning, text or context_management is refused, not sent on', async () => {
  const responses = (settings: string) => post('/v1/responses', `{"model":"plain:m","max_output_tokens":5,"store":false,"input":"hi",${settings}}`)
  expect(await responses(`"reasoning":{"effort":"minimal","Effort":"xhigh"}`)).toEqual(refused('reasoning.Effort'))
  expect(await responses(`"text":{"verbosity":"low","Verbosity":"high"}`)).toEqual(refused('text.Verbosity'))
  expect(await responses(`"context_management":[{"type":"compaction","Compact_threshold":1}]`)).toEqual(refused('context_management.0.Compact_threshold'))
  expect(upstream.calls.length).toBe(0)
})

test('the same settings spelled as the APIs spell them are served', async () => {
  const served = await post('/v1/chat/completions', `{"model":"plain:m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"reasoning":{"effort":"low"},"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":{"Name":{"type":"string"}}}}}}`)
  expect(served.status).toBe(200)
  expect(upstream.calls.length).toBe(1)
})
