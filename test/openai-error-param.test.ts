/**
 * The OpenAI-format routes answer errors in OpenAI's shape, `{error: {message, type, code, param}}`: OpenAI always
 * sends `param` (the offending field, or null), and the official SDK exposes it as `err.param` for a client to
 * branch on (which field to fix) without parsing prose. A validation error names its field there as OpenAI writes
 * it (`messages[0].content`); every other error says null, as the Responses stream's error event does
 * (src/metering/responses-stream.ts). The Anthropic shape has no such field and gets none.
 */
import { expect, test } from 'bun:test'
import OpenAI from 'openai'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

test('OpenAI-format errors carry param: the field for a validation error, null otherwise', async () => {
  const { secret } = await gw.userWithKey({ id: 'param-user', max_budget: 10 })
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })

  const invalid = await client.chat.completions
    .create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: -1 })
    .catch((e) => e)
  expect(invalid).toBeInstanceOf(OpenAI.BadRequestError)
  expect(invalid.error).toHaveProperty('param')
  expect(invalid.param).toBe('max_tokens')

  const nested = await client.chat.completions
    .create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }, { role: 'user', content: 5 as never }] })
    .catch((e) => e)
  expect(nested).toBeInstanceOf(OpenAI.BadRequestError)
  expect(nested.param).toBe('messages[1].content')

  const unknownModel = await client.chat.completions.create({ model: 'mock:no-such', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  expect(unknownModel).toBeInstanceOf(OpenAI.APIError)
  expect(unknownModel.error).toHaveProperty('param')

  const badKey = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'tg-not-a-key', maxRetries: 0 })
  const unauthorized = await badKey.models.list().catch((e) => e)
  expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError)
  expect(unauthorized.error).toHaveProperty('param', null)
})

test('the Anthropic shape is unchanged: no param, even for a validation error', async () => {
  const { secret } = await gw.userWithKey({ id: 'param-anthropic', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: -1, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(400)
  expect(await res.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') } })
})
