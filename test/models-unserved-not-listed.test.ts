/**
 * `GET /v1/models` and `GET /v1/models/{id}` (the SDKs' `models.retrieve`) say what this key may call (SPEC §3;
 * README: "404 for a model the key may not call"). Admission refuses some priced models on every route whatever
 * the body (a Groq Compound agent system; a deep-research model with cap-output on): neither lists nor finds them,
 * under any spelling. Before: retrieve answered 200 for all three, and the list showed them.
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
    cap_output_tokens: true,
    pricing: {
      'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
      'mock:compound-beta': { input_per_million: 1, output_per_million: 2 },
      'mock:o3-deep-research': { input_per_million: 10, output_per_million: 40 },
    },
  },
  (s) => ({ gw } = s),
)
beforeAll(async () => {
  ;({ secret } = await gw.userWithKey({ id: 'models-unserved', max_budget: 10 }))
})

test('models.retrieve finds only what a chat request under the same name is served; a model every request is refused is 404', async () => {
  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
  const seen: Record<string, { chat: number; retrieve: number }> = {}
  for (const name of ['gpt-mock', 'compound-beta', 'mock:compound-beta', 'o3-deep-research']) {
    const chat = await openai.chat.completions.create({ model: name, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => 200,
      (e) => (e as { status: number }).status,
    )
    const retrieve = await openai.models.retrieve(name).then(
      () => 200,
      (e) => (e as { status: number }).status,
    )
    seen[name] = { chat, retrieve }
  }
  // Chat: 200 for gpt-mock, 400 feature_unsupported for the others. Retrieve must agree on which are callable.
  expect(seen).toEqual({
    'gpt-mock': { chat: 200, retrieve: 200 },
    'compound-beta': { chat: 400, retrieve: 404 },
    'mock:compound-beta': { chat: 400, retrieve: 404 },
    'o3-deep-research': { chat: 400, retrieve: 404 },
  })
})

test('the list leaves them out too', async () => {
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
  const ids = ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id)
  expect(ids).toContain('mock:gpt-mock')
  expect(ids.filter((id) => /compound|deep-research/.test(id))).toEqual([])
})
