import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { billedRows, startClientSetup, type ClientSetup } from './support/clients'

/**
 * A Messages body's `betas` or `anthropic_beta` sent as null is not set, as every field the gateway reads is
 * (`nullAsUnset`): a client that writes its unset optional fields as null (a typed request dumped without
 * exclude-none) is served and billed as one without the field, and the provider, which may refuse a null, is not
 * sent one.
 */
let setup: ClientSetup
let client: Anthropic

beforeAll(async () => {
  setup = await startClientSetup({ key: { user_field: 'tag' } })
  client = new Anthropic({ baseURL: setup.gw.url, apiKey: setup.secret, maxRetries: 0 })
})
afterAll(() => setup?.stop())
beforeEach(() => setup.mock.reset())

for (const field of ['betas', 'anthropic_beta']) {
  test(`\`${field}: null\` is served and billed as a body without it, and not sent on`, async () => {
    let answer: unknown
    const rows = await billedRows(setup, async () => {
      answer = await client.messages
        .create({ model: 'mockant:claude-mock', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], [field]: null } as Anthropic.MessageCreateParamsNonStreaming)
        .then((message) => message.content as unknown[], (error) => String(error))
    })
    expect(answer).toEqual([{ type: 'text', text: 'Hello from the mock provider.' }])
    expect(rows).toHaveLength(1)
    const sent = setup.mock.calls.filter((call) => call.path === '/v1/messages')
    expect(sent.map((call) => Object.hasOwn(call.body as object, field))).toEqual([false])
  })
}
