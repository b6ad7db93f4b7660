/**
 * README (Quick start): clients "name models `provider:model` (`provider/model` works too) or by alias"; Client
 * guide: a model is "`provider:model`, `provider/model`, an alias, or a bare id where `default_providers` names a
 * provider for it". Routes table: `GET /v1/models/{id}` is the SDKs' `models.retrieve`, "404 for a model the key
 * may not call". So a name the key calls with 200 is found by `models.retrieve` under that same name: the id is
 * resolved as a request's `model` is, not looked up among the names `GET /v1/models` lists.
 */
import { beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
let secret: string
withMockGateway(
  {
    default_providers: { openai: 'mock' },
    pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:gpt-big': { input_per_million: 5, output_per_million: 20 } },
  },
  (s) => ({ gw } = s),
)
beforeAll(async () => {
  ;({ secret } = await gw.userWithKey({ id: 'spellings', max_budget: 10 }))
})

const retrieve = (key: string, name: string) =>
  new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 }).models.retrieve(name).then(
    (m) => ({ found: true, id: m.id }),
    (e) => ({ found: false, id: String(e) }),
  )

for (const name of ['mock/gpt-mock', 'gpt-mock']) {
  test(`a model the key calls as "${name}" is found by models.retrieve("${name}"), under that name`, async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
    const chat = await openai.chat.completions.create({ model: name, messages: [{ role: 'user', content: 'hi' }] })
    expect(chat.choices[0]!.message.content).toBeTruthy() // the key may call it under this name

    expect(await retrieve(secret, name)).toEqual({ found: true, id: name })
  })
}

test('a spelling of a model the allow-list does not name, or of no priced model, is still 404', async () => {
  const { secret: narrow } = await gw.userWithKey({ id: 'spellings-narrow', max_budget: 10 }, { allowed_models: ['mock:gpt-mock'] })
  expect(await retrieve(narrow, 'mock/gpt-mock')).toEqual({ found: true, id: 'mock/gpt-mock' })
  for (const name of ['mock/gpt-big', 'gpt-big', 'mock/unpriced', 'unpriced']) expect({ name, found: (await retrieve(narrow, name)).found }).toEqual({ name, found: false })
  expect((await retrieve(secret, 'gpt-unpriced')).found).toBe(false) // pricing is required
})
