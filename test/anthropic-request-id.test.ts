import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { startClientSetup, type ClientSetup } from './support/clients'

setDefaultTimeout(30_000)

/**
 * The Anthropic SDK exposes a request's id from the `request-id` header (`message._request_id`,
 * `.withResponse().request_id`, `APIError.requestID`), the id a user quotes to find the request. On
 * `/v1/messages…` the gateway sends its id as `request-id` too, beside `X-Request-Id` (what the OpenAI SDK reads).
 */
let setup: ClientSetup
let anthropic: Anthropic

beforeAll(async () => {
  setup = await startClientSetup()
  anthropic = new Anthropic({ baseURL: setup.gw.url, apiKey: setup.secret, maxRetries: 0 })
})
afterAll(() => setup?.stop())

test('messages.create(...).withResponse(): request_id is the gateway\'s X-Request-Id', async () => {
  const { request_id, response } = await anthropic.messages
    .create({ model: 'mockant:claude-mock', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse()
  expect(response.headers.get('x-request-id')).toBeTruthy()
  expect(request_id).toBe(response.headers.get('x-request-id'))
})

test('an APIError carries requestID (here a 402 for an unpriced model)', async () => {
  const error = await anthropic.messages
    .create({ model: 'mockant:nope', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
    .catch((e: unknown) => e)
  expect(error).toBeInstanceOf(Anthropic.APIError)
  expect((error as InstanceType<typeof Anthropic.APIError>).requestID).toEqual(expect.any(String))
})
