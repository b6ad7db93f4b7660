/**
 * Chat → Anthropic and Responses → Anthropic merge consecutive turns of one role into one (`append` in
 * src/translate/chat-request-to-messages.ts and src/translate/responses/request-to-messages.ts). Merging with a
 * spread call (`push(...blocks)`) put every block on the stack as an argument: a tenant's 19 MB body (well under the
 * 25 MB limit) of a user message, then a user message of 700,000 one-letter text parts, overflowed it, and the
 * gateway answered 500 internal_error to input a client can send.
 *
 * Such bodies (700,000 parts of two members each) are now refused 400 `invalid_json` before they are parsed
 * (src/http/json-body.ts, MAX_JSON_MEMBERS = 100,000), so through the gateway they never reach the merge and "not a
 * 500" held with the spread back. The translation is given a million parts itself; the gateway's answer to the body
 * is checked to be that refusal, not a 500.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { chatRequestToMessages } from '../src/translate/chat-request-to-messages'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mockant:claude-mock': { input_per_million: 0.001, output_per_million: 0.001 } } } })
  ;({ secret } = await gw.userWithKey({ id: 'many-parts', max_budget: 100 }))
})

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

const PARTS = 700_000

const post = (path: string, body: string) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
  )

test('a chat request to an Anthropic model whose second user turn has 700,000 text parts is not a 500', async () => {
  const parts = '[' + Array.from({ length: PARTS }, () => '{"type":"text","text":"a"}').join(',') + ']'
  const body = `{"model":"mockant:claude-mock","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"user","content":${parts}}]}`
  expect(body.length).toBeLessThan(20_000_000)
  // Given to the translation itself, a million parts: past what any call stack takes as arguments.
  const many = JSON.parse(body)
  many.messages[1].content = Array.from({ length: 1_000_000 }, () => ({ type: 'text', text: 'a' }))
  const merged = chatRequestToMessages(many, { defaultMaxOutputTokens: 4096 }).messages
  expect(merged.map((m: any) => [m.role, m.content.length])).toEqual([['user', 1_000_001]])
  const answer = await post('/v1/chat/completions', body)
  expect(answer.text).not.toContain('internal_error')
  expect({ status: answer.status, code: JSON.parse(answer.text).error?.code }).toEqual({ status: 400, code: 'invalid_json' })
}, 60_000)

test('a Responses request to an Anthropic model whose second user item has 700,000 text parts is not a 500', async () => {
  const parts = '[' + Array.from({ length: PARTS }, () => '{"type":"input_text","text":"a"}').join(',') + ']'
  const body = `{"model":"mockant:claude-mock","max_output_tokens":5,"input":[{"role":"user","content":"hi"},{"role":"user","content":${parts}}]}`
  expect(body.length).toBeLessThan(25_000_000)
  // Given to the translation itself, a million parts: past what any call stack takes as arguments.
  const many = JSON.parse(body)
  many.input[1].content = Array.from({ length: 1_000_000 }, () => ({ type: 'input_text', text: 'a' }))
  const merged = responsesRequestToMessages(many, { defaultMaxOutputTokens: 4096 }).request.messages
  expect(merged.map((m: any) => [m.role, m.content.length])).toEqual([['user', 1_000_001]])
  const answer = await post('/v1/responses', body)
  expect(answer.text).not.toContain('internal_error')
  expect({ status: answer.status, code: JSON.parse(answer.text).error?.code }).toEqual({ status: 400, code: 'invalid_json' })
}, 60_000)
